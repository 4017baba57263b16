"""The pattern explorer's pages: patterns, one pattern, a trace, chat, the service map.

Each page reads the store of the request's tenant (``request_tenant``) and renders a
template (``app.web.rendering``). A page about one pattern or trace opens the store for
itself and closes it after, as the API does; the lists (patterns, services) read every
pattern's head from a snapshot kept until the store changes (``Snapshots``). Changes go
through the JSON API (corrections, split, merge, chat), which the pages' scripts call.
A page that cannot be shown answers with an HTML error page and the status the API would
give: 400 for a parameter it cannot use, 404 for a pattern or trace it does not know.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

import difflib
import re
import time
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from app.api.tenant_dependency import request_tenant, tenant_store
from app.api.traces_api import _from_tempo
from app.chat.service import GrafanaLinks
from app.chat.time_window import WindowProblem, window_asked
from app.classify.store import ClassificationStore
from app.classify.verdict import Category, Verdict
from app.discovery.heads import PatternHead
from app.discovery.sample_traces import stored_trace
from app.settings import Settings
from app.tenancy import tenant_store_path
from app.web.catalog import Snapshots, complete_names
from app.web.listing import MEANING_RESULTS, SORTS, UNCLASSIFIED, ListQuery, list_view
from app.web.meaning import MeaningSearch
from app.web.pattern_view import pattern_view
from app.web.rendering import pattern_url, render
from app.web.service_map import service_map
from app.web.waterfall import waterfall

SPAN_KINDS = ("server", "client", "producer", "consumer", "internal")
_TRACE_ID = re.compile(r"[0-9a-fA-F]{1,32}")


class PageError(Exception):
    """A page that cannot be shown: rendered as an error page with this status."""

    def __init__(self, status_code: int, message: str, hints: list[str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.hints = hints or []


def web_router(settings: Settings) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    meaning = MeaningSearch(settings)
    snapshots = Snapshots()
    grafana = GrafanaLinks.from_settings(settings)
    mode = "model" if settings.model_configured else "offline"

    Store = Annotated[ClassificationStore, Depends(tenant_store(settings))]
    Tenant = Annotated[str, Depends(request_tenant)]

    def page(template: str, section: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render(template, status_code, section=section, mode=mode, **context)

    def error_page(error: PageError, section: str) -> HTMLResponse:
        return page(
            "error.html",
            section,
            error.status_code,
            title=f"{error.status_code}",
            message=error.message,
            hints=error.hints,
        )

    @router.get("/", response_class=HTMLResponse)
    def patterns_page(
        tenant: Tenant,
        q: str = Query("", max_length=500),
        semantic: bool = False,
        service: str = Query("", max_length=200),
        kind: str = "",
        category: str = "",
        verdict: str = "",
        sort: str = "volume",
        group: str = "service",
        page_number: str = Query("1", alias="page", max_length=8),
    ) -> HTMLResponse:
        try:
            query = _list_query(
                q, semantic, service, kind, category, verdict, sort, group, page_number
            )
        except PageError as error:
            return error_page(error, "patterns")
        snapshot = snapshots.of(tenant_store_path(settings, tenant))
        order = None
        meaning_error = ""
        if query.by_meaning:
            try:
                order = meaning.search(tenant, query.q, MEANING_RESULTS)
            except Exception as exc:  # no index, no model: the words still search
                meaning_error = f"{type(exc).__name__}: {exc}"
                query = replace(query, semantic=False)
        view = list_view(snapshot.heads, snapshot.gists, query, order)
        return page(
            "patterns.html",
            "patterns",
            title="Patterns",
            query=query,
            view=view,
            kinds=SPAN_KINDS,
            categories=[c.value for c in Category],
            verdicts=[*(v.value for v in Verdict), UNCLASSIFIED],
            sorts=SORTS,
            meaning_error=meaning_error,
        )

    @router.get("/patterns/{name}", response_class=HTMLResponse)
    def pattern_page(
        name: str,
        store: Store,
        renamed_from: str = Query("", alias="from", max_length=200),
        window: str = Query("", max_length=120, description="'last 15 minutes', '15:18-15:22'"),
    ) -> Response:
        pattern_id = store.resolve(name)
        if pattern_id is None:
            snapshot = snapshots.of(store.patterns.path)
            return error_page(_unknown_pattern(store, snapshot.heads, name), "patterns")
        found = store.patterns.load_ids([pattern_id])[pattern_id]
        while found.merged_into is not None:
            found = store.patterns.load_ids([found.merged_into])[found.merged_into]
        if found.name != name:
            moved = f"{pattern_url(found.name)}?{urlencode({'from': name})}"
            return RedirectResponse(moved, status_code=303)
        asked = window_asked(window, time.time()) if window.strip() else None
        problem = None
        if isinstance(asked, WindowProblem):
            problem, asked = asked.message, None
        elif window.strip() and asked is None:
            problem = f"{window!r} is not a time window: try 'last 15 minutes' or '15:18 to 15:22'"
        view = pattern_view(store, found, grafana, asked)
        return page(
            "pattern.html",
            "patterns",
            title=found.name,
            view=view,
            renamed_from=renamed_from,
            categories=[c.value for c in Category],
            window_words=window,
            window_problem=problem,
        )

    @router.get("/traces/{trace_id}", response_class=HTMLResponse)
    async def trace_page(trace_id: str, tenant: Tenant, source: str = "auto") -> HTMLResponse:
        if not _TRACE_ID.fullmatch(trace_id) or source not in ("auto", "samples", "tempo"):
            return error_page(
                PageError(400, f"{trace_id!r} is not a trace id: up to 32 hex digits"), "traces"
            )
        wanted = trace_id.lower().rjust(32, "0")
        spans: list[dict[str, Any]] = []
        found_in = "samples"
        if source != "tempo":
            spans = await run_in_threadpool(
                stored_trace, tenant_store_path(settings, tenant), wanted
            )
        if not spans and source != "samples":
            try:
                document = await _from_tempo(settings, wanted)
            except HTTPException as exc:
                return error_page(PageError(exc.status_code, str(exc.detail)), "traces")
            spans, found_in = document["spans"], "tempo"
        if not spans:
            return error_page(PageError(404, f"no stored sample span of trace {wanted}"), "traces")
        return page(
            "trace.html",
            "traces",
            title=f"Trace {wanted}",
            trace_id=wanted,
            source=found_in,
            tempo=bool(settings.tempo_url),
            waterfall=waterfall(spans),
        )

    @router.get("/services", response_class=HTMLResponse)
    def services_page(tenant: Tenant) -> HTMLResponse:
        graph = service_map(snapshots.of(tenant_store_path(settings, tenant)).heads)
        return page("services.html", "services", title="Services", map=graph)

    @router.get("/chat", response_class=HTMLResponse)
    def chat_page(q: str = Query("", max_length=4000)) -> HTMLResponse:
        return page("chat.html", "chat", title="Ask", question=q)

    @router.get("/chat/names")
    def pattern_names(store: Store, q: str = Query("", max_length=200)) -> JSONResponse:
        """Pattern names for the @ autocomplete of the chat box."""
        hits = complete_names(store.patterns, q) if q.strip() else []
        return JSONResponse(
            [
                {"name": h.name, "service": h.service, "kind": h.span_kind, "count": h.count}
                for h in hits
            ]
        )

    return router


def _list_query(
    q: str,
    semantic: bool,
    service: str,
    kind: str,
    category: str,
    verdict: str,
    sort: str,
    group: str,
    page: str,
) -> ListQuery:
    """The patterns page's parameters, checked: a value the page does not offer is a 400."""
    if not page.isdigit() or int(page) < 1:
        raise PageError(400, f"page {page!r} is not a page number: 1, 2, ...")
    allowed: list[tuple[str, str, tuple[str, ...]]] = [
        ("kind", kind, SPAN_KINDS),
        ("category", category, tuple(c.value for c in Category)),
        ("verdict", verdict, (*(v.value for v in Verdict), UNCLASSIFIED)),
        ("sort", sort, SORTS),
        ("group", group, ("service", "none")),
    ]
    for name, value, choices in allowed:
        if value and value not in choices:
            raise PageError(400, f"{name} {value!r} is not one of {', '.join(choices)}")
    return ListQuery(
        q=q.strip(),
        semantic=semantic,
        service=service,
        kind=kind,
        category=category,
        verdict=verdict,
        sort=next(s for s in SORTS if s == (sort or "volume")),
        grouped=group != "none",
        page=int(page),
    )


def _unknown_pattern(store: ClassificationStore, heads: list[PatternHead], name: str) -> PageError:
    """A 404 naming close names, as ``GET /api/patterns/{name}`` does."""
    known = [h.name for h in heads if h.live]
    known += [alias for names in store.all_aliases().values() for alias in names]
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
    close += sorted(k for k in known if name.lower() in k.lower() and k not in close)
    return PageError(404, f"no pattern named {name!r}", close[:5])
