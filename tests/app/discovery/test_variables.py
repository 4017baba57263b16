"""Variables learned from the spans: ids of shapes no rule knows fold into one pattern."""

from __future__ import annotations

import random
import string
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.discovery.cluster import PatternClusterer
from app.discovery.normalize import normalize
from app.discovery.operation import Family
from app.discovery.overrides import OverrideError
from app.discovery.rederive import keep_literal
from app.discovery.run import DiscoveryRun, file_batches, files_source, replay_batches
from app.discovery.store import PatternStore
from app.discovery.variables import Group, decide, placeholder_name
from connectors.otlp import encode_otlp_json
from connectors.spans import Span, SpanKind

_ids = iter(range(1, 10**9))


def _span(
    url: str | None = None,
    *,
    name: str = "GET",
    kind: SpanKind = SpanKind.CLIENT,
    parent: Span | None = None,
    attributes: dict | None = None,
) -> Span:
    number = next(_ids)
    trace = parent.trace_id if parent else f"{number:032x}"
    return Span(
        trace_id=trace,
        span_id=f"{number:016x}",
        parent_span_id=parent.span_id if parent else None,
        name=name,
        kind=kind,
        start_unix_nano=1_795_000_000_000_000_000 + number * 1_000_000,
        end_unix_nano=1_795_000_000_000_000_000 + number * 1_000_000 + 5_000_000,
        attributes=attributes
        if attributes is not None
        else {"http.request.method": "GET", "url.full": url},
        resource={"service.name": "shop"},
    )


def _letters(rng: random.Random, size: int = 10) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(size))


def _live(clusterer: PatternClusterer) -> dict[str, int]:
    return {p.operation: p.stats.count for p in clusterer.patterns if p.merged_into is None}


# --- the evidence ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({f"id{i}": 1 for i in range(40)}, None),  # 40 spans: too few to judge
        ({f"id{i}": 1 for i in range(50)}, ()),  # ids: every value new
        ({"x": 2, **{f"id{i}": 1 for i in range(50)}}, None),  # x may be a sibling: wait
        ({"x": 2, **{f"id{i}": 1 for i in range(94)}}, ()),  # ... it is not
        ({"en": 40, "de": 30, "fr": 30, "ja": 20, "es": 20}, None),  # five stable locales
        ({"search": 40, **{f"id{i}": 1 for i in range(100)}}, ("search",)),  # a sibling
        ({f"tpl{i}": 8 for i in range(12)}, None),  # a dozen templates: each seen often
        ({"{id}": 100, "a": 1, "b": 1, "c": 1}, ()),  # beside a shape rule's ids
        ({"{id}": 100, "a": 1, "b": 1}, None),  # two could be words
        ({f"v{i}": 3 for i in range(64)}, ()),  # 64 rare values, repeated or not
    ],
)
def test_which_positions_are_variables(counts: dict[str, int], expected: object) -> None:
    assert decide(counts) == expected


@pytest.mark.parametrize(
    ("pieces", "kind", "expected"),
    [
        (("GET /", "carts", "/", None, "/items"), "path", "{cart_id}"),
        (("GET /", "categories", "/", None, ""), "path", "{category_id}"),
        (("redis GET ", "session", ":", None, ""), "key", "{session_id}"),
        (("GET /", "api", "/", None, ""), "path", "{id}"),
        (("GET /", "v2", "/", None, ""), "path", "{id}"),
        (("", "process", " ", None, ""), "name", "{id}"),  # span names: the word seldom fits
        (("kafka publish ", "events", ".", None, ""), "destination", "{id}"),
    ],
)
def test_placeholders_are_named_after_the_word_before_them(
    pieces: tuple, kind: str, expected: str
) -> None:
    assert placeholder_name(pieces, 1, kind) == expected


# --- discovery learns them ---------------------------------------------------------------------


def test_ids_of_an_unknown_shape_fold_into_one_pattern_with_every_span() -> None:
    rng = random.Random(1)
    clusterer = PatternClusterer(normalize)
    spans = [_span(f"http://cart:8080/carts/c_{_letters(rng)}/items") for _ in range(300)]
    clusterer.accept(spans)
    assert _live(clusterer) == {"GET cart:8080 /carts/{cart_id}/items": 300}
    (pattern,) = [p for p in clusterer.patterns if p.merged_into is None]
    assert pattern.name == "shop_client_get_cart_carts_items"
    assert all(pattern.matches(span) for span in spans)
    (matcher,) = [m for m in pattern.matchers if m.field_name == "url.full"]
    assert matcher.match_value == "https?://cart:8080/carts/[^/?#]+/items(?:[?#].*)?"
    # the patterns made before the evidence was in keep their names, pointing to it
    folded = [p for p in clusterer.patterns if p.merged_into is not None]
    assert folded and all(p.merged_into == pattern.id for p in folded)


def test_the_ids_a_shape_rule_missed_join_the_pattern_it_made() -> None:
    rng = random.Random(2)
    clusterer = PatternClusterer(normalize)
    # base36 ids: most hold a digit (a shape rule sees an id), some do not
    spans = [_span(f"http://cart/orders/ord_{rng.randrange(10**9)}x") for _ in range(200)]
    spans += [_span(f"http://cart/orders/ord_{_letters(rng)}") for _ in range(6)]
    clusterer.accept(spans)
    assert _live(clusterer) == {"GET cart /orders/{order_id}": 206}
    assert clusterer.patterns[0].operation == "GET cart /orders/{order_id}"  # it stayed


def test_stable_values_stay_literal_and_a_frequent_sibling_stays_apart() -> None:
    rng = random.Random(3)
    clusterer = PatternClusterer(normalize)
    spans = []
    for index in range(800):
        locale = ["en-US", "de-DE", "fr-FR", "ja-JP", "es-ES"][index % 5]
        spans.append(_span(f"https://cdn.shop.io/i18n/{locale}/strings"))
        order = "search?q=tea" if index % 4 == 0 else _letters(rng, 8)
        spans.append(_span(f"http://cart/orders/{order}"))
    clusterer.accept(spans)
    live = _live(clusterer)
    assert {k: v for k, v in live.items() if "i18n" in k} == {
        f"GET cdn.shop.io /i18n/{locale}/strings": 160
        for locale in ["en-US", "de-DE", "fr-FR", "ja-JP", "es-ES"]
    }
    assert live["GET cart /orders/search"] == 200
    assert live["GET cart /orders/{order_id}"] == 600
    general = next(p for p in clusterer.patterns if p.operation == "GET cart /orders/{order_id}")
    assert not general.matches(_span("http://cart/orders/search?q=green"))
    assert general.matches(_span("http://cart/orders/searches"))
    assert [m.match_value for (m,) in general.exclusions] == [
        "https?://cart(?::(?:80|443))?/orders/search(?:[?#].*)?"
    ]


def test_two_unknown_ids_in_one_path_fold_together() -> None:
    rng = random.Random(4)
    clusterer = PatternClusterer(normalize)
    owners = [_letters(rng, 6) for _ in range(200)]  # usernames: many, some seen twice
    spans = [
        _span(f"https://api.github.com/repos/{rng.choice(owners)}/{_letters(rng, 7)}/pulls")
        for _ in range(300)
    ]
    clusterer.accept(spans)
    assert _live(clusterer) == {"GET api.github.com /repos/{id}/{id}/pulls": 300}


def test_span_names_and_cache_keys_learn_too() -> None:
    rng = random.Random(5)
    clusterer = PatternClusterer(normalize)
    spans = []
    for _ in range(200):
        spans.append(_span(name=f"sync tenant {_letters(rng, 6)}", kind=SpanKind.INTERNAL))
        cart = f"{rng.choice(['blue', 'red', 'tall'])}-{_letters(rng, 5)}-{_letters(rng, 4)}"
        attributes = {"db.system": "redis", "db.statement": f"EXPIRE cart:{cart} 3600"}
        spans.append(_span(name="EXPIRE", attributes=attributes))
    clusterer.accept(spans)
    assert _live(clusterer) == {"sync tenant {id}": 200, "redis EXPIRE cart:{cart_id}": 200}


def test_edges_of_folded_patterns_move_to_the_pattern_they_folded_into() -> None:
    rng = random.Random(6)
    clusterer = PatternClusterer(normalize)
    spans = []
    for _ in range(120):
        parent = _span(name="checkout", kind=SpanKind.INTERNAL, attributes={})
        spans += [parent, _span(f"http://cart/carts/{_letters(rng)}", parent=parent)]
    clusterer.accept(spans)
    by_operation = {p.operation: p for p in clusterer.patterns if p.merged_into is None}
    parent, child = by_operation["checkout"], by_operation["GET cart /carts/{cart_id}"]
    assert parent.children == {child.id: 120} and child.parents == {parent.id: 120}


def test_a_hundred_thousand_distinct_values_keep_memory_and_patterns_small() -> None:
    rng = random.Random(7)
    clusterer = PatternClusterer(normalize)

    def batches() -> Iterator[list[Span]]:
        for _ in range(10):
            yield [_span(f"http://cart/carts/{_letters(rng, 12)}") for _ in range(10_000)]

    tracemalloc.start()
    for batch in batches():
        clusterer.accept(batch)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert _live(clusterer) == {"GET cart /carts/{cart_id}": 100_000}
    assert len(clusterer.patterns) < 100  # the ones made before the evidence was in
    assert peak < 200 * 2**20


def test_a_variable_learned_in_one_run_applies_in_the_next(tmp_path: Path) -> None:
    rng = random.Random(8)
    store = PatternStore(tmp_path / "patterns.sqlite")
    first = DiscoveryRun(store, normalize)
    first.accept([_span(f"http://cart/carts/{_letters(rng)}") for _ in range(100)])
    first.finish()
    assert [v.template for v in store.learned_variables()] == ["GET cart /carts/{cart_id}"]

    again = DiscoveryRun(PatternStore(tmp_path / "patterns.sqlite"), normalize)
    again.accept([_span(f"http://cart/carts/{_letters(rng)}") for _ in range(3)])
    again.finish()
    assert _live(again.clusterer) == {"GET cart /carts/{cart_id}": 103}
    assert again.report.new_patterns == 0


def test_a_refined_variable_replaces_the_stored_one(tmp_path: Path) -> None:
    rng = random.Random(13)
    store = PatternStore(tmp_path / "patterns.sqlite")
    run = DiscoveryRun(store, normalize)
    early = ["busycart"] * 12 + [_letters(rng) for _ in range(90)]
    run.accept([_span(f"http://cart/carts/{cart}") for cart in early])
    run.checkpoint()
    assert [v.literals for v in store.learned_variables()] == [(("busycart",),)]
    run.accept([_span(f"http://cart/carts/{_letters(rng)}") for _ in range(900)])
    run.finish()
    assert [v.literals for v in store.learned_variables()] == [((),)]


def test_a_position_that_looks_stable_later_stays_a_variable() -> None:
    rng = random.Random(9)
    clusterer = PatternClusterer(normalize)
    clusterer.accept([_span(f"http://cart/carts/{_letters(rng)}") for _ in range(100)])
    # later only three carts, over and over
    carts = [_letters(rng) for _ in range(3)]
    clusterer.accept([_span(f"http://cart/carts/{carts[i % 3]}") for i in range(300)])
    assert _live(clusterer) == {"GET cart /carts/{cart_id}": 400}


def test_a_group_judged_on_one_position_leaves_other_groups_alone() -> None:
    rng = random.Random(10)
    clusterer = PatternClusterer(normalize)
    spans = [_span(f"http://cart/carts/{_letters(rng)}") for _ in range(100)]
    spans += [_span(f"http://cart/users/{name}") for name in ("me", "admin") for _ in range(50)]
    clusterer.accept(spans)
    assert _live(clusterer) == {
        "GET cart /carts/{cart_id}": 100,
        "GET cart /users/me": 50,
        "GET cart /users/admin": 50,
    }


def test_groups_are_found_by_position() -> None:
    group = Group(("shop", "client", ("a",)), ("x", None, "y"), (0,), ("path",))
    assert group == Group(("shop", "client", ("a",)), ("x", None, "y"), (0,), ("path",))


def test_a_popular_id_kept_literal_at_first_folds_in_when_its_share_fades() -> None:
    rng = random.Random(11)
    clusterer = PatternClusterer(normalize)
    # early on one cart is busy: it looks like a literal sibling beside the others
    early = ["busycart"] * 12 + [_letters(rng) for _ in range(90)]
    rng.shuffle(early)
    clusterer.accept([_span(f"http://cart/carts/{cart}") for cart in early])
    assert "GET cart /carts/busycart" in _live(clusterer)
    # then it is one cart among many
    later = ["busycart"] * 3 + [_letters(rng) for _ in range(900)]
    clusterer.accept([_span(f"http://cart/carts/{cart}") for cart in later])
    assert _live(clusterer) == {"GET cart /carts/{cart_id}": 1005}
    (variable,) = [v for v in clusterer.variables.variables if v.template.endswith("{cart_id}")]
    assert variable.literals == ((),)


def test_a_literal_sibling_stays_as_the_spans_grow() -> None:
    rng = random.Random(12)
    clusterer = PatternClusterer(normalize)
    for _ in range(5):
        orders = ["search" if rng.random() < 0.1 else _letters(rng) for _ in range(400)]
        clusterer.accept([_span(f"http://cart/orders/{order}") for order in orders])
    live = _live(clusterer)
    assert set(live) == {"GET cart /orders/search", "GET cart /orders/{order_id}"}
    assert sum(live.values()) == 2000


def test_attributes_that_change_shape_mid_stream_lose_nothing(tmp_path: Path) -> None:
    rng = random.Random(14)
    shapes = [
        lambda cart: {"http.method": "GET", "http.url": f"http://cart/carts/{cart}"},
        lambda cart: {"http.request.method": "GET", "url.full": f"http://cart/carts/{cart}"},
        lambda cart: {"http.request.method": "GET", "server.address": "cart", "url.path": cart},
        lambda cart: {"http.request.method": "GET", "url.full": 42},  # not even a string
        lambda cart: {"http.request.method": ["GET"], "url.full": [f"http://cart/{cart}"]},
        lambda cart: {},
    ]
    store = PatternStore(tmp_path / "patterns.sqlite")
    spans = []
    for _ in range(3):  # three runs, each reloading what the last one saved
        run = DiscoveryRun(store, normalize)
        for shape in shapes:  # each batch in another shape, the same operation
            batch = [_span(attributes=shape(_letters(rng))) for _ in range(150)]
            run.accept(batch)
            spans += batch
        run.finish()
        store = PatternStore(tmp_path / "patterns.sqlite")
    patterns = [p for p in store.load() if p.merged_into is None]
    assert sum(p.stats.count for p in patterns) == len(spans) == 3 * 6 * 150
    assert len(patterns) < 20
    for span in spans[-6 * 150 :]:
        matching = [p for p in patterns if p.matches(span)]
        assert matching, span.attributes
        # A span no family can read (a URL that is not text, no attribute) is matched by
        # its name, which the HTTP spans of that name carry too: matchers cannot ask for
        # an attribute to be missing (``app.discovery.exclusions``). Among the patterns
        # read from attributes, each span is one's.
        from_attributes = [p for p in matching if p.family is not Family.GENERIC]
        assert len(from_attributes) <= 1, span.attributes


def _sources_of(store: PatternStore) -> list[dict[str, object]]:
    return [source for source, _ in store.runs()]


def test_a_placeholder_a_person_removed_is_split_back_and_never_learned_again(
    tmp_path: Path,
) -> None:
    rng = random.Random(15)
    reports = [f"{_letters(rng, 6)}-report" for _ in range(120)]  # they look like ids
    spans_file = tmp_path / "spans.jsonl"
    spans = [_span(f"http://api/reports/{report}") for report in reports]
    spans_file.write_bytes(encode_otlp_json(spans) + b"\n")
    store = PatternStore(tmp_path / "patterns.sqlite")
    run = DiscoveryRun(store, normalize, source=files_source([spans_file]))
    for batch in file_batches([spans_file], lambda problem: None):
        run.accept(batch)
    run.finish()
    (folded,) = [p for p in store.load() if p.merged_into is None]
    assert folded.operation == "GET api /reports/{report_id}"
    folded_before = [p for p in store.load() if p.merged_into == folded.id]
    assert folded_before

    applied = keep_literal(
        store.load(),
        folded.name,
        "report_id",
        overrides=[o.override for o in store.overrides()],
        normalizer=normalize,
        runs=_sources_of(store),
        replay=lambda source: replay_batches(source, lambda problem: None),
        variables=store.learned_variables(),
    )
    store.save_with_override(applied.patterns, applied.override, "ana")
    stored = store.load()
    live = {p.operation: p.stats.count for p in stored if p.merged_into is None and p.stats.count}
    assert live == {f"GET api /reports/{report}": 1 for report in reports}
    # the ones folded before come back under their names
    assert {p.name for p in stored if p.stats.count} >= {p.name for p in folded_before}

    # later spans, new kinds among them, stay apart: the variable is not learned again
    run = DiscoveryRun(store, normalize)
    more = [f"{_letters(rng, 6)}-report" for _ in range(60)]
    run.accept([_span(f"http://api/reports/{report}") for report in more])
    run.finish()
    live = {p.operation for p in store.load() if p.merged_into is None and p.stats.count}
    assert len(live) == 180 and "GET api /reports/{report_id}" not in live


def test_only_a_learned_placeholder_can_be_made_literal() -> None:
    clusterer = PatternClusterer(normalize)
    clusterer.accept([_span(f"http://api/orders/{n}") for n in range(100)])
    (pattern,) = [p for p in clusterer.patterns if p.merged_into is None]
    with pytest.raises(OverrideError, match="from the shape of its values"):
        keep_literal(
            clusterer.patterns, pattern.name, "id", overrides=[], normalizer=normalize,
            runs=[], replay=lambda source: None, variables=[],
        )  # fmt: skip
    with pytest.raises(OverrideError, match="has no {tenant}"):
        keep_literal(
            clusterer.patterns, pattern.name, "tenant", overrides=[], normalizer=normalize,
            runs=[], replay=lambda source: None, variables=[],
        )  # fmt: skip


def test_a_statement_of_a_megabyte_is_one_short_pattern() -> None:
    rows = ", ".join(f"({n}, 'row {n}')" for n in range(60_000))
    statement = f"INSERT INTO big (id, label) VALUES {rows}"
    assert len(statement) > 1_000_000
    attributes = {"db.system": "postgresql", "db.statement": statement}
    clusterer = PatternClusterer(normalize)
    clusterer.accept([_span(name="INSERT", attributes=attributes) for _ in range(3)])
    (pattern,) = clusterer.patterns
    assert pattern.stats.count == 3
    assert pattern.operation == "postgresql INSERT INTO big (id, label) VALUES (?, ?)"
    assert max(len(m.match_value) for m in pattern.matchers) <= 300
    assert pattern.matches(_span(name="INSERT", attributes=attributes))


def test_a_value_kept_literal_in_one_run_folds_in_a_later_one(tmp_path: Path) -> None:
    rng = random.Random(16)
    store = PatternStore(tmp_path / "patterns.sqlite")
    first = DiscoveryRun(store, normalize)
    early = ["busycart"] * 12 + [_letters(rng) for _ in range(90)]
    first.accept([_span(f"http://cart/carts/{cart}") for cart in early])
    first.finish()
    assert "GET cart /carts/busycart" in _live(first.clusterer)

    later = DiscoveryRun(PatternStore(tmp_path / "patterns.sqlite"), normalize)
    later.accept([_span(f"http://cart/carts/{_letters(rng)}") for _ in range(900)])
    later.finish()
    assert _live(later.clusterer) == {"GET cart /carts/{cart_id}": 1002}
