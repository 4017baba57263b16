"""``POST /api/discovery``: discover a Tempo window's patterns for the caller's tenant.

A run pulls the window from Tempo (sampled per slice, as ``spanwise discover`` does, or
every trace), adds what it finds to the tenant's store and classifies what is new; it runs
in the background and ``GET /api/discovery/{run_id}`` says how it goes. Runs are costly
for Tempo and, with a model, in money: one runs at a time per tenant (409 while one does)
and each caller may start ``discovery_runs_per_hour`` (429 with ``Retry-After`` beyond).
Only ``write`` tokens may start one (the authentication middleware sees to that).
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

import asyncio
import math
import secrets
import threading
import time
from collections import OrderedDict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from app.api.limits import TokenBuckets
from app.api.tenant_dependency import request_tenant
from app.classify.build import model_classifier
from app.classify.run import classify_patterns
from app.discovery.store import PatternStore
from app.discovery.tempo_run import discover_tempo_window
from app.discovery.writers import store_writer
from app.settings import Settings
from app.tenancy import tenant_settings, tenant_store_path
from app.time_options import resolve_window
from connectors.tempo_errors import TempoError
from connectors.tempo_sample import SamplePlan

KEPT_RUNS = 200


class DiscoveryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    since: str | None = Field(default=None, max_length=20, examples=["1h"])
    """The window up to now: 15m, 2h, 1d."""
    start: str | None = Field(default=None, max_length=40)
    """Or the window's start: unix seconds or ISO 8601."""
    end: str | None = Field(default=None, max_length=40)
    query: str = Field(default="{}", max_length=2000)
    """A TraceQL filter of the traces to read."""
    all_traces: bool = False
    """Every trace of the window, not a sample per slice."""


class DiscoveryStatus(BaseModel):
    run_id: str
    tenant: str
    status: Literal["running", "done", "failed"]
    window: tuple[int, int]
    started_unix: float
    finished_unix: float | None = None
    spans: int = 0
    patterns: int = 0
    new_patterns: int = 0
    classified: int = 0
    error: str | None = None
    problems: list[str] = []
    """What the run could not do and kept going past: traces Tempo would not give after
    retries (listed for `spanwise discover --resume`)."""


class _Runs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: OrderedDict[str, DiscoveryStatus] = OrderedDict()

    def start(self, tenant: str, window: tuple[int, int]) -> DiscoveryStatus | None:
        """A new run's status; ``None`` when the tenant has one running."""
        with self._lock:
            if any(r.tenant == tenant and r.status == "running" for r in self._runs.values()):
                return None
            status = DiscoveryStatus(
                run_id=secrets.token_hex(8),
                tenant=tenant,
                status="running",
                window=window,
                started_unix=time.time(),
            )
            self._runs[status.run_id] = status
            while len(self._runs) > KEPT_RUNS:
                self._runs.popitem(last=False)
            return status

    def get(self, run_id: str) -> DiscoveryStatus | None:
        with self._lock:
            found = self._runs.get(run_id)
            return found.model_copy() if found is not None else None

    def update(self, run_id: str, **changes: Any) -> None:
        with self._lock:
            current = self._runs[run_id]
            self._runs[run_id] = current.model_copy(update=changes)


def discovery_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/api/discovery", tags=["discovery"])
    runs = _Runs()
    budget = TokenBuckets(settings.discovery_runs_per_hour, per_s=3600.0)

    @router.post(
        "", status_code=202, summary="Discover a Tempo window's patterns, in the background"
    )
    def start(
        body: DiscoveryRequest,
        request: Request,
        tenant: Annotated[str, Depends(request_tenant)],
    ) -> DiscoveryStatus:
        scoped = tenant_settings(settings, tenant)
        if not scoped.tempo_url:
            raise HTTPException(409, "no Tempo configured: set SPANWISE_TEMPO_URL and restart")
        try:
            window = resolve_window(
                since=body.since, start=body.start, end=body.end, now=time.time()
            )
        except ValueError as exc:
            raise HTTPException(400, str(exc).replace("--", "")) from exc
        caller = getattr(request.state, "principal", "unknown")
        wait = budget.take(caller)
        if wait > 0:
            raise HTTPException(
                429,
                f"at most {settings.discovery_runs_per_hour} discovery runs an hour: "
                f"start the next in {math.ceil(wait)} s",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        status = runs.start(tenant, window)
        if status is None:
            raise HTTPException(409, f"a discovery run of tenant {tenant} is running: wait for it")
        plan = (
            None
            if body.all_traces
            else SamplePlan(
                slice_s=settings.discovery_slice_s,
                traces_per_slice=settings.discovery_traces_per_slice,
            )
        )
        threading.Thread(
            target=_run,
            args=(runs, status.run_id, scoped, tenant, window, body.query, plan),
            name=f"discovery-{status.run_id}",
            daemon=True,
        ).start()
        return status

    @router.get("/{run_id}", summary="How a discovery run goes", responses={404: {}})
    def show(run_id: str, tenant: Annotated[str, Depends(request_tenant)]) -> DiscoveryStatus:
        status = runs.get(run_id)
        if status is None or status.tenant != tenant:
            raise HTTPException(404, f"no discovery run {run_id!r}")
        return status

    return router


def _run(
    runs: _Runs,
    run_id: str,
    settings: Settings,
    tenant: str,
    window: tuple[int, int],
    query: str,
    plan: SamplePlan | None,
) -> None:
    path = tenant_store_path(settings, tenant)
    path.parent.mkdir(parents=True, exist_ok=True)
    store = PatternStore(path)
    try:
        with store_writer(path):  # live discovery and splits wait for the run to save
            report = asyncio.run(
                discover_tempo_window(settings, store, window, query=query, plan=plan)
            )
        runs.update(
            run_id,
            spans=report.spans,
            patterns=report.patterns_after,
            new_patterns=report.new_patterns,
            problems=report.problems,
        )
        classified = classify_patterns(store, model=model_classifier(settings, store))
        runs.update(
            run_id, status="done", finished_unix=time.time(), classified=classified.classified
        )
    except TempoError as exc:
        runs.update(run_id, status="failed", finished_unix=time.time(), error=f"Tempo: {exc}")
    except Exception as exc:  # the run fails; the server and what is stored stay
        runs.update(run_id, status="failed", finished_unix=time.time(), error=type(exc).__name__)
    finally:
        store.close()
