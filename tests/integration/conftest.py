"""Integration tests against a real Grafana Tempo 2.10.8, started once for the session.

Run them with the rest of the suite (``.venv/bin/python -m pytest``), alone
(``pytest tests/integration``) or leave them out (``pytest -m "not tempo"``).

Where Tempo comes from
    ``SPANWISE_TEST_TEMPO_START``: the path of a ``start-tempo`` script (see
    ``../shared/tempo/README.md``); when it is not set, ``<repo>/../shared/tempo/start-tempo``.
    The script starts Tempo on free loopback ports. A Tempo already running cannot be used:
    the tests compare exact counts, so their Tempo must hold no spans but theirs.

When there is none
    The tests are skipped, saying what to set. ``SPANWISE_REQUIRE_TEMPO=1`` makes a missing
    (or failing) Tempo a failure instead: CI sets it (``.ci/run``), so that it cannot pass by
    skipping them.

What is shared
    One Tempo for the session (``tempo_server``), killed with ``kill -9`` at its end; a second
    one, with ``--multitenancy``, only when a test asks for it (``multitenant_tempo_server``).
    The sample system is pushed once (``pushed``), and discovered once from Tempo and once
    from a file of the same spans, each into its own data dir.

The network
    ``tests/conftest.py``'s autouse ``no_network`` fails any HTTP request no test mocked; the
    function fixtures ``tempo`` and ``multitenant_tempo`` let requests to that Tempo's two
    loopback ports through. Session fixtures work before that guard exists, so they put up
    the same guard themselves (``loopback_only``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import respx

from tests.integration.pushed_sample import (
    PushedSample,
    push_sample,
    push_unfamiliar,
    wait_until_counted,
    wait_until_searchable,
)
from tests.integration.spanwise_cli import isolated, spanwise
from tests.integration.tempo_process import TempoInstance, TempoLauncher

SAMPLE_SEED = 7
SAMPLE_TRACES = 300
"""About 330 traces and 3,500 spans with the consumers' own: every one of the sample
system's operations (some 110 patterns), pushed in under a second."""
SAMPLE_SPREAD_S = 180.0
TEAM_A_TRACES = 30
UNFAMILIAR_SEED = 3
UNFAMILIAR_TRACES = 3000
"""Enough that discovery learns the ids of its busier operations (some 30,000 spans)."""
UNFAMILIAR_TENANT = "unfamiliar"
"""A tenant of its own, so that its spans never meet the sample system's in a window."""


# --- Tempo ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tempo_launcher() -> TempoLauncher:
    """Read once, at the first integration test: tests may change the environment later."""
    return TempoLauncher.from_environment(os.environ)


@pytest.fixture(scope="session")
def tempo_server(
    tempo_launcher: TempoLauncher, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TempoInstance]:
    instance = tempo_launcher.start(tmp_path_factory.mktemp("tempo"))
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def multitenant_tempo_server(
    tempo_launcher: TempoLauncher, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TempoInstance]:
    """Started only when a test needs it: it costs another 15-20 s."""
    instance = tempo_launcher.start(tmp_path_factory.mktemp("tempo-mt"), multitenancy=True)
    yield instance
    instance.stop()


def allow(router: respx.MockRouter, tempo: TempoInstance) -> None:
    """Let requests to this Tempo's API and OTLP receiver through the guard, nothing else."""
    for base_url in (tempo.url, tempo.otlp_http):
        router.route(url__startswith=f"{base_url}/").pass_through()


@contextmanager
def loopback_only(tempo: TempoInstance) -> Iterator[None]:
    """``no_network`` for a session fixture's work, with this Tempo let through."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        allow(router, tempo)
        yield


@pytest.fixture
def tempo(tempo_server: TempoInstance, no_network: respx.MockRouter) -> TempoInstance:
    allow(no_network, tempo_server)
    return tempo_server


@pytest.fixture
def multitenant_tempo(
    multitenant_tempo_server: TempoInstance, no_network: respx.MockRouter
) -> TempoInstance:
    allow(no_network, multitenant_tempo_server)
    return multitenant_tempo_server


# --- data ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pushed(tempo_server: TempoInstance) -> PushedSample:
    """The sample system, pushed to Tempo and found by its search."""
    with loopback_only(tempo_server):
        sample = push_sample(
            tempo_server, seed=SAMPLE_SEED, traces=SAMPLE_TRACES, spread_s=SAMPLE_SPREAD_S
        )
        wait_until_searchable(tempo_server, sample)
    return sample


@pytest.fixture(scope="session")
def counted(tempo_server: TempoInstance, pushed: PushedSample) -> PushedSample:
    """The pushed sample once Tempo's TraceQL metrics count every one of its spans."""
    with loopback_only(tempo_server):
        wait_until_counted(tempo_server, pushed)
    return pushed


@pytest.fixture(scope="session")
def team_a_pushed(multitenant_tempo_server: TempoInstance) -> PushedSample:
    """A few traces pushed to the multi-tenant Tempo as tenant team-a."""
    with loopback_only(multitenant_tempo_server):
        sample = push_sample(
            multitenant_tempo_server,
            seed=SAMPLE_SEED + 1,
            traces=TEAM_A_TRACES,
            spread_s=60.0,
            org_id="team-a",
        )
        wait_until_searchable(multitenant_tempo_server, sample)
    return sample


@pytest.fixture(scope="session")
def unfamiliar_counted(multitenant_tempo_server: TempoInstance) -> PushedSample:
    """A system discovery never saw, pushed to the multi-tenant Tempo as its own tenant,
    once Tempo's search finds every trace and its metrics count every span."""
    with loopback_only(multitenant_tempo_server):
        sample = push_unfamiliar(
            multitenant_tempo_server,
            seed=UNFAMILIAR_SEED,
            traces=UNFAMILIAR_TRACES,
            spread_s=SAMPLE_SPREAD_S,
            org_id=UNFAMILIAR_TENANT,
        )
        wait_until_searchable(multitenant_tempo_server, sample)
        wait_until_counted(multitenant_tempo_server, sample)
    return sample


@pytest.fixture(scope="session")
def unfamiliar_data_dir(
    unfamiliar_counted: PushedSample, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A data dir whose patterns ``spanwise discover --file`` found in the unfamiliar spans."""
    data_dir = tmp_path_factory.mktemp("unfamiliar")
    spans_file = unfamiliar_counted.write_otlp_json_lines(data_dir / "pushed.jsonl")
    with respx.mock(assert_all_mocked=True), isolated(data_dir):
        result = spanwise("--data-dir", data_dir, "discover", "--file", spans_file, "--no-classify")
    assert result.exit_code == 0, result.output
    return data_dir


@pytest.fixture(scope="session")
def tempo_data_dir(
    tempo_server: TempoInstance, pushed: PushedSample, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A data dir whose patterns ``spanwise discover --all-traces`` found in Tempo."""
    data_dir = tmp_path_factory.mktemp("from-tempo")
    with loopback_only(tempo_server), isolated(data_dir):
        result = spanwise(
            "--data-dir", data_dir, "--tempo", tempo_server.url,
            "discover", *pushed.window_options, "--all-traces",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    return data_dir


@pytest.fixture(scope="session")
def file_data_dir(pushed: PushedSample, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose patterns ``spanwise discover --file`` found in the pushed spans."""
    data_dir = tmp_path_factory.mktemp("from-file")
    spans_file = pushed.write_otlp_json_lines(data_dir / "pushed.jsonl")
    with respx.mock(assert_all_mocked=True), isolated(data_dir):
        result = spanwise("--data-dir", data_dir, "discover", "--file", spans_file)
    assert result.exit_code == 0, result.output
    return data_dir
