"""What can go wrong when Spanwise talks to Grafana Tempo, one exception per cause.

Every error is a ``TempoError`` and carries the ``url`` of the request that failed::

    TempoError
    ├── TempoQueryError         400: Tempo rejected the request: TraceQL that does not parse,
    │                           start after end, a range longer than Tempo's max_duration, a bad
    │                           step, scope or trace id. ``str(error)`` is Tempo's text, verbatim.
    ├── TempoAuthError          401 or 403: credentials are missing or refused.
    │   └── TempoTenantRequired 401 ``no org id``: Tempo runs multi-tenant and the request named
    │                           no tenant (X-Scope-OrgID).
    ├── TraceNotFound           Tempo holds no trace with that id (v1: 404 with an empty body;
    │                           v2: 200 with an empty ``trace``).
    ├── TempoEndpointNotFound   404 from the router: this Tempo has no such API (an older
    │                           version), or the URL misses a gateway's path prefix.
    ├── TempoUnavailable        429 or 5xx that was still failing after every retry; carries the
    │                           last ``status`` and an excerpt of the body.
    ├── TempoTimeout            Tempo did not answer in time (connecting, or reading after retries).
    ├── TempoConnectionError    no connection (refused, unknown host) or it broke while reading.
    └── TempoResponseError      an answer Spanwise cannot use: an unexpected status, or a body
                                that does not have the shape Tempo gives it.
"""

from __future__ import annotations

from http import HTTPStatus

import httpx

NO_ORG_ID = "no org id"
"""Tempo's whole 401 body when multitenancy is on and X-Scope-OrgID is missing."""

ROUTE_NOT_FOUND = "404 page not found"
"""Go's router answer for a path it does not know; a missing trace has an empty 404 body."""

_EXCERPT_CHARS = 300


class TempoError(Exception):
    """Base of every error of the Tempo connector."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class TempoQueryError(TempoError):
    """Tempo refused the request as invalid; the message is Tempo's own, unchanged."""

    def __init__(self, tempo_message: str, *, url: str = "", status: int = 400) -> None:
        super().__init__(tempo_message, url=url)
        self.tempo_message = tempo_message
        self.status = status


class TempoAuthError(TempoError):
    """Tempo (or a gateway in front of it) refused the credentials."""

    def __init__(self, message: str, *, url: str = "", status: int = 401) -> None:
        super().__init__(message, url=url)
        self.status = status


class TempoTenantRequired(TempoAuthError):
    """Multi-tenant Tempo needs to know whose data to read."""

    def __init__(self, *, url: str = "") -> None:
        super().__init__(
            "Tempo runs with multitenancy and needs a tenant (the X-Scope-OrgID header): "
            "pass --tenant or set SPANWISE_TEMPO_TENANT ('a|b' reads several tenants). "
            f"Tempo said: {NO_ORG_ID}",
            url=url,
            status=401,
        )


class TraceNotFound(TempoError):
    def __init__(self, trace_id: str, *, url: str = "") -> None:
        super().__init__(f"Tempo has no trace {trace_id}", url=url)
        self.trace_id = trace_id


class TempoEndpointNotFound(TempoError):
    def __init__(self, *, url: str = "") -> None:
        super().__init__(
            f"Tempo has no API at {url} (404 page not found): the Tempo version may be too old "
            "for it, or the Tempo URL misses a path prefix",
            url=url,
        )


class TempoUnavailable(TempoError):
    def __init__(self, *, url: str, status: int, body_excerpt: str, attempts: int) -> None:
        tries = "once" if attempts == 1 else f"{attempts} times"
        detail = f": {body_excerpt}" if body_excerpt else ""
        super().__init__(
            f"Tempo at {url} answered {status} {_reason(status)} (tried {tries}){detail}",
            url=url,
        )
        self.status = status
        self.body_excerpt = body_excerpt
        self.attempts = attempts


class TempoTimeout(TempoError):
    pass


class TempoConnectionError(TempoError):
    pass


class TempoResponseError(TempoError):
    def __init__(self, message: str, *, url: str = "", status: int | None = None) -> None:
        super().__init__(message, url=url)
        self.status = status


def error_for_response(response: httpx.Response, *, attempts: int = 1) -> TempoError:
    """The error for a Tempo answer that is not a success.

    404 is only mapped to ``TempoEndpointNotFound`` here; callers for which an empty 404
    means "no such trace" look at it first.
    """
    url = str(response.request.url)
    status = response.status_code
    text = response.text
    if status in (400, 422):
        return TempoQueryError(text.rstrip("\r\n"), url=url, status=status)
    if status == 401 and text.strip() == NO_ORG_ID:
        return TempoTenantRequired(url=url)
    if status in (401, 403):
        return TempoAuthError(
            f"Tempo at {url} refused the credentials ({status} {_reason(status)}): "
            f"{excerpt(text) or 'no details'}. Check SPANWISE_TEMPO_TOKEN, or "
            "SPANWISE_TEMPO_USERNAME and SPANWISE_TEMPO_PASSWORD",
            url=url,
            status=status,
        )
    if status == 404:
        return TempoEndpointNotFound(url=url)
    if status == 429 or status >= 500:
        return TempoUnavailable(
            url=url, status=status, body_excerpt=excerpt(text), attempts=attempts
        )
    detail = f"{status} {_reason(status)} {excerpt(text)}".rstrip()
    return TempoResponseError(
        f"unexpected answer from Tempo at {url}: {detail}",
        url=url,
        status=status,
    )


def timeout_error(exc: httpx.TimeoutException, *, attempts: int) -> TempoTimeout:
    url = _url_of(exc)
    try:
        limits = exc.request.extensions.get("timeout", {})
    except RuntimeError:  # an exception raised without its request
        limits = {}
    if isinstance(exc, httpx.ConnectTimeout):
        seconds = limits.get("connect")
        return TempoTimeout(
            f"could not connect to Tempo at {url} within {_seconds(seconds)}: is the Tempo URL "
            "right and reachable from here? (--tempo / SPANWISE_TEMPO_URL; raise "
            "SPANWISE_TEMPO_CONNECT_TIMEOUT_S for a slow network)",
            url=url,
        )
    seconds = limits.get("read")
    tries = "" if attempts == 1 else f" ({attempts} attempts)"
    return TempoTimeout(
        f"Tempo at {url} did not answer within {_seconds(seconds)}{tries}: narrow the time range "
        "or the query, or raise SPANWISE_TEMPO_READ_TIMEOUT_S",
        url=url,
    )


def connection_error(exc: httpx.TransportError, *, attempts: int) -> TempoConnectionError:
    url = _url_of(exc)
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return TempoConnectionError(
            f"could not connect to Tempo at {url} ({reason}): is Tempo running, and is the "
            "Tempo URL right? (--tempo / SPANWISE_TEMPO_URL)",
            url=url,
        )
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        tries = "" if attempts == 1 else f" ({attempts} attempts)"
        return TempoConnectionError(
            f"the connection to Tempo at {url} broke{tries}: {reason}", url=url
        )
    return TempoConnectionError(
        f"could not send a request to Tempo at {url}: {reason} "
        "(check the Tempo URL: --tempo / SPANWISE_TEMPO_URL)",
        url=url,
    )


def excerpt(text: str) -> str:
    """The start of a body on one line, enough to recognise a proxy's error page."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT_CHARS else flat[:_EXCERPT_CHARS] + "..."


def _url_of(exc: httpx.TransportError) -> str:
    try:
        return str(exc.request.url)
    except RuntimeError:
        return "(unknown URL)"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _seconds(value: object) -> str:
    return f"{value:g} s" if isinstance(value, int | float) else "the timeout"
