"""A model's answer checked against the tool results it was given.

Every number (with its unit), clock time, date, trace id and ``@pattern`` in the model's
text is looked for in those results: a number as the facts hold it or as it reads in another
unit (a fraction as a percentage, milliseconds as seconds, a rate per second per minute or
hour), to the precision the text gives it; a time or a date as one of the results'
timestamps; a name or a trace id as written there. What cannot be found is marked
``[unverified]`` where it stands, never shown as fact. Small counts without a unit ("2
calls", a list's "1.") are words, not claims, and are left alone.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MARK = "[unverified]"
SMALL = 10
"""Integers up to this, without a unit, are words ("two calls"), not checked."""
_NUMBER = re.compile(
    r"(?<![\w.:@/-])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?"
    r"(?:\s?(%|ms|µs|us|s|sec|seconds?|min|minutes?|h|hours?|x|×|/s|/min|/h"
    r"|per (?:second|minute|hour)))?"
    r"(?![\w:-])",
)
_CLOCK = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d)?(?![\d:])")
_DATE = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")
_MENTION = re.compile(r"@([A-Za-z0-9_.\-]*[A-Za-z0-9_])")
_TRACE = re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{32}(?![0-9a-fA-F])")
_READS: dict[str, tuple[tuple[str, float], ...]] = {
    "": (("any", 1.0),),
    "%": (("share", 100.0), ("pct", 1.0)),
    "ms": (("ms", 1.0), ("s", 1000.0)),
    "us": (("ms", 1000.0),),
    "s": (("ms", 1 / 1000), ("s", 1.0)),
    "min": (("ms", 1 / 60_000), ("s", 1 / 60), ("min", 1.0)),
    "h": (("ms", 1 / 3_600_000), ("s", 1 / 3600), ("h", 1.0)),
    "x": (("factor", 1.0),),
    "/s": (("per_s", 1.0), ("per_min", 1 / 60), ("per_h", 1 / 3600)),
    "/min": (("per_s", 60.0), ("per_min", 1.0), ("per_h", 1 / 60)),
    "/h": (("per_s", 3600.0), ("per_min", 60.0), ("per_h", 1.0)),
}
"""By the unit the text gives a number: which kinds of the results' numbers it may be, and
the factor from theirs to the text's (milliseconds said in seconds, a fraction said as a
percentage, a rate per second said per hour)."""
_UNITS = {
    "µs": "us", "sec": "s", "second": "s", "seconds": "s", "minute": "min", "minutes": "min",
    "hour": "h", "hours": "h", "×": "x", "per second": "/s", "per minute": "/min",
    "per hour": "/h",
}  # fmt: skip
_KIND_OF_UNIT = {
    "%": "pct", "ms": "ms", "us": "us", "s": "s", "min": "min", "h": "h", "x": "factor",
    "/s": "per_s", "/min": "per_min", "/h": "per_h",
}  # fmt: skip


def _kind_of_key(key: str, parent: str) -> str:
    """What a result's number is, from its key (and its parent's): the facts name units.
    ``plain`` numbers (a TraceQL metrics value) are read as said, in any unit."""
    if key.endswith("_ms") or parent.endswith("_ms"):
        return "ms"
    if key.endswith("per_s"):
        return "per_s"
    if "rate" in key or "share" in key:
        return "share"
    if key.endswith("_s") and "unix" not in key:
        return "s"
    if key in ("factor", "calls_per_span") or key.startswith("calls_per"):
        return "factor"
    if key == "value":  # a metrics series' value: its unit is the query's
        return "plain"
    return "count"


@dataclass(frozen=True)
class Checked:
    text: str
    """The model's text, what was not found marked ``[unverified]``."""
    unverified: list[str] = field(default_factory=list)


@dataclass
class _Evidence:
    numbers: dict[str, list[float]]
    """The results' numbers by kind (``_kind_of_key``), sorted."""
    clocks: set[str]
    dates: set[str]
    words: set[str]

    def has_number(self, value: float, decimals: int, unit: str) -> bool:
        """Whether a result holds ``value`` as ``unit`` may give it (``_READS``), to the
        rounding of its ``decimals`` or half a percent (sketches and rounding of facts).
        A number said without a unit may be any of them, as held."""
        tolerance = max(0.5 * 10**-decimals, 0.005 * abs(value))
        for kind, scale in (*_READS[_UNITS.get(unit, unit)], ("plain", 1.0)):
            kinds = list(self.numbers) if kind == "any" else [kind]
            low, high = (value - tolerance) / scale, (value + tolerance) / scale
            for found in kinds:
                numbers = self.numbers.get(found, [])
                at = bisect_left(numbers, low)
                if at < len(numbers) and numbers[at] <= high:
                    return True
        return False


def checked_answer(text: str, results: Sequence[Any]) -> Checked:
    evidence = _evidence(results)
    unverified: list[str] = []
    spans: list[tuple[int, int, str]] = []  # (start, end, claim) of what is not found

    def note(match: re.Match[str], claim: str) -> None:
        spans.append((match.start(), match.end(), claim))
        unverified.append(claim)

    taken: list[tuple[int, int]] = []
    for match in _TRACE.finditer(text):
        taken.append(match.span())
        if match.group(0) not in evidence.words:
            note(match, match.group(0))
    for match in _MENTION.finditer(text):
        taken.append(match.span())
        if match.group(1).lower() not in evidence.words:
            note(match, match.group(0))
    for match in _DATE.finditer(text):
        taken.append(match.span())
        if match.group(1) not in evidence.dates:
            note(match, match.group(0))
    for match in _CLOCK.finditer(text):
        if _inside(match.span(), taken):
            continue
        taken.append(match.span())
        if f"{int(match.group(1)):02d}:{match.group(2)}" not in evidence.clocks:
            note(match, match.group(0))
    for match in _NUMBER.finditer(text):
        if _inside(match.span(), taken):
            continue
        whole, fraction, unit = match.group(1), match.group(2) or "", match.group(3)
        value = float((whole + fraction).replace(",", ""))
        if unit is None and not fraction and value <= SMALL:
            continue
        decimals = len(fraction) - 1 if fraction else 0
        if not evidence.has_number(value, decimals, unit or ""):
            note(match, match.group(0))
    marked = text
    for _, end, _ in sorted(spans, reverse=True):
        marked = f"{marked[:end]} {MARK}{marked[end:]}"
    return Checked(marked, unverified)


def _inside(span: tuple[int, int], taken: Iterable[tuple[int, int]]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in taken)


def _evidence(results: Sequence[Any]) -> _Evidence:
    numbers: dict[str, list[float]] = {}
    clocks: set[str] = set()
    dates: set[str] = set()
    words: set[str] = set()

    def moment(seconds: float) -> None:
        at = datetime.fromtimestamp(seconds, UTC)
        for shift in (-60, 0, 60):  # a minute either way: times are said to the minute
            near = datetime.fromtimestamp(seconds + shift, UTC)
            clocks.add(near.strftime("%H:%M"))
        dates.add(at.strftime("%Y-%m-%d"))

    def walk(value: Any, key: str = "", parent: str = "") -> None:
        if isinstance(value, dict):
            start, end = value.get("start_unix_s"), value.get("end_unix_s")
            if isinstance(start, int | float) and isinstance(end, int | float):
                numbers.setdefault("s", []).append(float(end - start))  # "the last 10 min"
            for name, item in value.items():
                words.add(str(name).lower())
                walk(item, str(name), key)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, key, parent)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int | float):
            if math.isfinite(value):
                numbers.setdefault(_kind_of_key(key, parent), []).append(float(value))
                if key.endswith("unix_s") and value > 1e9:
                    moment(float(value))
                elif key.endswith("unix_nano") and value > 1e18:
                    moment(value / 1e9)
        elif isinstance(value, str):
            text(value)

    def text(value: str) -> None:
        words.add(value.lower())
        for found in _MENTION.finditer(value):
            words.add(found.group(1).lower())
        for found in re.finditer(r"[A-Za-z0-9_.\-]+", value):
            words.add(found.group(0).lower())
        for found in _DATE.finditer(value):
            dates.add(found.group(1))
        for found in _CLOCK.finditer(value):
            clocks.add(f"{int(found.group(1)):02d}:{found.group(2)}")
        for found in _NUMBER.finditer(value):
            fraction = found.group(2) or ""
            unit = _UNITS.get(found.group(3) or "", found.group(3) or "")
            kind = _KIND_OF_UNIT.get(unit, "count")
            numbers.setdefault(kind, []).append(float((found.group(1) + fraction).replace(",", "")))

    walk(list(results))
    for found in numbers.values():
        found.sort()
    return _Evidence(numbers, clocks, dates, words)
