"""Every request is checked here: who sends it (a token), for which tenant, with what role.

Bound to loopback, Spanwise runs open unless ``auth_required``: a request without a token
acts for the default tenant with every right, and a request with one is held to it. Bound
to any other address it requires a token on every route, except liveness and readiness
probes, static files, the login page, and Slack's events (which Slack's signature
authenticates). A token comes as ``Authorization: Bearer ...`` or, for the web page, in the
HttpOnly cookie the login page sets; a state-changing request authenticated by that cookie
must come from a page of this very site (its ``Origin``, else its ``Referer``), which stops
cross-site forms. ``read`` tokens may browse and ask; ``write`` tokens may also change
things; ``ingest`` tokens may only push spans. A browser asking for a page without a token
is sent to ``/login``; everything else gets 401.

The grant is put on the request's state (``tenant``, ``role``, ``principal``), which is
how ``app.api.tenant_dependency`` scopes every store a route opens.
"""

from __future__ import annotations

import ipaddress
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

from app.api.asgi import ASGIApp, Receive, Scope, Send, send_error
from app.auth.tokens import Grant, Role, TokenStore
from app.tenancy import DEFAULT_TENANT

TOKEN_COOKIE = "spanwise_token"
OPEN_GRANT = Grant(token_id="open", tenant=DEFAULT_TENANT, role=Role.WRITE)
_EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/login", "/favicon.ico"})
_EXEMPT_PREFIXES = ("/static/", "/slack/")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READER_POSTS = frozenset({"/api/chat", "/api/chat/stream", "/logout"})
_INGEST_PATHS = frozenset({"/v1/traces"})


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps Spanwise on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def tokens_required(host: str, *, auth_required: bool, allow_open: bool) -> bool:
    if auth_required:
        return True
    return not is_loopback(host) and not allow_open


def allowed(role: Role, method: str, path: str) -> bool:
    if path in _INGEST_PATHS:
        return role in (Role.INGEST, Role.WRITE)
    if role is Role.INGEST:
        return False
    if role is Role.WRITE or method in _SAFE_METHODS:
        return True
    return path in _READER_POSTS


class Authentication:
    """ASGI middleware in front of the whole app."""

    def __init__(self, app: ASGIApp, tokens: TokenStore, *, required: bool) -> None:
        self._app = app
        self._tokens = tokens
        self.required = required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if path in _EXEMPT_PATHS or path.startswith(_EXEMPT_PREFIXES):
            await self._app(scope, receive, send)
            return

        bearer = _bearer(headers.get("authorization", ""))
        cookie = None if bearer else _cookie(headers.get("cookie", ""))
        presented = bearer or cookie
        if presented is None:
            if self.required and _wants_page(method, path, headers):
                await _to_login(send, scope)
                return
            if self.required:
                await _refuse(
                    send,
                    401,
                    "this Spanwise needs a token: send `Authorization: "
                    "Bearer <token>` (make one with `spanwise tokens create`)",
                )
                return
            grant = OPEN_GRANT
        else:
            found = self._tokens.authenticate(presented)
            if found is None:
                await _refuse(
                    send,
                    401,
                    "the token is unknown or revoked: ask for a new one (`spanwise tokens create`)",
                )
                return
            grant = found
        if not allowed(grant.role, method, path):
            await _refuse(
                send, 403, f"a {grant.role.value} token may not {method} {path}", auth=False
            )
            return
        if cookie is not None and method not in _SAFE_METHODS and not _same_site(headers):
            await _refuse(
                send, 403, "a cross-site request: send it from Spanwise's own pages", auth=False
            )
            return
        state = scope.setdefault("state", {})
        state["tenant"] = grant.tenant
        state["role"] = grant.role
        state["principal"] = (
            f"token:{grant.token_id}" if grant is not OPEN_GRANT else f"address:{_client(scope)}"
        )
        await self._app(scope, receive, send)


def _wants_page(method: str, path: str, headers: dict[str, str]) -> bool:
    """A browser asking for a page (not the API): it is better sent to sign in."""
    return (
        method == "GET"
        and not path.startswith(("/api/", "/v1/", "/metrics", "/docs", "/openapi", "/redoc"))
        and "text/html" in headers.get("accept", "")
    )


async def _to_login(send: Send, scope: Scope) -> None:
    query = scope.get("query_string", b"").decode("latin-1")
    target = scope["path"] + (f"?{query}" if query else "")
    location = "/login?" + urlencode({"next": target})
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode()), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})


def _bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _cookie(header: str) -> str | None:
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header is no token
        return None
    morsel = jar.get(TOKEN_COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def _same_site(headers: dict[str, str]) -> bool:
    host = headers.get("host", "")
    source = headers.get("origin") or headers.get("referer")
    if not source or source == "null":
        return False
    return urlsplit(source).netloc == host


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _refuse(send: Send, status: int, detail: str, *, auth: bool = True) -> None:
    challenge = [(b"www-authenticate", b'Bearer realm="spanwise"')] if auth else []
    await send_error(send, status, detail, challenge)
