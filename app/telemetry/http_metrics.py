"""Requests and their latency by route template, measured around the whole app."""

from __future__ import annotations

import time

from app.api.asgi import ASGIApp, Message, Receive, Scope, Send
from app.telemetry.metrics import HTTP_LATENCY, HTTP_REQUESTS


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, observed_send)
        finally:
            route = scope.get("route")
            # The template (/api/patterns/{name}), never the raw path: series stay few.
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            HTTP_REQUESTS.labels(template, method, str(status)).inc()
            HTTP_LATENCY.labels(template, method).observe(time.perf_counter() - started)
