"""@mentions: finding them in text, and resolving each to one pattern or to suggestions."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import app.chat.mentions as mentions_module
from app.chat.mentions import MentionIndex, find_mentions, max_typos, osa_distance
from app.classify.run import classify_patterns, live_patterns
from app.classify.store import ClassificationStore
from app.discovery.normalize import normalize
from app.discovery.overrides import merge_into
from app.discovery.rederive import merge, split
from app.discovery.run import DiscoveryRun, replay_batches, sample_batches, sample_source
from app.discovery.store import PatternStore

# --- finding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("why is @postgres_query_select_orders slow?", ["postgres_query_select_orders"]),
        ("@Checkout_DB is slow", ["checkout_db"]),  # names are lower case
        (
            "(@in_parens), @after_comma: and @at_the_end.",
            ["in_parens", "after_comma", "at_the_end"],
        ),
        ("is it @a.b-c- or not", ["a.b-c"]),  # trailing "-" and "." end the sentence
        ("mail ana@example.com or email:bo@example.org", []),
        ("<@U024BE7LH> what about @checkout?", ["checkout"]),
        ("<@U024BE7LH|ana> and <!here> and <#C123|general>", []),
        ("see https://medium.com/@someone and <https://x.io/@a|the @docs>", []),
        ("`@in_code` and ``a ` @in_double_code`` but @outside", ["outside"]),
        ("```\n@in_a_fence\n``` then @after_the_fence", ["after_the_fence"]),
        ("an unclosed fence ```\n@never_closed", []),
        ("a lone ` backtick and @seen", ["seen"]),
        ("@here @channel @everyone are Slack's own", []),
        ("@@twice and @ alone and @", []),
        ("no at sign at all", []),
    ],
)
def test_mentions_are_found_outside_code_addresses_and_slack_markup(
    text: str, names: list[str]
) -> None:
    found = find_mentions(text)
    assert [m.name for m in found] == names
    for mention in found:
        assert text[mention.start : mention.end] == mention.raw
        assert mention.raw[0] == "@" and mention.raw[1:].lower() == mention.name


# --- resolving --------------------------------------------------------------------------------

NAMES = [
    "postgres_query_select_orders",
    "postgres_query_select_order_items",
    "postgres_query_select_products",
    "postgres_query_select_products_by_sku",
    "http_server_frontend_get_healthz",
    "http_server_checkout_get_healthz",
    "grpc_call_inventory_get_stock",
    "redis_cache_get_cart",
    "x_get_orders",
    "x_get_orders_2",
    "db_ping",
    "kafka_publish_orders_placed",
]
ALIASES = {
    "checkout_client_postgresql_select_orders": 0,
    "cart_client_redis_get_cart": 7,
}


@pytest.fixture(scope="module")
def index() -> MentionIndex:
    return MentionIndex(enumerate(NAMES), ALIASES)


@pytest.mark.parametrize(
    ("mentioned", "kind", "meant"),
    [
        ("postgres_query_select_orders", "exact", "postgres_query_select_orders"),
        ("@Postgres_Query_Select_Orders", "exact", "postgres_query_select_orders"),
        ("checkout_client_postgresql_select_orders", "alias", "postgres_query_select_orders"),
        ("postgres_query_select_ordres", "fuzzy", "postgres_query_select_orders"),
        ("postgres_qury_selct_orders", "fuzzy", "postgres_query_select_orders"),  # two typos
        ("cart_client_redis_get_crat", "fuzzy", "redis_cache_get_cart"),  # a typo of an alias
        ("db_pong", "fuzzy", "db_ping"),  # short: one typo
        ("grpc_call_inventory", "fuzzy", "grpc_call_inventory_get_stock"),  # unique words
        ("kafka_publish", "fuzzy", "kafka_publish_orders_placed"),
        ("postgres_query_select_products_by", "fuzzy", "postgres_query_select_products_by_sku"),
    ],
)
def test_a_mention_resolves_to_its_one_pattern(
    index: MentionIndex, mentioned: str, kind: str, meant: str
) -> None:
    resolution = index.resolve(mentioned)
    assert (resolution.kind, resolution.pattern_name) == (kind, meant)
    assert resolution.pattern_id == NAMES.index(meant)
    assert resolution.suggestions == ()


@pytest.mark.parametrize(
    ("mentioned", "kind", "suggestions"),
    [
        (  # the first words of several names: the shortest first
            "postgres_query_select",
            "ambiguous",
            (
                "postgres_query_select_orders",
                "postgres_query_select_products",
                "postgres_query_select_order_items",
                "postgres_query_select_products_by_sku",
            ),
        ),
        (  # one typo from x_get_orders_2, two from x_get_orders: not clearly one
            "x_get_orders_3",
            "ambiguous",
            ("x_get_orders_2", "x_get_orders"),
        ),
        (  # one typo from _orders, and the first words of _order_items
            "postgres_query_select_order",
            "ambiguous",
            ("postgres_query_select_orders", "postgres_query_select_order_items"),
        ),
        (  # one typo from each
            "http_server_chckout_get_healthz",
            "fuzzy",
            (),
        ),
        ("postgres_qury_selct_ordrs", "unknown", ("postgres_query_select_orders",)),  # 3 typos
        ("healthz_of_checkout", "unknown", ("http_server_checkout_get_healthz",)),
        ("zzzz_qqqq", "unknown", ()),
        ("db", "unknown", ()),  # too short for typos or words
        ("grpc", "unknown", ()),  # one word is never read as the start of a name
    ],
)
def test_an_unclear_mention_gets_suggestions_and_no_pattern(
    index: MentionIndex, mentioned: str, kind: str, suggestions: tuple[str, ...]
) -> None:
    resolution = index.resolve(mentioned)
    assert resolution.kind == kind
    if kind == "fuzzy":
        assert resolution.pattern_name == "http_server_checkout_get_healthz"
        return
    assert resolution.pattern_id is None and not resolution.resolved
    assert resolution.suggestions[: len(suggestions)] == suggestions
    assert len(resolution.suggestions) <= 5


def test_resolving_the_mentions_of_a_question(index: MentionIndex) -> None:
    text = "is @redis_cache_get_crat slower than `@db_ping` or @postgres_query_select?"
    resolved = [(m.name, r.kind, r.pattern_name) for m, r in index.resolve_mentions(text)]
    assert resolved == [
        ("redis_cache_get_crat", "fuzzy", "redis_cache_get_cart"),
        ("postgres_query_select", "ambiguous", None),
    ]


def test_aliases_that_name_a_live_pattern_or_no_pattern_are_ignored() -> None:
    index = MentionIndex([(1, "alpha_one"), (2, "beta_two")], {"alpha_one": 2, "gamma": 9})
    assert index.resolve("alpha_one").pattern_id == 1
    assert index.resolve("gamma").kind == "unknown"
    with pytest.raises(ValueError, match="unique"):
        MentionIndex([(1, "same_name"), (2, "same_name")])


# --- against a brute-force reference ----------------------------------------------------------


def _naive_osa(a: str, b: str) -> int:
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i, j in itertools.product(range(1, len(a) + 1), range(1, len(b) + 1)):
        rows[i][j] = min(
            rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + (a[i - 1] != b[j - 1])
        )
        if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
            rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


@given(
    st.text(alphabet="ab_c", max_size=12),
    st.text(alphabet="ab_c", max_size=12),
    st.integers(min_value=0, max_value=4),
)
def test_the_bounded_distance_is_the_optimal_string_alignment_distance(
    a: str, b: str, bound: int
) -> None:
    assert osa_distance(a, b, bound) == min(_naive_osa(a, b), bound + 1)


SAMPLE_NAMES = [
    "http_server_frontend_get_category",
    "internal_frontend_middleware_auth",
    "redis_cache_hgetall_session",
    "grpc_call_inventory_list_products",
    "grpc_server_inventory_list_products",
    "postgres_query_select_products_by_category_id",
    "postgres_query_select_inventory_by_sku",
    "http_server_frontend_get_products",
    "grpc_call_inventory_get_product",
    "grpc_server_inventory_get_product",
    "redis_cache_get_product_sku",
    "postgres_query_select_products_by_sku",
    "redis_cache_setex_product_sku",
    "http_server_search_get_related",
    "redis_cache_get_related_sku",
    "http_server_frontend_get_search",
    "http_call_search_get_search",
    "http_server_search_get_search",
    "redis_cache_get_search",
    "redis_cache_setex_search",
    "http_server_cart_get_cart",
    "http_call_cart_get_cart",
    "postgres_query_select_products",
    "postgres_query_insert_orders",
    "postgres_query_update_orders",
    "postgres_query_update_orders_by_id",
    "postgres_query_select_orders",
    "postgres_query_select_order_items",
    "kafka_publish_orders_placed",
    "kafka_process_orders_placed",
    "http_call_stripe_post_charges",
    "http_call_stripe_post_refunds",
    "http_server_checkout_get_healthz",
    "http_server_frontend_get_healthz",
    "http_server_search_get_healthz",
    "http_server_cart_get_healthz",
    "http_server_frontend_get_readyz",
    "http_server_checkout_get_readyz",
    "postgres_query_begin",
    "postgres_query_commit",
    "postgres_query_rollback",
]
SAMPLE_ALIASES = {
    "frontend_server_get_category_slug": 0,
    "inventory_client_postgresql_select_products_2": 11,
    "checkout_client_postgresql_select_orders": 26,
    "search_client_redis_setex_search_v2": 19,
}


def _reference(
    query: str, names: list[str] = SAMPLE_NAMES, aliases: dict[str, int] = SAMPLE_ALIASES
) -> tuple[str, int | None]:
    """What resolving should give, by brute force over every name and alias."""
    entries = [(name, i) for i, name in enumerate(names)] + list(aliases.items())
    if query in names:
        return "exact", names.index(query)
    if query in aliases:
        return "alias", aliases[query]
    tolerance = max_typos(len(query))
    distances: dict[int, int] = {}
    for name, pattern_id in entries:
        distances[pattern_id] = min(distances.get(pattern_id, 99), _naive_osa(query, name))
    ranked = sorted(distances.values())
    prefixed = set()
    if len(query.split("_")) >= 2 and all(query.split("_")):
        prefixed = {i for name, i in entries if name.startswith(query + "_")}
    if tolerance and ranked[0] <= tolerance:
        best = min(distances, key=distances.__getitem__)
        if ranked[1] >= ranked[0] + 2 and prefixed <= {best}:
            return "fuzzy", best
        return "ambiguous", None
    if len(prefixed) == 1:
        return "fuzzy", prefixed.pop()
    return ("ambiguous" if prefixed else "unknown"), None


@st.composite
def _misspelt(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from([*SAMPLE_NAMES, *SAMPLE_ALIASES]))
    chars = list(name)
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=max(len(chars) - 2, 0)))
        edit = draw(st.sampled_from(["substitute", "insert", "delete", "transpose", "cut"]))
        letter = draw(st.sampled_from("aeiorstnu_"))
        if edit == "substitute" and chars:
            chars[position] = letter
        elif edit == "insert":
            chars.insert(position, letter)
        elif edit == "delete" and len(chars) > 1:
            del chars[position]
        elif edit == "transpose" and len(chars) > 1:
            chars[position], chars[position + 1] = chars[position + 1], chars[position]
        elif edit == "cut":  # keep the first words only
            chars = list("_".join("".join(chars).split("_")[: max(position % 4, 1)]))
    return "".join(chars)


@settings(max_examples=250, deadline=None)
@given(_misspelt())
def test_resolution_agrees_with_brute_force(query: str) -> None:
    index = _sample_index()
    resolution = index.resolve(query)
    assert (resolution.kind, resolution.pattern_id) == _reference(query)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.text(alphabet="ab_", min_size=1, max_size=14), min_size=2, max_size=30, unique=True
    ),
    st.text(alphabet="ab_", max_size=14),
)
def test_resolution_agrees_with_brute_force_on_repetitive_names(
    names: list[str], query: str
) -> None:
    # Few letters: names full of repeated trigrams, many at one or two edits of each other.
    resolution = MentionIndex(enumerate(names)).resolve(query)
    assert (resolution.kind, resolution.pattern_id) == _reference(query, names, {})


_SAMPLE_INDEX: list[MentionIndex] = []


def _sample_index() -> MentionIndex:
    if not _SAMPLE_INDEX:
        _SAMPLE_INDEX.append(MentionIndex(enumerate(SAMPLE_NAMES), SAMPLE_ALIASES))
    return _SAMPLE_INDEX[0]


# --- at scale ---------------------------------------------------------------------------------


def _many_names(count: int) -> list[str]:
    systems = ["postgres_query", "redis_cache", "http_server", "http_call", "grpc_call"]
    verbs = ["get", "select", "update", "delete", "insert", "list", "post", "put"]
    services = (
        "billing ledger shipping catalog pricing reviews accounts search cart checkout "
        "payment inventory notification frontend gateway returns loyalty coupons fraud tax "
        "invoices wallet profile sessions media recommend analytics reports warehouse "
        "tracking support webhooks"
    ).split()
    objects = ["orders", "items", "users", "carts", "payments", "stock", "refunds", "sessions"]
    made = ("_".join(words) for words in itertools.product(systems, services, verbs, objects))
    return list(itertools.islice(made, count))


def test_a_typo_among_10000_names_looks_at_few_of_them(monkeypatch: pytest.MonkeyPatch) -> None:
    names = _many_names(10_000)
    assert len(set(names)) == 10_000
    index = MentionIndex(enumerate(names))
    compared: list[str] = []

    def counted(a: str, b: str, bound: int) -> int:
        compared.append(b)
        return osa_distance(a, b, bound)

    monkeypatch.setattr(mentions_module, "osa_distance", counted)
    meant = names[4321]
    typo = meant[:5] + meant[6] + meant[5] + meant[7:]  # two letters swapped
    resolution = index.resolve(typo)
    assert (resolution.kind, resolution.pattern_name) == ("fuzzy", meant)
    assert 0 < len(compared) < 100


# --- from the stores --------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> PatternStore:
    store = PatternStore(tmp_path / "patterns.sqlite")
    run = DiscoveryRun(store, normalize, source=sample_source(8, 120))
    for batch in sample_batches(8, 120):
        run.accept(batch)
    run.finish()
    classify_patterns(store)
    return store


def test_the_index_of_a_store_knows_names_old_names_and_merged_patterns(
    store: PatternStore,
) -> None:
    classifications = ClassificationStore(store)
    first, second, third = live_patterns(store.load())[:3]
    classified_name = first.name
    classifications.correct(first, "name", "team_orders_lookup", reason="ours", author="ana")
    patterns = store.load()
    merge_into(patterns[second.id], [patterns[third.id]], patterns)
    store.save(patterns)

    index = MentionIndex.from_store(store, classifications)

    assert len(index) == len(live_patterns(store.load()))
    assert index.resolve("team_orders_lookup").kind == "exact"
    for old in (classified_name, *classifications.aliases(first.id)):
        assert (index.resolve(old).kind, index.resolve(old).pattern_id) == ("alias", first.id)
    merged = index.resolve(third.name)
    assert (merged.kind, merged.pattern_id, merged.pattern_name) == (
        "alias",
        second.id,
        second.name,
    )
    for old in classifications.aliases(third.id):
        assert index.resolve(old).pattern_id == second.id
    for pattern in live_patterns(store.load()):
        for old in classifications.aliases(pattern.id):
            assert index.resolve(old).pattern_id == classifications.resolve(old)
    # A caller holding the loaded patterns already gets the same index.
    again = MentionIndex.from_store(store, classifications, loaded=store.load())
    assert again.resolve(third.name) == merged


def test_the_name_of_a_split_pattern_suggests_its_parts(store: PatternStore) -> None:
    classifications = ClassificationStore(store)
    target = next(
        p
        for p in live_patterns(store.load())
        if p.service == "frontend" and p.span_kind == "server"
    )
    applied = split(
        store.load(),
        target.name,
        "user_agent.original",
        resource=False,
        overrides=[],
        normalizer=normalize,
        runs=[source for source, _ in store.runs()],
        replay=lambda source: replay_batches(source, pytest.fail),
    )
    store.save_with_override(applied.patterns, applied.override, "ana")

    index = MentionIndex.from_store(store, classifications)
    resolution = index.resolve(target.name)
    parts = sorted(
        (p for p in store.load() if p.operation.startswith(target.operation + " [")),
        key=lambda p: -p.stats.count,
    )
    assert len(parts) > 1
    assert resolution.kind == "ambiguous" and not resolution.resolved
    assert list(resolution.suggestions) == [p.name for p in parts][: len(resolution.suggestions)]
    assert len(index) == len(live_patterns(store.load()))  # the split one is not live
    # Its parts merged back into one: the old name means that one again.
    names = [p.name for p in parts]
    merged = merge(store.load(), names[1:], names[0])
    store.save_with_override(merged.patterns, merged.override, "ana")
    again = MentionIndex.from_store(store, classifications).resolve(target.name)
    assert (again.kind, again.pattern_name) == ("alias", names[0])
