"""Answers as Block Kit within Slack's limits, with span text shown and never acted on."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest

from app.chat.service import ChatAnswer
from app.slack.messages import (
    SECTION_CHARS,
    Links,
    answer_messages,
    escape,
    markdown_to_mrkdwn,
    split_escaped,
    trace_message,
)

LINKS = Links("https://spanwise.example.com")


def sections(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("p99 > 200 ms & rising", "p99 &gt; 200 ms &amp; rising"),
        ("<!channel> look", "&lt;!channel&gt; look"),  # span text pings nobody
        ("<https://evil.example|your bank>", "&lt;https://evil.example|your bank&gt;"),
        ("<@U0ANA> said so", "&lt;@U0ANA&gt; said so"),
    ],
)
def test_text_from_spans_is_escaped(text: str, shown: str) -> None:
    assert escape(text) == shown
    assert split_escaped(text) == [shown]


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("it is **slow** now", "it is *slow* now"),
        ("## Why\nbecause", "*Why*\nbecause"),
        ("2 ** 3 is not bold", "2 ** 3 is not bold"),
    ],
)
def test_a_model_s_markdown_becomes_mrkdwn(markdown: str, mrkdwn: str) -> None:
    assert markdown_to_mrkdwn(markdown) == mrkdwn


def test_a_long_text_is_cut_between_paragraphs_within_the_section_limit() -> None:
    paragraphs = [f"paragraph {i}: " + ("slow & steady " * 60).strip() for i in range(12)]
    pieces = split_escaped("\n\n".join(paragraphs))
    assert all(len(p) <= SECTION_CHARS for p in pieces)
    assert len(pieces) > 1
    assert all(p.startswith("paragraph") for p in pieces)  # never mid-paragraph here
    assert unescape("\n\n".join(pieces)) == "\n\n".join(paragraphs)


@pytest.mark.parametrize(
    "text",
    [
        "&" * 5000,  # escapes grow it fivefold: no cut inside an "&amp;"
        "x" * 7000,  # one "word" longer than a section
        "line & more\n" * 900,  # lines, no paragraphs
    ],
)
def test_no_piece_is_over_the_limit_and_no_escape_is_cut(text: str) -> None:
    pieces = split_escaped(text)
    assert all(0 < len(p) <= SECTION_CHARS for p in pieces)
    assert all(escape(unescape(p)) == p for p in pieces)  # no "&am" left dangling
    assert "".join(unescape("".join(pieces)).split()) == "".join(text.split())


def answer_of(text: str, citations: int = 0) -> ChatAnswer:
    cited = [
        {"pattern": f"pattern_{i}", "service": "checkout", "traceql": "{ }", "trace_ids": []}
        for i in range(citations)
    ]
    facts = [
        {
            "name": f"pattern_{i}",
            "count": 1204,
            "latency_ms": {"p50": 6.7, "p99": 234.0},
            "errors": {"rate": 0.005},
        }
        for i in range(citations)
    ]
    return ChatAnswer("c", "q", text, "offline", citations=cited, facts=facts)


@pytest.mark.parametrize(
    ("sections_of_text", "blocks_per_message"),
    [
        (41, [50]),  # 41 sections and 3 cited patterns of 3 blocks each: just fits
        (42, [42, 9]),
        (70, [50, 29]),
    ],
)
def test_an_answer_over_fifty_blocks_becomes_several_messages_buttons_last(
    sections_of_text: int, blocks_per_message: list[int]
) -> None:
    text = "\n\n".join(f"{i} " + "word " * 590 for i in range(sections_of_text))
    messages = answer_messages(answer_of(text, citations=3), LINKS)
    assert [len(m.blocks) for m in messages] == blocks_per_message
    assert [b["type"] for b in messages[-1].blocks[-9:]] == ["divider", "section", "actions"] * 3
    assert not any(b["type"] == "actions" for m in messages[:-1] for b in m.blocks)
    shown = [s for m in messages for s in sections(m.blocks)]
    assert shown[:sections_of_text] == split_escaped(text)
    assert [m.text for m in messages[1:]] == ["(continued)"] * (len(messages) - 1)


def test_a_cited_pattern_shows_its_key_numbers_and_links() -> None:
    (message,) = answer_messages(answer_of("short answer", citations=1), LINKS)
    assert sections(message.blocks) == [
        "short answer",
        "*<https://spanwise.example.com/patterns/pattern_0|pattern_0>* · checkout\n"
        "1,204 spans · p50 6.7 ms · p99 234 ms · errors 0.5%",
    ]


def test_without_a_public_url_there_are_no_explorer_links() -> None:
    (message,) = answer_messages(answer_of("short answer", citations=1), Links())
    assert sections(message.blocks)[1].startswith("*`pattern_0`* · checkout")
    assert "http" not in str(message.blocks)


def test_a_trace_no_longer_stored_says_so() -> None:
    message = trace_message("ab" * 16, [], LINKS)
    assert "no span of it is among the stored samples" in sections(message.blocks)[0]
