"""The time window a question asks about: "in the last 10 minutes", "past hour", "today",
"yesterday", "between 15:18 and 15:22", "from 2026-11-21T15:18Z to 15:22", "since 14:00".

Phrases are found by patterns of their own (a window is a few shapes of words); the times
inside them are read by ``datetime.fromisoformat`` when ISO, by hand when a bare clock time
("15:18", "3pm"), and by dateparser otherwise ("Nov 21 15:18", "yesterday 3pm"), which is
loaded only then. Times are UTC, as every answer writes them. A bare clock time is of the
day of "now", or of the day before when that would be later than now; ``clock_only`` says
so, and the caller may move such a window to the latest day with spans at that time.

What cannot be a window is said, never guessed: a window that ends before it starts, one in
the future, "since the deploy" (no deploy time is known from spans).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MIDNIGHT_GAP_H = 12
"""A bare clock range whose end is earlier than its start runs over midnight when the end
comes within this many hours after it ("23:50 to 00:10"), else it is the wrong way round."""
_MIDNIGHT_GAP = timedelta(hours=MIDNIGHT_GAP_H)

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DAY_WORD = r"(?:today|yesterday)"
_DATE = (
    rf"(?:{_DAY_WORD}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+\d{{4}})?|\d{{4}}-\d{{2}}-\d{{2}})"
)
_ISO = r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
_CLOCK = r"(?:\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?|\d{1,2}\s*[ap]\.?m\.?|noon|midnight)"
_UTC = r"(?:\s*(?:utc|gmt|z)\b)?"
_TIME = rf"(?:{_ISO}|(?:{_DATE}\s*(?:at\s+)?)?{_CLOCK}){_UTC}"

_RANGE = re.compile(
    rf"\b(?:between|from)?\s*(?P<start>{_TIME})\s*(?:and|to|until|till|through|-|–|—)\s*"
    rf"(?P<end>{_TIME})(?:\s+on\s+(?P<on>{_DATE}))?",
    re.IGNORECASE,
)
_SINCE = re.compile(
    rf"\b(?:since|after)\s+(?P<start>{_TIME}|{_DATE}|the\s+(?:last\s+)?(?:deploy|release|"
    r"rollout|incident|restart)\w*)",
    re.IGNORECASE,
)
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "few": 3, "couple of": 2,
}  # fmt: skip
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RELATIVE = re.compile(
    r"\b(?:in|over|during|for|within)?\s*(?:the\s+)?(?:last|past|previous)\s+"
    rf"(?:(?P<number>\d+(?:\.\d+)?|{'|'.join(_NUMBERS)})\s*)?"
    r"(?P<unit>seconds?|secs?|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w)\b",
    re.IGNORECASE,
)
_DAY = re.compile(r"\b(?P<day>today|yesterday)\b", re.IGNORECASE)
_BARE_CLOCK = re.compile(rf"^{_CLOCK}{_UTC}$", re.IGNORECASE)


@dataclass(frozen=True)
class TimeWindow:
    start_s: int
    end_s: int
    said: str
    """The words that asked for it, as the user wrote them."""
    clock_only: bool = False
    """Its times were bare clock times: their day was taken, not given."""

    @property
    def seconds(self) -> int:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class WindowProblem:
    """A window was asked for that cannot be answered: what to say instead."""

    message: str


def window_asked(question: str, now_s: float) -> TimeWindow | WindowProblem | None:
    """The window a question asks about; None when it asks about none."""
    now = datetime.fromtimestamp(int(now_s), UTC)
    found = _RANGE.search(question)
    if found:
        on = _moment(found["on"], now, whole_day=True) if found["on"] else None
        if found["on"] and on is None:
            return _unreadable(found["on"])
        start = _moment(found["start"], now, day_of=on)
        if start is None:
            return _unreadable(found["start"])
        end = _moment(found["end"], now, day_of=start if _is_bare(found["end"]) else None)
        if end is None:
            return _unreadable(found["end"])
        clock_only = on is None and _is_bare(found["start"]) and _is_bare(found["end"])
        over_midnight = end + timedelta(days=1)
        if _is_bare(found["end"]) and end < start and over_midnight - start <= _MIDNIGHT_GAP:
            end = over_midnight  # "23:50 to 00:10"; "15:22 to 15:18" stays the wrong way round
        return _checked(start, end, now, found.group(0).strip(), clock_only)
    found = _SINCE.search(question)
    if found:
        said = found["start"]
        if re.match(r"the\s", said, re.IGNORECASE):
            return WindowProblem(
                f'I cannot tell when "{said}" was from the spans. Give a time instead, '
                'for example "since 14:00" or "since 2026-11-21T15:18Z".'
            )
        start = _moment(said, now, whole_day=True)
        if start is None:
            return _unreadable(said)
        return _checked(start, now, now, found.group(0).strip(), _is_bare(said))
    found = _RELATIVE.search(question)
    if found:
        number = found["number"]
        amount = 1.0 if number is None else _NUMBERS.get(number.lower()) or float(number)
        seconds = int(amount * _UNITS[found["unit"][0].lower()])
        if seconds <= 0:
            return WindowProblem(f'"{found.group(0).strip()}" is no time at all.')
        return _checked(now - timedelta(seconds=seconds), now, now, found.group(0).strip())
    found = _DAY.search(question)
    if found:
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if found["day"].lower() == "today":
            return _checked(midnight, now, now, "today")
        return _checked(midnight - timedelta(days=1), midnight, now, "yesterday")
    return None


def _checked(
    start: datetime, end: datetime, now: datetime, said: str, clock_only: bool = False
) -> TimeWindow | WindowProblem:
    if end <= start:
        return WindowProblem(
            f'"{said}" ends before it starts ({_clock(start)} to {_clock(end)}). '
            "Give the earlier time first."
        )
    if start >= now:
        return WindowProblem(
            f'"{said}" is in the future: it is {_clock(now)} now. Ask about a time before it.'
        )
    return TimeWindow(
        int(start.timestamp()), int(min(end, now).timestamp()), said, clock_only=clock_only
    )


def _unreadable(said: str) -> WindowProblem:
    return WindowProblem(
        f'I could not read "{said}" as a time. Write it as 15:18, 3pm, Nov 21 15:18 or '
        "2026-11-21T15:18Z (UTC)."
    )


def _is_bare(text: str) -> bool:
    return bool(_BARE_CLOCK.match(text.strip()))


def _moment(
    text: str, now: datetime, *, day_of: datetime | None = None, whole_day: bool = False
) -> datetime | None:
    """A time in ``text`` (UTC); a bare clock time on ``day_of``'s day, or on today's (or
    yesterday's, when today's is later than now); a bare day ("yesterday") at its start
    when ``whole_day``."""
    text = re.sub(r"\s*(?:utc|gmt)$", "", text.strip(), flags=re.IGNORECASE)
    if re.fullmatch(_ISO, text, re.IGNORECASE):
        moment = datetime.fromisoformat(text.replace(" ", "T").replace("z", "Z"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    clock = _clock_time(text)
    if clock is not None:
        day = (day_of or now).replace(hour=0, minute=0, second=0, microsecond=0)
        moment = day + clock
        if day_of is None and moment > now:
            moment -= timedelta(days=1)
        return moment
    if whole_day and text.lower() in ("today", "yesterday"):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight if text.lower() == "today" else midnight - timedelta(days=1)
    return _parsed(text, now)


def _clock_time(text: str) -> timedelta | None:
    found = re.fullmatch(
        r"(?:(?P<h>\d{1,2})(?::(?P<m>\d{2})(?::(?P<s>\d{2}))?)?\s*(?P<ampm>[ap])?\.?m?\.?"
        r"|(?P<word>noon|midnight))",
        text.strip(),
        re.IGNORECASE,
    )
    if found is None or (found["h"] and not found["m"] and not found["ampm"]):
        return None
    if found["word"]:
        return timedelta(hours=12 if found["word"].lower() == "noon" else 0)
    hours, minutes, seconds = int(found["h"]), int(found["m"] or 0), int(found["s"] or 0)
    if found["ampm"]:
        if not 1 <= hours <= 12:
            return None
        hours = hours % 12 + (12 if found["ampm"].lower() == "p" else 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def _parsed(text: str, now: datetime) -> datetime | None:
    import dateparser  # a second or so to load its languages: only when a phrase needs it

    moment = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "RELATIVE_BASE": now.replace(tzinfo=None),
            "TIMEZONE": "UTC",
            "TO_TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "past",
        },
    )
    return moment.astimezone(UTC) if moment is not None else None


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
