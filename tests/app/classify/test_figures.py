"""Numbers as descriptions quote them, and which status codes count as errors."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from app.classify.figures import (
    amount_text,
    code_text,
    duration_text,
    outcome_text,
    percent_text,
    rate_text,
)
from app.discovery.stats import PatternStats

START_NS = 1_700_000_000_000_000_000


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.044, "0.044"),
        (0.27, "0.3"),
        (2.5, "2.5"),
        (3.0, "3"),
        (9.96, "10"),  # rounding never shows 10.0
        (13.3, "13"),
        (979.2, "980"),
        (996, "1k"),  # 1000 after rounding: thousands
        (2106, "2.1k"),
        (9_960, "10k"),
        (13_342, "13k"),
        (999_600, "1M"),
        (1_240_000, "1.2M"),
        (25_000_000, "25M"),
    ],
)
def test_amounts_keep_two_significant_figures(value: float, text: str) -> None:
    assert amount_text(value) == text


def stats(count: int, seconds: float, errors: int = 0) -> PatternStats:
    return PatternStats(
        count=count,
        error_count=errors,
        first_seen_unix_nano=START_NS,
        last_seen_unix_nano=START_NS + int(seconds * 1e9),
    )


@pytest.mark.parametrize(
    ("count", "seconds", "text"),
    [
        (36_000, 3600, "about 10 calls/s"),
        (3_600, 3600, "about 1 call/s"),
        (3_000, 3600, "about 3k calls/h"),  # below one a second: per hour
        (2_106, 3600, "about 2.1k calls/h"),
        (980, 3600, "about 980 calls/h"),
        (12, 7 * 86400, "about 1.7 calls/day"),  # below one an hour: per day
        (1, 0, "seen once"),
        (0, 0, "not seen yet"),
    ],
)
def test_rates_per_second_hour_or_day(count: int, seconds: float, text: str) -> None:
    assert rate_text(stats(count, seconds), "calls") == text


def test_one_of_a_unit_is_singular() -> None:
    assert rate_text(stats(3_600, 3600), "queries") == "about 1 query/s"
    assert rate_text(stats(24, 86400), "requests") == "about 1 request/h"


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0.0, "0.00 ms"),
        (0.617, "0.62 ms"),
        (1.0, "1 ms"),
        (4.04, "4 ms"),
        (6.83, "6.8 ms"),
        (9.97, "10 ms"),
        (412.4, "412 ms"),
        (999.7, "1.00 s"),
        (1533.1, "1.53 s"),
        (12_400, "12.4 s"),
        (99_990, "100 s"),
        (210_000, "3.5 min"),
    ],
)
def test_durations(ms: float, text: str) -> None:
    assert duration_text(ms) == text


@pytest.mark.parametrize(
    ("fraction", "text"),
    [
        (0.0, "0%"),
        (0.0004, "<0.1%"),
        (0.0012, "0.1%"),
        (0.012, "1.2%"),
        (0.0996, "10%"),
        (0.127, "13%"),
        (1.0, "100%"),
    ],
)
def test_percentages(fraction: float, text: str) -> None:
    assert percent_text(fraction) == text


@pytest.mark.parametrize(
    ("code", "rpc", "text"),
    [("404", False, "404"), ("14", True, "UNAVAILABLE"), ("0", True, "OK"), ("99", True, "99")],
)
def test_status_codes_as_people_say_them(code: str, rpc: bool, text: str) -> None:
    assert code_text(code, rpc) == text


def outcome(
    codes: dict[str, int],
    errors: int,
    *,
    count: int = 1000,
    exceptions: dict[str, int] | None = None,
    rpc: bool = False,
    server: bool = False,
) -> str:
    figures = stats(count, 3600, errors)
    figures.status_codes = Counter(codes)
    figures.exception_types = Counter(exceptions or {})
    return outcome_text(figures, rpc=rpc, server=server)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"codes": {"200": 1000}, "errors": 0}, "no errors"),
        # a client: 4xx are errors
        ({"codes": {"200": 880, "402": 20, "502": 100}, "errors": 120}, "12% errors, mostly 502"),
        # a server: 4xx are answers, shown apart from 1% up; 5xx are its errors
        (
            {"codes": {"200": 960, "404": 30, "503": 10}, "errors": 10, "server": True},
            "1.0% errors, mostly 503; 3.0% answered 404",
        ),
        (
            {"codes": {"200": 995, "404": 5}, "errors": 0, "server": True},
            "no errors",  # 0.5% of 404s: not worth a mention
        ),
        # the exception says why, next to the code
        (
            {
                "codes": {"200": 986, "500": 14},
                "errors": 14,
                "server": True,
                "exceptions": {"RedisTimeoutException": 14},
            },
            "1.4% errors, mostly 500 (RedisTimeoutException)",
        ),
        # no status code at all (a query): the exception alone
        (
            {"codes": {}, "errors": 2, "exceptions": {"DeadlockDetected": 2, "other": 9}},
            "0.2% errors, mostly DeadlockDetected",
        ),
        # gRPC: a server's NOT_FOUND is an answer, INTERNAL an error; a client's are both errors
        (
            {"codes": {"0": 970, "5": 20, "13": 10}, "errors": 10, "rpc": True, "server": True},
            "1.0% errors, mostly INTERNAL; 2.0% answered NOT_FOUND",
        ),
        (
            {"codes": {"0": 970, "5": 20, "13": 10}, "errors": 30, "rpc": True},
            "3.0% errors, mostly NOT_FOUND",
        ),
    ],
)
def test_outcomes(kwargs: dict, text: str) -> None:
    assert outcome(**kwargs) == text


def test_a_rate_needs_a_minute_of_spans_behind_it(make_span: Any, cluster: Any) -> None:
    close = [make_span("work", span_id=i, start_ms=i * 0.3) for i in range(1, 3)]
    (pattern,) = cluster(close)
    assert rate_text(pattern.stats, "calls") == "seen 2 times in 1.3 ms"  # not "1.5k/s"
    spread = [make_span("work", span_id=i, start_ms=i * 60_000.0) for i in range(1, 5)]
    (pattern,) = cluster(spread)
    assert rate_text(pattern.stats, "calls") == "about 80 calls/h"
