"""Rendering pages: the Jinja2 environment, its filters, and the headers every page carries.

Span data is untrusted: an attribute, a span name or a status message can hold markup. The
environment escapes everything it prints (``autoescape``), fails on an undefined name
rather than printing nothing (``StrictUndefined``), and pages forbid inline script through
their Content-Security-Policy, so that even markup that got through could not run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.web.charts import format_count, format_ms, format_percent

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
"""Pages show a store that corrections change: never cache them."""


def pattern_url(name: str) -> str:
    return "/patterns/" + quote(name, safe="")


def trace_url(trace_id: str) -> str:
    return "/traces/" + quote(trace_id, safe="")


def query_string(params: dict[str, str]) -> str:
    return "?" + urlencode(params) if params else "?"


def utc_time(unix_nano: int) -> str:
    if not unix_nano:
        return "never"
    moment = datetime.fromtimestamp(unix_nano / 1e9, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def clock_ms(unix_nano: int) -> str:
    """The time of day to the millisecond, for spans of one trace."""
    moment = datetime.fromtimestamp(unix_nano / 1e9, UTC)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        ms=format_ms,
        count=format_count,
        percent=format_percent,
        number=lambda value: f"{value:,}",
        utc=utc_time,
        clock=clock_ms,
        pattern_url=pattern_url,
        trace_url=trace_url,
        query=query_string,
    )
    return environment


_ENVIRONMENT = _environment()


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``templates/<template>``, with the security headers."""
    html = _ENVIRONMENT.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
