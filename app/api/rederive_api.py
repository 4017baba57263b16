"""Split and merge patterns through the API, as ``spanwise patterns split`` and ``merge`` do.

Both store an override that applies to every later discovery run, and re-derive the stored
patterns now (``app.discovery.rederive``): a merge adds the statistics of the patterns it
folds together, exactly, and the old names keep resolving to the pattern they went into; a
split replays the recorded runs that can be read again (the sample system, OTLP files still
on disk) and names those that cannot (Tempo windows, pushed spans), which the next
discovery run over them fills in. Errors answer with a JSON ``detail``:

- 404: no pattern has or had the name (``/api/patterns/{name}``'s answer, with close names).
- 400: an override that cannot apply: a merge of patterns of different services or kinds
  or recognised by different fields, a merge of a pattern into itself, a split by an
  attribute the pattern is already split by or matched on.
- 422: a body of the wrong shape.

Each re-derivation reads every pattern and writes them back in one transaction; this
process runs one at a time.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

import threading
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import ConfigDict, Field

from app.api.patterns_api import (
    MAX_AUTHOR_LENGTH,
    ErrorOut,
    PatternRow,
    _Documented,
    _resolved,
    listed,
)
from app.api.tenant_dependency import tenant_store
from app.classify.build import model_classifier
from app.classify.run import classify_patterns
from app.classify.store import ClassificationStore
from app.discovery.documents import pattern_row
from app.discovery.normalize import normalize
from app.discovery.overrides import OverrideError, describe
from app.discovery.patterns import SpanPattern
from app.discovery.rederive import Applied, keep_literal, merge, split
from app.discovery.run import describe_source, replay_batches
from app.discovery.writers import store_writer
from app.settings import Settings

MAX_ATTRIBUTE_LENGTH = 255


class LiteralIn(_Documented):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    placeholder: str = Field(min_length=1, max_length=MAX_ATTRIBUTE_LENGTH)
    """The learned placeholder to remove, e.g. ``report_id`` (or ``{report_id}``)."""
    author: str = Field("api", min_length=1, max_length=MAX_AUTHOR_LENGTH)
    force: bool = False
    """Even when some spans cannot be read again (Tempo windows, pushed spans): their
    statistics leave the pattern, and later spans fill the patterns of the values."""


class SplitIn(_Documented):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    by: str = Field(min_length=1, max_length=MAX_ATTRIBUTE_LENGTH)
    """The attribute whose values make the patterns, e.g. ``http.response.status_code``."""
    resource: bool = False
    """A resource attribute (``deployment.environment``) rather than a span attribute."""
    author: str = Field("api", min_length=1, max_length=MAX_AUTHOR_LENGTH)
    force: bool = False
    """Split even when some spans cannot be read again (Tempo windows, pushed spans):
    their statistics leave the pattern, and later spans fill the parts."""


class MergeIn(_Documented):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    into: str = Field(min_length=1, max_length=200)
    """The pattern that stays; the one named in the path goes into it."""
    author: str = Field("api", min_length=1, max_length=MAX_AUTHOR_LENGTH)


class RederiveResult(_Documented):
    override: str
    """What was done, in words, as ``spanwise patterns overrides`` lists it."""
    author: str
    patterns: list[PatternRow]
    """The live patterns it changed or made, as ``GET /api/patterns`` lists them."""
    retired: list[str]
    """Patterns it merged away or emptied; a merged pattern's name resolves to the one it
    went into."""
    replayed: list[str]
    """The recorded runs a split read again."""
    not_replayed: list[str]
    """Recorded runs a split could not read again: the next discovery run over them adds
    their spans."""


_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No pattern has or had this name."},
    400: {"model": ErrorOut, "description": "An override that cannot apply."},
}


def rederive_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["patterns"])
    one_at_a_time = threading.Lock()

    Store = Annotated[ClassificationStore, Depends(tenant_store(settings))]

    def apply(
        store: ClassificationStore,
        change: Callable[[list[SpanPattern]], Applied],
        author: str,
    ) -> RederiveResult:
        # One change at a time, and never while discovery holds the patterns in memory.
        with one_at_a_time, store_writer(store.patterns.path):
            patterns = store.patterns.load()
            try:
                applied = change(patterns)
            except OverrideError as exc:
                raise HTTPException(400, str(exc)) from exc
            store.patterns.save_with_override(applied.patterns, applied.override, author)
            # Parts get names and descriptions; changed patterns descriptions with new numbers.
            classify_patterns(store.patterns, model=model_classifier(settings, store.patterns))
        changed_ids = {p.id for p in applied.patterns if p.name in applied.changed}
        changed = [p for p in store.patterns.load(timelines=False) if p.id in changed_ids]
        live = [p for p in changed if p.merged_into is None and p.stats.count]
        live_ids = {p.id for p in live}
        current = store.current(live)
        rows = [
            listed(pattern_row(pattern), current.get(pattern.id))
            for pattern in sorted(live, key=lambda p: -p.stats.count)
        ]
        return RederiveResult(
            override=describe(applied.override),
            author=author,
            patterns=rows,
            retired=sorted(p.name for p in changed if p.id not in live_ids),
            replayed=[describe_source(s) for s in applied.replayed],
            not_replayed=[describe_source(s) for s in applied.not_replayed],
        )

    @router.post(
        "/patterns/{name}/split",
        status_code=201,
        summary="Split a pattern by an attribute's values, re-deriving its statistics",
        responses=_ERRORS,
    )
    def split_pattern(name: str, body: SplitIn, store: Store) -> RederiveResult:
        attribute = body.by.strip()
        if not attribute:
            raise HTTPException(400, "name the attribute to split by in `by`")

        def change(patterns: list[SpanPattern]) -> Applied:
            pattern = _resolved(store, patterns, name)
            return split(
                patterns,
                pattern.name,
                attribute,
                resource=body.resource,
                overrides=[stored.override for stored in store.patterns.overrides()],
                normalizer=normalize,
                runs=[source for source, _ in store.patterns.runs()],
                replay=lambda source: replay_batches(source, lambda _problem: None),
                retired_names=store.patterns.retired_names(),
                force=body.force,
                variables=store.patterns.learned_variables(),
            )

        return apply(store, change, body.author.strip() or "api")

    @router.post(
        "/patterns/{name}/literal",
        status_code=201,
        summary="Remove a placeholder discovery learned: one pattern per value again",
        responses=_ERRORS,
    )
    def literal_placeholder(name: str, body: LiteralIn, store: Store) -> RederiveResult:
        def change(patterns: list[SpanPattern]) -> Applied:
            pattern = _resolved(store, patterns, name)
            return keep_literal(
                patterns,
                pattern.name,
                body.placeholder.strip(),
                overrides=[stored.override for stored in store.patterns.overrides()],
                normalizer=normalize,
                runs=[source for source, _ in store.patterns.runs()],
                replay=lambda source: replay_batches(source, lambda _problem: None),
                variables=store.patterns.learned_variables(),
                retired_names=store.patterns.retired_names(),
                force=body.force,
            )

        return apply(store, change, body.author.strip() or "api")

    @router.post(
        "/patterns/{name}/merge",
        status_code=201,
        summary="Merge a pattern into another; its names keep resolving to it",
        responses=_ERRORS,
    )
    def merge_pattern(name: str, body: MergeIn, store: Store) -> RederiveResult:
        def change(patterns: list[SpanPattern]) -> Applied:
            source = _resolved(store, patterns, name)
            target = _resolved(store, patterns, body.into.strip())
            return merge(patterns, [source.name], target.name)

        return apply(store, change, body.author.strip() or "api")

    return router
