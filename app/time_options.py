"""Time windows as people type them in options (the CLI's and the API's): ``--since 1h``, or
``--start``/``--end`` in unix seconds or RFC 3339."""

from __future__ import annotations

import math
import re
import time
from datetime import datetime

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def now_s() -> float:
    """The wall clock, as one name that tests can replace."""
    return time.time()


def parse_duration_s(text: str) -> float:
    """``90s``, ``15m``, ``1h30m``, ``2d`` as seconds, as Go and Prometheus write durations."""
    compact = text.strip().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a duration such as 90s, 15m, 1h or 2d")
    seconds = sum(float(number) * _UNIT_S[unit] for number, unit in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return seconds


def parse_time_s(text: str) -> float:
    """Unix seconds (``1795274715``) or RFC 3339 (``2026-11-21T10:05:15Z``) as unix seconds."""
    value = text.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither unix seconds nor an RFC 3339 time such as 2026-11-21T10:05:15Z"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; add Z or one such as +01:00")
    return moment.timestamp()


def resolve_window(
    *, since: str | None, start: str | None, end: str | None, now: float
) -> tuple[int, int]:
    """The pull's window in whole unix seconds, widened outwards to whole seconds."""
    if since is not None and start is not None:
        raise ValueError("give either --since or --start, not both")
    if since is None and start is None:
        raise ValueError("give the window: --since 1h, or --start (and --end)")
    end_s = parse_time_s(end) if end is not None else now
    start_s = end_s - parse_duration_s(since) if since is not None else parse_time_s(start or "")
    window = (math.floor(start_s), math.ceil(end_s))
    if window[1] <= window[0]:
        raise ValueError(f"the window ends ({window[1]}) before it starts ({window[0]})")
    return window
