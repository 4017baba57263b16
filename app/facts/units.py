"""Numbers as answers write them."""

from __future__ import annotations

from datetime import UTC, datetime

DAY_S = 86_400


def ms_text(value: float) -> str:
    """A duration: ``0.56 ms``, ``16 ms``, ``1.17 s``."""
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 10:
        return f"{value:.0f} ms"
    return f"{value:.2g} ms" if value < 1 else f"{value:.1f} ms"


def rate_text(per_s: float) -> str:
    """A rate: ``12.3/s`` when at least one a second, else ``42/min`` or ``3.5/h``."""
    if per_s <= 0:
        return "none"
    if per_s >= 1:
        return f"{per_s:,.1f}/s"
    if per_s * 60 >= 1:
        return f"{per_s * 60:,.1f}/min"
    return f"{per_s * 3600:,.1f}/h"


def time_span_text(start_s: int, end_s: int) -> str:
    """``2026-11-21 15:18–15:22 UTC``, or with both dates when it runs over midnight;
    seconds only when a short window needs them."""
    start = datetime.fromtimestamp(start_s, UTC)
    end = datetime.fromtimestamp(end_s, UTC)
    clock = "%H:%M:%S" if end_s - start_s < 600 and (start.second or end.second) else "%H:%M"
    if start.date() == end.date():
        return f"{start:%Y-%m-%d} {start.strftime(clock)}–{end.strftime(clock)} UTC"
    if end_s - start_s <= DAY_S and end == _midnight(end):  # "yesterday": up to its end
        return f"{start:%Y-%m-%d} {start.strftime(clock)}–24:00 UTC"
    return (
        f"{start:%Y-%m-%d} {start.strftime(clock)} UTC to {end:%Y-%m-%d} {end.strftime(clock)} UTC"
    )


def duration_text(seconds: int) -> str:
    """``40 seconds``, ``10 minutes``, ``1.5 hours``, ``16 days``: a length to read at a glance."""
    for unit, size in (("day", DAY_S), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            amount = round(seconds / size, 1)
            shown = f"{amount:g}"
            return f"{shown} {unit}{'' if shown == '1' else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def moment_text(unix_s: int) -> str:
    """``2026-11-21 15:25 UTC``."""
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%d %H:%M UTC")
