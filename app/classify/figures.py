"""A pattern's numbers as a person quotes them: ``about 2.1k calls/h, p95 412 ms, 1.2% errors,
mostly 402``.

Rates are rounded to two significant figures (they are "about" anyway), per second from one
a second up, else per hour, else per day. Durations keep three figures up to a second, then
turn into seconds and minutes. Error rates keep one decimal below 10%.

Which status codes are errors follows the semantic conventions: for HTTP, 5xx on the server
side and 4xx or 5xx on the client side (a server that answers 404 did its job); for gRPC,
any code but ``OK`` on the client side and ``UNKNOWN``, ``DEADLINE_EXCEEDED``,
``UNIMPLEMENTED``, ``INTERNAL``, ``UNAVAILABLE`` and ``DATA_LOSS`` on the server side.
Failures that are no errors (a server's 404, a gRPC server's ``NOT_FOUND``) are shown
apart when they are at least ``SHOWN_FAILURE_SHARE`` of the answers.
"""

from __future__ import annotations

from collections import Counter

from app.discovery.stats import OTHER, PatternStats

SHOWN_FAILURE_SHARE = 0.01
MIN_RATE_WINDOW_S = 60
"""A rate needs a minute of spans behind it; over less, the count is said instead."""

GRPC_CODES = (
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
)
_GRPC_SERVER_ERRORS = frozenset({2, 4, 12, 13, 14, 15})


def _trim(number: str) -> str:
    return number[:-2] if number.endswith(".0") else number


def amount_text(value: float) -> str:
    """Two significant figures: ``2.1k``, ``980``, ``13``, ``2.5``, ``0.044``, ``1.2M``."""
    if value >= 1e6:
        scaled = value / 1e6
        return (_trim(f"{scaled:.1f}") if scaled < 9.95 else f"{scaled:.0f}") + "M"
    if value >= 1e3:
        scaled = value / 1e3
        if scaled >= 999.5:
            return amount_text(1e6)
        return (_trim(f"{scaled:.1f}") if scaled < 9.95 else f"{scaled:.0f}") + "k"
    if value >= 100:
        rounded = round(value, -1)
        return amount_text(rounded) if rounded >= 1000 else f"{rounded:.0f}"
    if value >= 9.95:
        return f"{value:.0f}"
    if value >= 0.1:
        return _trim(f"{value:.1f}")
    return f"{value:.2g}"


def rate_text(stats: PatternStats, unit: str) -> str:
    """``about 13 requests/s``, ``about 980 calls/h``, ``about 2 queries/day``; ``seen once``."""
    if stats.count == 0:
        return "not seen yet"
    if stats.count == 1:
        return "seen once"
    seen_s = (stats.last_seen_unix_nano - stats.first_seen_unix_nano) / 1e9
    if seen_s < MIN_RATE_WINDOW_S:  # 2 spans 0.6 ms apart are not "3.3k/s": say how many
        return f"seen {stats.count:,} times in {duration_text(seen_s * 1000)}"
    per_s = stats.rate_per_s
    if per_s >= 0.995:
        return _about(per_s, unit, "s")
    per_h = per_s * 3600
    if per_h >= 0.995:
        return _about(per_h, unit, "h")
    return _about(per_h * 24, unit, "day")


def _about(value: float, unit: str, per: str) -> str:
    amount = amount_text(value)
    if amount == "1":  # one call, one query
        unit = unit[:-3] + "y" if unit.endswith("ies") else unit.removesuffix("s")
    return f"about {amount} {unit}/{per}"


def duration_text(ms: float) -> str:
    """``0.62 ms``, ``4 ms``, ``412 ms``, ``1.53 s``, ``12.4 s``, ``3.5 min``."""
    if ms < 0.995:
        return f"{ms:.2f} ms"
    if ms < 9.95:
        return f"{_trim(f'{ms:.1f}')} ms"
    if ms < 999.5:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 9.995:
        return f"{seconds:.2f} s"
    if seconds < 99.95:
        return f"{seconds:.1f} s"
    if seconds < 119.5:
        return f"{seconds:.0f} s"
    return f"{_trim(f'{seconds / 60:.1f}')} min"


def percent_text(fraction: float) -> str:
    """``0%``, ``<0.1%``, ``1.2%``, ``13%``."""
    if fraction <= 0:
        return "0%"
    percent = fraction * 100
    if percent < 0.05:
        return "<0.1%"
    if percent < 9.95:
        return f"{percent:.1f}%"
    return f"{percent:.0f}%"


def code_text(code: str, rpc: bool) -> str:
    """A status code as people say it: ``404``; gRPC's ``14`` as ``UNAVAILABLE``."""
    if rpc and code.isdigit() and int(code) < len(GRPC_CODES):
        return GRPC_CODES[int(code)]
    return code


def _is_failure(code: str, rpc: bool) -> bool:
    if rpc:
        return code not in ("0", "OK", "ok")
    return code.isdigit() and int(code) >= 400


def _is_error(code: str, rpc: bool, server: bool) -> bool:
    if not _is_failure(code, rpc):
        return False
    if not code.isdigit():
        return True
    number = int(code)
    if rpc:
        return not server or number in _GRPC_SERVER_ERRORS or number >= len(GRPC_CODES)
    return not server or number >= 500


def _top(counter: Counter[str]) -> str | None:
    """The most common key (the first in sort order among equals), ``other`` aside."""
    ranked = sorted((-n, key) for key, n in counter.items() if key != OTHER and n > 0)
    return ranked[0][1] if ranked else None


def outcome_text(stats: PatternStats, *, rpc: bool, server: bool) -> str:
    """``no errors``; ``1.2% errors, mostly 502``; ``0.1% errors, mostly 503; 2.0% answered 404``.

    ``rpc``: status codes are RPC codes; ``server``: the pattern answers rather than calls.
    """
    codes = stats.status_codes
    errors = Counter({c: n for c, n in codes.items() if _is_error(c, rpc, server)})
    if stats.error_count == 0:
        text = "no errors"
    else:
        text = f"{percent_text(stats.error_rate)} errors"
        code = _top(errors)
        exception = _top(stats.exception_types)
        if code and exception:
            text += f", mostly {code_text(code, rpc)} ({exception})"
        elif code or exception:
            text += f", mostly {code_text(code, rpc) if code else exception}"
    failures = Counter({c: n for c, n in codes.items() if _is_failure(c, rpc) and c not in errors})
    failure = _top(failures)
    if failure is not None and stats.count:
        share = failures[failure] / stats.count
        if share >= SHOWN_FAILURE_SHARE:
            text += f"; {percent_text(share)} answered {code_text(failure, rpc)}"
    return text
