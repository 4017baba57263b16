"""A trace an answer cites, as the stored sample spans hold it (redacted, as the API's
``GET /api/traces/{id}`` gives them when it answers from the samples)."""

from __future__ import annotations

import re
from typing import Any

from app.discovery import sample_traces
from app.settings import Settings
from app.tenancy import tenant_store_path

_TRACE_ID = re.compile(r"[0-9a-f]{32}")


def is_trace_id(text: str) -> bool:
    return bool(_TRACE_ID.fullmatch(text))


def stored_trace(settings: Settings, tenant: str, trace_id: str) -> list[dict[str, Any]]:
    """The tenant's sample spans of ``trace_id`` (32 lower-case hex digits), earliest first,
    each with its service and pattern name; attributes and names redacted."""
    if not is_trace_id(trace_id):
        raise ValueError(f"{trace_id[:40]!r} is not a trace id")
    return sample_traces.stored_trace(tenant_store_path(settings, tenant), trace_id)
