"""Where an asked window lands on the spans there are, and how the answer states it.

"Now" is the wall clock, but spans may stop long before it (a file loaded last week, a
collector that went quiet). A window with no spans is not answered with zeros as if nothing
happened: a window of bare clock times ("between 15:18 and 15:22") moves to the latest day
with spans at those times; any other moves to the newest (or oldest) stretch of the same
length that has spans. Either way the answer says what it did and why, in its first lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.chat.time_window import TimeWindow
from app.facts.units import DAY_S, duration_text, moment_text, time_span_text

MAX_DAYS_BACK = 400
_EXPLICIT = re.compile(r"\d:\d\d|\d{4}-\d\d-\d\d|\d\s*[ap]\.?m\b", re.IGNORECASE)
"""Words that give the times themselves: the window as written says it all."""
LATE_NOTE_S = 60
"""A window that runs past the newest span by more than this (and a tenth of its length)
says when that span was."""


@dataclass(frozen=True)
class PlacedWindow:
    start_s: int
    end_s: int
    said: str | None
    """The words that asked for it; None: no window was asked, all spans are read."""
    note: str | None = None
    """What was moved or missing, and why."""

    @property
    def asked(self) -> bool:
        return self.said is not None

    def stated(self) -> str:
        """The answer's first line: which window it is about."""
        when = time_span_text(self.start_s, self.end_s)
        line = f"Window: all spans seen, {when}." if self.said is None else f"Window: {when}."
        if self.said is not None and self.note is None and not _EXPLICIT.search(self.said):
            line = f"Window ({self.said}): {when}."  # "the last 10 minutes", "yesterday"
        return line if self.note is None else f"{line}\n{self.note}"

    def as_dict(self) -> dict[str, object]:
        return {
            "start_unix_s": self.start_s,
            "end_unix_s": self.end_s,
            "asked": self.said,
            "note": self.note,
        }


def whole_window(oldest_s: int, newest_s: int) -> PlacedWindow:
    return PlacedWindow(oldest_s, newest_s + 1, None)


def place_window(
    asked: TimeWindow,
    oldest_s: int,
    newest_s: int,
    has_spans: Callable[[int, int], bool],
) -> PlacedWindow:
    """``asked`` where spans are: as asked when it has spans, else moved (see the module)."""
    start, end, said = asked.start_s, asked.end_s, asked.said
    length = end - start
    after_newest = newest_s + 1
    asked_text = f'"{said}" ({time_span_text(start, end)})'
    if start < after_newest and end > oldest_s and has_spans(start, end):
        late = end - after_newest
        if late > max(LATE_NOTE_S, length // 10):
            return PlacedWindow(
                start,
                end,
                said,
                f"Spans were seen until {moment_text(newest_s)}, "
                f"{duration_text(late)} before the end of {asked_text}.",
            )
        return PlacedWindow(start, end, said)
    if asked.clock_only:
        for days in range(1, MAX_DAYS_BACK + 1):
            moved_start, moved_end = start - days * DAY_S, end - days * DAY_S
            if moved_end <= oldest_s:
                break
            if moved_start < after_newest and has_spans(moved_start, moved_end):
                day = datetime.fromtimestamp(moved_start, UTC).strftime("%Y-%m-%d")
                return PlacedWindow(
                    moved_start,
                    moved_end,
                    said,
                    f"No spans were seen in {asked_text}. The latest day with spans at "
                    f"those times is {day}: this answer is about that day.",
                )
    if start >= after_newest:
        return PlacedWindow(
            after_newest - length,
            after_newest,
            said,
            f"The newest span seen is from {moment_text(newest_s)}, "
            f"{duration_text(start - newest_s)} before {asked_text}, which has none. "
            f"This answer is about the newest {duration_text(length)} with spans.",
        )
    if end <= oldest_s:
        return PlacedWindow(
            oldest_s,
            oldest_s + length,
            said,
            f"The oldest span seen is from {moment_text(oldest_s)}, "
            f"{duration_text(oldest_s - end)} after {asked_text}, which has none. "
            f"This answer is about the first {duration_text(length)} with spans.",
        )
    return PlacedWindow(start, end, said, f"No spans were seen in {asked_text}.")
