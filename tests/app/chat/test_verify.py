"""A model's numbers and names checked against the results it was given."""

from __future__ import annotations

import pytest

from app.chat.verify import MARK, checked_answer

RESULTS = [
    {
        "name": "postgres_query_select_orders",
        "latency_ms": {"p50": 1.41, "p99": 1990.2},
        "rate_per_s": 0.9203,
        "errors": {"rate": 0.0513, "count": 42},
        "first_seen_unix_s": 1795274100,  # 2026-11-21 15:15 UTC
        "slowest_traces": [{"trace_id": "a76e44a02dd2e06de3b50a92b581b1b9"}],
    }
]


@pytest.mark.parametrize(
    "said",
    [
        "@postgres_query_select_orders",
        "p50 1.4 ms",
        "p99 1.99 s",
        "p99 1,990 ms",
        "5.1% of its calls",
        "5.13%",
        "42 errors",
        "about 3,313 per hour",
        "55.2/min",
        "since 15:15",
        "on 2026-11-21",
        "trace a76e44a02dd2e06de3b50a92b581b1b9",
        "2 calls",  # a small count is a word, not a claim
    ],
)
def test_what_the_results_hold_stands_in_any_unit_it_reads_in(said: str) -> None:
    checked = checked_answer(f"It says {said}.", RESULTS)
    assert checked.unverified == [] and MARK not in checked.text


@pytest.mark.parametrize(
    ("said", "claim"),
    [
        ("@postgres_query_select_users", "@postgres_query_select_users"),
        ("p99 2.5 s", "2.5 s"),
        ("7.5% of calls", "7.5%"),
        ("at 16:40", "16:40"),
        ("on 2026-11-22", "2026-11-22"),
        ("trace 0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),
        ("1.4 s", "1.4 s"),  # 1.4 ms is held, not 1.4 s
        ("42 ms", "42 ms"),  # 42 is a count of errors, not a duration
    ],
)
def test_what_they_do_not_hold_is_marked_where_it_stands(said: str, claim: str) -> None:
    checked = checked_answer(f"It says {said}.", RESULTS)
    assert checked.unverified == [claim]
    assert f"{claim} {MARK}" in checked.text


def test_a_windows_length_is_held_as_its_start_and_end() -> None:
    window = [{"window": {"start_unix_s": 1795274100, "end_unix_s": 1795274700}}]
    assert checked_answer("Over the last 10 minutes, from 15:15.", window).unverified == []
    assert checked_answer("Over the last 12 minutes.", window).unverified == ["12 minutes"]
