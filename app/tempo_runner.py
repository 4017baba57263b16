"""One Tempo client per process and Tempo, on an event loop of its own.

Chat answers are computed in plain threads (the CLI, FastAPI's thread pool, Slack's
handlers); the Tempo client is async. A runner keeps one client and one loop thread (an
anyio blocking portal) for the life of the process, so live numbers and a model's Tempo
tools reuse its connections instead of building a client and a loop per call.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from typing import TypeVar

from anyio.from_thread import start_blocking_portal

from app.factory import build_tempo_client
from app.settings import Settings
from connectors.tempo import TempoClient

T = TypeVar("T")


class TempoRunner:
    def __init__(self, settings: Settings) -> None:
        self._stack = ExitStack()
        self._portal = self._stack.enter_context(start_blocking_portal())
        self._client: TempoClient = self._portal.call(self._open, settings)

    @staticmethod
    async def _open(settings: Settings) -> TempoClient:
        return build_tempo_client(settings)  # made on the loop that will use it

    def run(self, call: Callable[[TempoClient], Awaitable[T]]) -> T:
        """``call(client)`` on the runner's loop; its result, or its exception."""
        return self._portal.call(call, self._client)

    def close(self) -> None:
        try:
            self._portal.call(self._client.aclose)
        finally:
            self._stack.close()


_runners: dict[tuple[str, str | None], TempoRunner] = {}
_opening = threading.Lock()


def tempo_runner(settings: Settings) -> TempoRunner | None:
    """The process's runner for ``settings``' Tempo and tenant; None without a Tempo."""
    if not settings.tempo_url:
        return None
    key = (settings.tempo_url, settings.tempo_tenant)
    with _opening:
        runner = _runners.get(key)
        if runner is None:
            runner = _runners[key] = TempoRunner(settings)
        return runner


@atexit.register
def _close_all() -> None:
    for runner in list(_runners.values()):
        try:
            runner.close()
        except Exception:  # the process is ending: a Tempo gone away changes nothing
            pass
    _runners.clear()


def tempo_trace(runner: TempoRunner, trace_id: str) -> list[dict[str, object]]:
    """A whole trace from Tempo, its spans in start order, each as the samples are shown
    (redacted) with its service. ``TraceNotFound`` or ``TempoError`` when Tempo cannot."""
    from app.discovery.documents import sample_document

    async def fetch(client: TempoClient) -> list[dict[str, object]]:
        batch = await client.trace(trace_id)
        return [
            {**sample_document(span), "service": span.service_name}
            for span in sorted(batch.spans, key=lambda span: span.start_unix_nano)
        ]

    return runner.run(fetch)
