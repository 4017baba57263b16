"""The patterns API: browse patterns with their classification, and correct them.

A correction sets one field of a pattern's classification for good: later classifications
keep it, and a renamed pattern's old names keep resolving to it (``ClassificationStore``).
Errors answer with a JSON ``detail``:

- 404: no pattern has or had the name; the detail names close ones to try.
- 409: the pattern is not classified yet (run ``spanwise classify``), or the new name is
  another pattern's name or old name.
- 400: a value Spanwise cannot set: a verdict or category that does not exist, a name that
  is not snake_case, an empty text; or a verdict without a reason.
- 422: a body of the wrong shape (FastAPI's validation errors): an unknown field, a missing
  value, a text over the length limit.

Each request opens the pattern store for itself and closes it after: SQLite in WAL mode lets
readers and one writer (this server, a ``spanwise`` command) share the file safely, and no
connection is shared between threads.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run
# time, and ``Store`` below lives in ``patterns_router``, where a string could not find it.

import difflib
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from app.api.tenant_dependency import request_tenant, tenant_store
from app.chat.index import retriever
from app.chat.lexical import words
from app.classify.store import (
    ClassificationStore,
    Correction,
    CorrectionError,
    StoredClassification,
)
from app.classify.verdict import MAX_TEXT_LENGTH, Category, Source, Verdict
from app.discovery.documents import pattern_document
from app.discovery.heads import read_heads
from app.discovery.patterns import SpanPattern
from app.settings import Settings

CorrectableField = Literal["name", "description", "category", "verdict", "reasoning"]
"""``app.classify.store.CORRECTABLE``, spelled out so that the schema lists the choices."""

MAX_AUTHOR_LENGTH = 120


class _Documented(BaseModel):
    # Attribute docstrings become field descriptions in the OpenAPI schema.
    model_config = ConfigDict(use_attribute_docstrings=True)


class ClassificationOut(_Documented):
    name: str
    description: str
    category: Category
    verdict: Verdict
    reasoning: str
    """Why the verdict."""
    source: Source
    """Who classified it: the offline rules or a model; fields a person set are listed below."""
    person_fields: list[str]
    """Fields a person set; later classifications keep them as they are."""


class PatternRow(_Documented):
    """A live pattern in a list, with its classification's gist when it has one."""

    name: str
    service: str
    span_kind: str
    operation: str
    count: int
    p50_ms: float
    p99_ms: float
    error_rate: float
    category: Category | None = None
    verdict: Verdict | None = None
    description: str | None = None


class LinkedPattern(_Documented):
    name: str
    service: str
    calls: int


class PatternDetail(_Documented):
    """Everything known of one pattern, as ``spanwise patterns show --json`` prints it.

    Samples are redacted: secrets and personal data never leave the process."""

    name: str
    service: str
    span_kind: str
    family: str
    operation: str
    matchers: list[dict[str, str]]
    hints: dict[str, str]
    stats: dict[str, Any]
    parents: list[LinkedPattern]
    children: list[LinkedPattern]
    callers: list[str]
    samples: dict[str, list[dict[str, Any]]]
    classification: ClassificationOut | None
    """``null`` until ``spanwise classify`` has run over the pattern."""
    aliases: list[str]
    """Old names, which keep resolving to this pattern."""


class CorrectionIn(_Documented):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    field: CorrectableField
    value: str = Field(max_length=MAX_TEXT_LENGTH)
    """A verdict (keep, noise), a category, a snake_case name or a text."""
    reason: str = Field("", max_length=MAX_TEXT_LENGTH)
    """Why; required for a verdict."""
    author: str = Field("api", min_length=1, max_length=MAX_AUTHOR_LENGTH)


class CorrectionOut(_Documented):
    id: int
    pattern: str
    """The pattern's current name."""
    field: str
    value: str
    reason: str
    author: str
    created_at: datetime


class CorrectionResult(_Documented):
    correction: CorrectionOut
    pattern: PatternDetail
    """The pattern as it is after the correction."""


class ErrorOut(_Documented):
    detail: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No pattern has or had this name."},
}


def patterns_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["patterns"])

    Store = Annotated[ClassificationStore, Depends(tenant_store(settings))]
    Tenant = Annotated[str, Depends(request_tenant)]

    @router.get("/patterns", summary="Live patterns, busiest first within each service")
    def list_patterns(
        store: Store,
        tenant: Tenant,
        service: str | None = None,
        kind: str | None = Query(None, description="server, client, producer, consumer..."),
        verdict: Verdict | None = None,
        q: str | None = Query(
            None, max_length=500, description="Words found in name, operation or description."
        ),
        semantic: bool = Query(
            False, description="With q: the patterns whose descriptions mean most like it."
        ),
        limit: int = Query(1000, ge=1, le=10_000),
    ) -> list[PatternRow]:
        # Heads, not whole patterns: a list of 10,000 needs no samples or sketches.
        patterns = [
            p
            for p in read_heads(store.patterns)
            if p.live
            and (service is None or p.service == service)
            and (kind is None or p.span_kind == kind)
        ]
        patterns.sort(key=lambda p: (p.service, -p.count, p.name))
        current = store.current(patterns)
        if verdict is not None:
            patterns = [
                p
                for p in patterns
                if p.id in current and current[p.id].classification.verdict is verdict
            ]
        if q and semantic:
            order = retriever(settings, store.patterns, tenant)(q, min(limit, 50))
            by_id = {p.id: p for p in patterns}
            patterns = [by_id[i] for i in order if i in by_id]
        elif q:
            asked = words(q)
            patterns = [
                p
                for p in patterns
                if asked
                <= words(
                    f"{p.name} {p.operation} "
                    + (current[p.id].classification.description if p.id in current else "")
                )
            ]
        return [listed(pattern.row(), current.get(pattern.id)) for pattern in patterns[:limit]]

    @router.get("/patterns/{name}", summary="One pattern, by name or old name", responses=_ERRORS)
    def show_pattern(name: str, store: Store) -> PatternDetail:
        patterns = store.patterns.load(timelines=False)
        return _detail(store, _resolved(store, patterns, name), patterns)

    @router.post(
        "/patterns/{name}/corrections",
        status_code=201,
        summary="Correct one field of a pattern's classification",
        responses={
            **_ERRORS,
            400: {"model": ErrorOut, "description": "A value that cannot be set."},
            409: {
                "model": ErrorOut,
                "description": "Not classified yet, or the new name is taken.",
            },
        },
    )
    def correct_pattern(name: str, body: CorrectionIn, store: Store) -> CorrectionResult:
        patterns = store.patterns.load(timelines=False)
        pattern = _resolved(store, patterns, name)
        if pattern.id not in store.current([pattern]):
            raise HTTPException(
                409, f"{pattern.name} is not classified yet: run `spanwise classify` first"
            )
        value = body.value.strip()
        if body.field == "name":
            owner = store.resolve(value)
            if owner is not None and owner != pattern.id:
                raise HTTPException(409, _taken(value, _live(patterns, owner)))
        if body.field == "verdict" and not body.reason.strip():
            raise HTTPException(400, "say why in `reason`: it is kept with the correction")
        author = body.author.strip() or "api"
        try:
            correction = store.correct(
                pattern, body.field, value, reason=body.reason.strip(), author=author
            )
        except CorrectionError as exc:
            raise HTTPException(400, str(exc)) from exc
        return CorrectionResult(
            correction=_correction_out(correction, pattern.name),
            pattern=_detail(store, pattern, patterns),
        )

    @router.get("/corrections", summary="Every correction people made, oldest first")
    def list_corrections(store: Store) -> list[CorrectionOut]:
        names = {p.id: p.name for p in store.patterns.load(sketches=False)}
        return [
            _correction_out(c, names.get(c.pattern_id, f"#{c.pattern_id}"))
            for c in store.corrections()
        ]

    return router


def listed(row: dict[str, Any], stored: StoredClassification | None) -> PatternRow:
    """A pattern's list row (``pattern_row``) with the gist of its classification."""
    listed_row = PatternRow.model_validate(row)
    if stored is not None:
        listed_row.category = stored.classification.category
        listed_row.verdict = stored.classification.verdict
        listed_row.description = stored.classification.description
    return listed_row


def _resolved(store: ClassificationStore, patterns: list[SpanPattern], name: str) -> SpanPattern:
    """The live pattern a name or an old name means, following merges; else a 404."""
    pattern_id = store.resolve(name)
    if pattern_id is None or all(p.id != pattern_id for p in patterns):
        known = [p.name for p in patterns if p.merged_into is None]
        known += [alias for p in patterns for alias in store.aliases(p.id)]
        close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
        close += sorted(k for k in known if name.lower() in k.lower() and k not in close)
        hint = f"; did you mean {', '.join(close[:5])}?" if close else ""
        raise HTTPException(404, f"no pattern named {name!r}{hint}; see GET /api/patterns")
    return _live(patterns, pattern_id)


def _taken(name: str, owner: SpanPattern) -> str:
    if owner.name == name:
        return f"{name!r} is already another pattern's name; choose another name"
    return f"{name!r} is an old name of {owner.name} and keeps meaning it; choose another name"


def _live(patterns: list[SpanPattern], pattern_id: int) -> SpanPattern:
    by_id = {p.id: p for p in patterns}
    found = by_id[pattern_id]
    while found.merged_into is not None:
        found = by_id[found.merged_into]
    return found


def _detail(
    store: ClassificationStore, pattern: SpanPattern, patterns: list[SpanPattern]
) -> PatternDetail:
    stored = store.current([pattern]).get(pattern.id)
    classification = None
    if stored is not None:
        classification = ClassificationOut(
            **stored.classification.model_dump(),
            person_fields=sorted(stored.person_fields),
        )
    return PatternDetail(
        **pattern_document(pattern, patterns),
        classification=classification,
        aliases=store.aliases(pattern.id),
    )


def _correction_out(correction: Correction, pattern: str) -> CorrectionOut:
    return CorrectionOut(
        id=correction.id,
        pattern=pattern,
        field=correction.field,
        value=correction.value,
        reason=correction.reason,
        author=correction.author,
        created_at=datetime.fromtimestamp(correction.created_unix_s, UTC),
    )
