"""Time windows asked for in words: relative, absolute, and what cannot be a window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.chat.time_window import TimeWindow, WindowProblem, window_asked

NOW = datetime(2026, 12, 7, 16, 30, 0, tzinfo=UTC).timestamp()


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("what changed in the last 10 minutes?", "2026-12-07T16:20", "2026-12-07T16:30"),
        ("errors over the past hour", "2026-12-07T15:30", "2026-12-07T16:30"),
        ("slow in the last 2h?", "2026-12-07T14:30", "2026-12-07T16:30"),
        ("the last fifteen minutes", "2026-12-07T16:15", "2026-12-07T16:30"),
        ("past 3 days", "2026-12-04T16:30", "2026-12-07T16:30"),
        ("how was it today", "2026-12-07T00:00", "2026-12-07T16:30"),
        ("and yesterday?", "2026-12-06T00:00", "2026-12-07T00:00"),
        ("between 15:18 and 15:22", "2026-12-07T15:18", "2026-12-07T15:22"),
        ("from 15:18 to 15:22 UTC", "2026-12-07T15:18", "2026-12-07T15:22"),
        ("15:18-15:22", "2026-12-07T15:18", "2026-12-07T15:22"),
        # a clock time later than now is of yesterday
        ("between 23:50 and 00:10", "2026-12-06T23:50", "2026-12-07T00:10"),
        ("from 3pm to 4pm", "2026-12-07T15:00", "2026-12-07T16:00"),
        ("since 14:00", "2026-12-07T14:00", "2026-12-07T16:30"),
        ("since yesterday", "2026-12-06T00:00", "2026-12-07T16:30"),
        (
            "from 2026-11-21T15:18Z to 2026-11-21T15:22Z",
            "2026-11-21T15:18",
            "2026-11-21T15:22",
        ),
        ("between 2026-11-21 15:18 and 15:22", "2026-11-21T15:18", "2026-11-21T15:22"),
        ("between 15:18 and 15:22 on Nov 21", "2026-11-21T15:18", "2026-11-21T15:22"),
        ("from Nov 21 15:18 to Nov 21 15:22", "2026-11-21T15:18", "2026-11-21T15:22"),
        ("since yesterday 3pm", "2026-12-06T15:00", "2026-12-07T16:30"),
        # a window that runs past now ends now
        ("between 16:00 and 17:00", "2026-12-07T16:00", "2026-12-07T16:30"),
    ],
)
def test_windows_in_words(question: str, start: str, end: str) -> None:
    window = window_asked(question, NOW)
    assert isinstance(window, TimeWindow), window
    assert (window.start_s, window.end_s) == (at(start), at(end))


@pytest.mark.parametrize(
    "question",
    [
        "why is @postgres_query_select_orders slow?",
        "what is the p99 of the previous one?",
        "how many spans in the last message?",
        "compare the last two patterns",
        "is it slower than 2 or 3 ms?",
    ],
)
def test_questions_without_a_window(question: str) -> None:
    assert window_asked(question, NOW) is None


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("between 15:22 and 15:18 on 2026-11-21", "ends before it starts"),
        ("from 15:22 to 15:18", "ends before it starts"),
        ("from 2026-12-08T10:00Z to 2026-12-08T11:00Z", "in the future"),
        ("what changed since the deploy?", "cannot tell when"),
        ("in the last 0 minutes", "no time at all"),
    ],
)
def test_windows_that_cannot_be_answered_say_why(question: str, said: str) -> None:
    window = window_asked(question, NOW)
    assert isinstance(window, WindowProblem) and said in window.message, window


def test_bare_clock_times_are_marked_so_their_day_can_be_moved() -> None:
    bare = window_asked("between 15:18 and 15:22", NOW)
    dated = window_asked("between 2026-11-21T15:18Z and 2026-11-21T15:22Z", NOW)
    assert isinstance(bare, TimeWindow) and bare.clock_only
    assert isinstance(dated, TimeWindow) and not dated.clock_only
