"""Served open on loopback, answer only to loopback host names: a guard against DNS
rebinding, where a web page whose domain resolves to 127.0.0.1 would otherwise read the
API from a visitor's browser and post corrections without any token.

Names allowed besides ``localhost`` and loopback addresses: ``SPANWISE_ALLOWED_HOSTS``, and
the host of ``SPANWISE_PUBLIC_URL``. With tokens required the guard is not needed (a
rebinding page holds no token and no cookie of ours) and is not installed.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = frozenset({"localhost"})


class LoopbackHostOnly:
    def __init__(self, app: ASGIApp, allowed: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = frozenset(name.lower() for name in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = ""
        for name, value in scope.get("headers", []):
            if name == b"host":
                host = value.decode("latin-1")
                break
        if self._allowed(host):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {
                "detail": f"Host {host!r} is not served here: Spanwise on loopback answers "
                "only to localhost and loopback addresses (a guard against DNS rebinding). "
                "Serving it under another name? Add it to SPANWISE_ALLOWED_HOSTS."
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _allowed(self, host: str) -> bool:
        name = host.strip().lower()
        if name.startswith("["):  # [::1]:8765
            name = name[1 : name.find("]")] if "]" in name else name
        elif name.count(":") == 1:
            name = name.split(":", 1)[0]
        if name in LOOPBACK_NAMES or name.endswith(".localhost") or name in self.allowed:
            return True
        try:
            return ipaddress.ip_address(name).is_loopback
        except ValueError:
            return False
