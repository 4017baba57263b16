"""A pattern's statistics as one line of a card: ``6600/h p95 21ms err 1% codes 402,502``.

Numbers tokenize poorly (``0.62`` is three tokens), so a card has few of them, rounded to
what naming and judging a pattern needs: the rate and p95 to two digits, the error rate
when it is at least half a percent, the failing status codes, the commonest exception.
Successful codes are left out: they are what the rest of the spans did.
"""

from __future__ import annotations

import math
import re

from app.classify.figures import GRPC_CODES, MIN_RATE_WINDOW_S
from app.discovery.patterns import SpanPattern
from app.redact import redact_text

CODES = 2
GRPC_FAILURES = frozenset(GRPC_CODES[1:])
"""Every gRPC status by name but OK."""
_EXCEPTION_NAMESPACE = re.compile(r"^.*(?:\.|::)")
"""``com.shop.payment.CardDeclinedException`` reads ``CardDeclinedException``."""


def stats_line(pattern: SpanPattern) -> str:
    stats = pattern.stats
    seen_s = (stats.last_seen_unix_nano - stats.first_seen_unix_nano) / 1e9
    if seen_s >= MIN_RATE_WINDOW_S:  # a rate over a few seconds says nothing: count instead
        per_hour = stats.rate_per_s * 3600
        parts = [f"{_two_digits(per_hour)}/h" if per_hour >= 0.5 else "<1/h"]
    else:
        parts = [f"{stats.count} span" + ("s" if stats.count != 1 else "")]
    parts.append(f"p95 {_rough_duration(stats.quantile_ms(0.95))}")
    percent = stats.error_rate * 100
    if percent >= 0.5:  # rarer errors change neither a name nor a verdict
        parts.append(f"err {_half_up(percent)}%")
    failing = [shown for code, _ in stats.status_codes.most_common() if (shown := _failing(code))][
        :CODES
    ]
    if failing:
        parts.append("codes " + ",".join(failing))
    if stats.exception_types:
        kind = redact_text(stats.exception_types.most_common(1)[0][0])
        parts.append(f"exc {_EXCEPTION_NAMESPACE.sub('', ' '.join(kind.split()))[:60]}")
    return " ".join(parts)


def _failing(code: str) -> str | None:
    """The code as shown when it is a failure: an HTTP status of 400 and up (``404``, also
    when sent as ``404.0``), a gRPC status other than OK (``5`` or ``NOT_FOUND``); else None
    (successes, and the counter's ``other``)."""
    try:
        number = float(code)
    except ValueError:
        name = code.strip().upper()
        return name if name in GRPC_FAILURES else None
    if not number.is_integer():
        return None
    status = int(number)
    return str(status) if status >= 400 or 1 <= status <= 16 else None


def _two_digits(value: float) -> int:
    """``6574`` reads ``6600``: fewer tokens, and no less to name a pattern by."""
    if value < 100:
        return _half_up(value)
    scale = 10 ** (len(str(_half_up(value))) - 2)
    return _half_up(value / scale) * scale


def _half_up(value: float) -> int:
    """12.5 reads 13, as people round (``round`` gives 12)."""
    return math.floor(value + 0.5)


def _rough_duration(ms: float) -> str:
    """``<1ms``, ``22ms``, ``2700ms``, ``14s``."""
    if ms < 1:
        return "<1ms"
    rounded = _two_digits(ms)
    return f"{rounded}ms" if rounded < 10_000 else f"{_two_digits(ms / 1000)}s"
