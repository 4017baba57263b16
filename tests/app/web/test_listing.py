"""The patterns page's list: filters, search, sorting, grouping by service, pages."""

from __future__ import annotations

import pytest

from app.classify.verdict import Category, Verdict
from app.discovery.heads import PatternHead
from app.web.catalog import Gist
from app.web.listing import PAGE_SIZE, ListQuery, list_view


def head(
    pattern_id: int,
    name: str,
    service: str,
    *,
    kind: str = "server",
    operation: str = "GET /",
    count: int = 10,
    errors: int = 0,
    p99_ms: float = 1.0,
    merged_into: int | None = None,
) -> PatternHead:
    return PatternHead(
        id=pattern_id,
        name=name,
        service=service,
        span_kind=kind,
        family="http_server",
        operation=operation,
        matcher_fields=(),
        merged_into=merged_into,
        parents={},
        children={},
        hints={},
        count=count,
        error_count=errors,
        first_seen_unix_nano=0,
        last_seen_unix_nano=0,
        p50_ms=p99_ms / 2,
        p99_ms=p99_ms,
    )


HEADS = [
    head(0, "http_server_cart_get_cart", "cart", count=40, p99_ms=4.0),
    head(1, "redis_cache_get_cart", "cart", kind="client", operation="GET cart:{id}", count=90),
    head(2, "http_call_stripe_post_charges", "payment", kind="client", count=17, errors=2),
    head(3, "http_server_payment_post_payments", "payment", count=17, p99_ms=700.0),
    head(4, "http_server_cart_get_healthz", "cart", count=4, operation="GET /healthz"),
    head(5, "old_merged_away", "cart", merged_into=0),
    head(6, "emptied_by_a_split", "cart", count=0),
]
GISTS = {
    0: Gist("cart serves GET /v1/cart", Category.HTTP_SERVER, Verdict.KEEP),
    1: Gist("cart reads the cart from Redis", Category.CACHE, Verdict.KEEP),
    2: Gist("payment charges the card at Stripe", Category.HTTP_CALL, Verdict.KEEP),
    4: Gist("health check probe", Category.HTTP_SERVER, Verdict.NOISE),
}


def names(query: ListQuery, order: list[int] | None = None) -> list[str]:
    view = list_view(HEADS, GISTS, query, order)
    return [row.head.name for group in view.groups for row in group.rows]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # grouped by service (alphabetical), busiest first within each
        (
            ListQuery(),
            [
                "redis_cache_get_cart",
                "http_server_cart_get_cart",
                "http_server_cart_get_healthz",
                "http_call_stripe_post_charges",
                "http_server_payment_post_payments",
            ],
        ),
        (
            ListQuery(service="payment", sort="p99"),
            ["http_server_payment_post_payments", "http_call_stripe_post_charges"],
        ),
        (
            ListQuery(kind="client", grouped=False),
            ["redis_cache_get_cart", "http_call_stripe_post_charges"],
        ),
        (ListQuery(category="cache"), ["redis_cache_get_cart"]),
        (ListQuery(verdict="noise"), ["http_server_cart_get_healthz"]),
        # no classification yet
        (ListQuery(verdict="unclassified"), ["http_server_payment_post_payments"]),
        # every word, in name, operation or description
        (ListQuery(q="stripe card"), ["http_call_stripe_post_charges"]),
        (ListQuery(q="healthz"), ["http_server_cart_get_healthz"]),
        (ListQuery(q="nothing matches this"), []),
        # one list, the highest error rate first, then by name
        (
            ListQuery(sort="errors", grouped=False),
            [
                "http_call_stripe_post_charges",
                "http_server_cart_get_cart",
                "http_server_cart_get_healthz",
                "http_server_payment_post_payments",
                "redis_cache_get_cart",
            ],
        ),
        (
            ListQuery(sort="p99", grouped=False),
            [
                "http_server_payment_post_payments",
                "http_server_cart_get_cart",
                "http_call_stripe_post_charges",
                "http_server_cart_get_healthz",
                "redis_cache_get_cart",
            ],
        ),
    ],
)
def test_filters_and_order(query: ListQuery, expected: list[str]) -> None:
    assert names(query) == expected


def test_merged_and_emptied_patterns_are_never_listed() -> None:
    view = list_view(HEADS, GISTS, ListQuery())
    assert view.total_patterns == 5 and view.matched == 5
    assert dict(view.service_counts) == {"cart": 3, "payment": 2}


def test_search_by_meaning_keeps_the_index_order_and_the_filters() -> None:
    order = [3, 2, 5, 1]  # nearest first; the merged one is left out
    assert names(ListQuery(q="card payments", semantic=True), order) == [
        "http_server_payment_post_payments",
        "http_call_stripe_post_charges",
        "redis_cache_get_cart",
    ]
    assert names(ListQuery(q="card payments", semantic=True, kind="client"), order) == [
        "http_call_stripe_post_charges",
        "redis_cache_get_cart",
    ]


def test_groups_carry_service_totals_and_continue_across_pages() -> None:
    many = [
        head(i, f"pattern_{i:04d}", "big" if i < 250 else "small", count=1000 - i)
        for i in range(300)
    ]
    first = list_view(many, {}, ListQuery())
    assert first.pages == 2 and first.matched == 300
    assert [g.service for g in first.groups] == ["big"]
    assert len(first.groups[0].rows) == PAGE_SIZE and first.groups[0].patterns == 250
    second = list_view(many, {}, ListQuery(page=2))
    assert [(g.service, g.continued, len(g.rows)) for g in second.groups] == [
        ("big", True, 50),
        ("small", False, 50),
    ]
    beyond = list_view(many, {}, ListQuery(page=99))
    assert beyond.page == 2


def test_query_parameters_leave_out_defaults() -> None:
    assert ListQuery().params() == {}
    query = ListQuery(q="cart", semantic=True, grouped=False, sort="p99")
    assert query.params(page=3) == {
        "q": "cart",
        "sort": "p99",
        "page": "3",
        "semantic": "1",
        "group": "none",
    }
    assert not ListQuery(sort="p99").filtered and ListQuery(kind="client").filtered
