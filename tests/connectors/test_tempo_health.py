"""Readiness, echo and build info."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import respx

from connectors.tempo import TempoClient
from connectors.tempo_models import BuildInfo, Readiness

pytestmark = pytest.mark.anyio

Serve = Callable[[respx.MockRouter, str], respx.Route]


async def test_ready_echo_and_build_info(
    serve: Serve, tempo_client: Callable[..., TempoClient]
) -> None:
    with respx.mock() as router:
        serve(router, "ready.txt")
        serve(router, "echo.txt")
        serve(router, "buildinfo.json")
        async with tempo_client() as tempo:
            readiness = await tempo.ready()
            echo = await tempo.echo()
            info = await tempo.build_info()

    assert readiness == Readiness(is_ready=True, detail="ready")
    assert echo == "echo"
    assert info == BuildInfo(
        version="2.10.8", revision="f0f3ed59", branch="HEAD", go_version="go1.27.3"
    )


async def test_a_starting_tempo_is_not_ready_and_is_asked_once(
    tempo_url: str, tempo_client: Callable[..., TempoClient]
) -> None:
    # Not recorded: Tempo answers /ready with 503 and a text reason while it starts.
    with respx.mock() as router:
        route = router.get(f"{tempo_url}/ready").respond(503, text="Ingester not ready\n")
        async with tempo_client() as tempo:
            readiness = await tempo.ready()

    assert readiness == Readiness(is_ready=False, detail="Ingester not ready")
    assert route.call_count == 1
