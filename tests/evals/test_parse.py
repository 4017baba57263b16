"""Reading numbers and names out of answers, as renderers and models write them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from evals import parse

OFFLINE = """\
@grpc_server_inventory_list_products: inventory serves ListProducts. About 860 requests/h, \
p95 269 ms, 1.7% errors.
Latency over 215 spans: p50 10 ms, p95 269 ms, p99 342 ms, max 1.02 s.
Slow from 2026-11-21 15:19 UTC to 2026-11-21 15:22 UTC: median 160 ms against 9.5 ms the \
rest of the time (16.8x); 37 spans (17%) fell in it. Where the extra 150 ms went: \
@postgres_query_select_products_by_category_id added 151 ms per span (1 call per span, \
median 6.0 ms -> 157 ms).
Errors: 3 of 215 spans (1.40%).

@postgres_query_select_products_by_category_id: inventory runs SELECT on products.
Latency over 215 spans: p99 339 ms.
215 spans from 2026-11-21 15:10 UTC to 2026-11-21 15:25 UTC, about 860 per hour."""


@pytest.mark.parametrize(
    ("reader", "text", "expected"),
    [
        (lambda t: parse.quantiles_ms(t, "p99"), "p99 342 ms", [342.0]),
        (lambda t: parse.quantiles_ms(t, "p99"), "the p99 latency is 0.34 s", [340.0]),
        (lambda t: parse.quantiles_ms(t, "p99"), "99th percentile: 1,200ms", [1200.0]),
        (lambda t: parse.quantiles_ms(t, "p50"), "median 0.91 ms", [0.91]),
        (lambda t: parse.quantiles_ms(t, "p95"), "p95 420 µs", [0.42]),
        (lambda t: parse.quantiles_ms(t, "p99"), "p95 342 ms", []),  # another quantile
        (parse.counts, "Latency over 1,215 spans", [1215.0]),
        (parse.counts, "it ran 1.2k queries", [1200.0]),
        (parse.counts, "Errors: 3 of 179 spans", [179.0, 179.0]),
        (parse.counts, "About 720 requests/h", []),  # a rate, not a count
        (parse.counts, "added 151 ms per span", []),  # a duration per span
        (parse.error_rates, "Errors: 3 of 179 spans (1.68%).", [0.0168]),
        (parse.error_rates, "No errors in 258 spans.", [0.0]),
        (parse.error_rates, "17% of spans fell in it.", []),  # a share, not errors
        (parse.error_counts, "Errors: 3 of 179 spans (1.68%).", [3.0]),
        (parse.error_counts, "42 of them failed", [42.0]),
        (parse.rates_per_hour, "about 16,025 per hour", [16025.0]),
        (parse.rates_per_hour, "About 4.5 requests/s", [16200.0]),
        (parse.rates_per_hour, "about 1k requests/h", [1000.0]),
        (parse.rates_per_hour, "12 calls a minute", [720.0]),
        (parse.factors, "(16.8x)", [16.8]),
        (parse.factors, "about 27 times slower", [27.0]),
        (parse.calls_per_parent, "4.4 queries per request", [4.4]),
        (parse.calls_per_parent, "(1 call per span, median", [1.0]),
        (parse.lags_s, "the consumer lags up to 88 s behind", [88.0]),
        (parse.lags_s, "p99 88 s", []),  # no lag said
    ],
)
def test_readers(reader: Callable[[str], list[float]], text: str, expected: list[float]) -> None:
    assert reader(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    [
        "from 15:19 UTC to 15:22 UTC",
        "Slow from 2026-11-21 15:19 UTC to 2026-11-21 15:22 UTC",
        "between 15:19 and 15:22",
    ],
)
def test_time_ranges_are_minutes_of_the_day(text: str) -> None:
    assert parse.clock_ranges(text) == [(15 * 60 + 19, 15 * 60 + 22)]


def test_a_name_is_named_whole_not_as_the_start_of_a_longer_one() -> None:
    text = "see @postgres_query_select_products_by_category_id"
    assert parse.names_pattern(text, "postgres_query_select_products_by_category_id")
    assert not parse.names_pattern(text, "postgres_query_select_products")
    bare = "the query postgres_query_select_products ran"
    assert parse.names_pattern(bare, "postgres_query_select_products")


def test_what_an_answer_says_about_a_pattern_excludes_other_patterns_numbers() -> None:
    query = "postgres_query_select_products_by_category_id"
    about_query = parse.about(OFFLINE, query)
    # its own paragraph, and the one sentence of the other paragraph that names it
    assert "p99 339 ms" in about_query and "added 151 ms per span" in about_query
    assert "p99 342 ms" not in about_query and "16.8x" not in about_query
    about_server = parse.about(OFFLINE, "grpc_server_inventory_list_products")
    assert "p99 342 ms" in about_server and "p99 339 ms" not in about_server


def test_a_paragraph_is_about_the_pattern_it_names_first_even_without_at() -> None:
    text = "The query a_b_c got slower; its caller @x_y_z too, p99 12 ms."
    assert parse.first_named(text, ["a_b_c", "x_y_z"]) == "a_b_c"
    assert parse.first_named(text) == "x_y_z"


def test_at_names_skip_addresses() -> None:
    assert parse.at_names("ask ops@example.com about @Checkout_DB.") == ["checkout_db"]


def test_excerpts_cut_at_a_word() -> None:
    assert parse.excerpt("one two three four", 9) == "one two ..."
    assert parse.excerpt("short") == "short"
