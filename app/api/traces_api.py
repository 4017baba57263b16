"""``GET /api/traces/{trace_id}``: a trace that answers cite, from the samples or from Tempo.

Discovery keeps sample spans per pattern (typical, slowest, erroring); a trace id an answer
cites is found among them first, each span with the pattern it belongs to. When a Tempo is
configured, the whole trace can come from it instead (``?source=tempo``, or when the samples
hold none of it). Span data is redacted either way.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

import re
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query

from app.api.tenant_dependency import request_tenant
from app.discovery.sample_traces import stored_trace
from app.settings import Settings
from app.tempo_runner import tempo_runner, tempo_trace
from app.tenancy import tenant_settings, tenant_store_path
from connectors.tempo_errors import TempoError, TraceNotFound

_TRACE_ID = re.compile(r"[0-9a-fA-F]{1,32}")


def traces_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["traces"])

    @router.get("/api/traces/{trace_id}", summary="A sample trace, stored or fetched from Tempo")
    async def trace(
        trace_id: str,
        tenant: Annotated[str, Depends(request_tenant)],
        source: Literal["auto", "samples", "tempo"] = Query(
            "auto", description="auto: the stored samples, else Tempo when configured."
        ),
    ) -> dict[str, Any]:
        if not _TRACE_ID.fullmatch(trace_id):
            raise HTTPException(400, f"{trace_id!r} is not a trace id: up to 32 hex digits")
        wanted = trace_id.lower().rjust(32, "0")
        if source != "tempo":
            spans = stored_trace(tenant_store_path(settings, tenant), wanted)
            if spans or source == "samples":
                if not spans:
                    raise HTTPException(404, f"no stored sample span of trace {wanted}")
                return {"trace_id": wanted, "source": "samples", "spans": spans}
        return await _from_tempo(tenant_settings(settings, tenant), wanted)

    return router


async def _from_tempo(settings: Settings, trace_id: str) -> dict[str, Any]:
    runner = tempo_runner(settings)
    if runner is None:
        raise HTTPException(
            404,
            f"trace {trace_id} is not among the stored samples, and no Tempo URL is set "
            "(pass --tempo or set SPANWISE_TEMPO_URL)",
        )
    try:
        spans = await anyio.to_thread.run_sync(tempo_trace, runner, trace_id)
    except TraceNotFound as exc:
        raise HTTPException(404, f"Tempo has no trace {trace_id}") from exc
    except TempoError as exc:
        raise HTTPException(502, f"Tempo: {exc}") from exc
    return {"trace_id": trace_id, "source": "tempo", "spans": spans}
