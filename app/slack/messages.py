"""Answers, traces and notices as Slack messages: mrkdwn text in Block Kit blocks.

Slack refuses a section whose text is over 3,000 characters and a message of more than 50
blocks, so a long answer is cut into several sections, at paragraph, else line, else word
boundaries, and into several messages when it must. Text that came from spans (operation
names, descriptions, span names) is escaped: ``<!channel>`` or ``<https://x|y>`` in it is
shown as written, never acted on. Only the links built here are Slack links.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from app.chat.service import ChatAnswer, GrafanaLinks
from app.classify.figures import duration_text, percent_text
from app.discovery.traceql import grafana_explore_url
from app.settings import Settings

SECTION_CHARS = 3000
MESSAGE_BLOCKS = 50
FALLBACK_CHARS = 300
"""The plain ``text`` of a message with blocks is what notifications show: its start."""
LINK_URL_CHARS = 2000
"""A longer URL (a Grafana link to kilobytes of SQL TraceQL) is left out of a section."""
TRACE_LINKS = 3
TRACE_SPANS_SHOWN = 40
TRACE_LINK_MARGIN_S = 300

ACTION_SHOW_TRACE = "spanwise_show_trace"
ACTION_MARK_NOISE = "spanwise_mark_noise"
ACTION_KEEP = "spanwise_keep"

HELP = (
    "Ask me about span patterns, for example "
    "`@postgres_query_select_orders why is this slow?` or `why is checkout slow?`. "
    "In a thread, mention me again to go on with the same conversation."
)


@dataclass(frozen=True)
class SlackMessage:
    text: str
    """Plain text for notifications and clients that show no blocks."""
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Links:
    """Where answers link to: the explorer (``public_url``) and Grafana, when configured."""

    public_url: str | None = None
    grafana: GrafanaLinks | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Links:
        public = settings.public_url.rstrip("/") if settings.public_url else None
        return cls(public, GrafanaLinks.from_settings(settings))

    def pattern(self, name: str) -> str | None:
        return f"{self.public_url}/patterns/{quote(name, safe='')}" if self.public_url else None

    def trace(self, trace_id: str) -> str | None:
        return f"{self.public_url}/traces/{quote(trace_id, safe='')}" if self.public_url else None

    def grafana_trace(self, trace_id: str, start_s: int, end_s: int) -> str | None:
        """An Explore link that opens one trace (Tempo's TraceQL field takes a trace id)."""
        if self.grafana is None:
            return None
        return grafana_explore_url(
            self.grafana.base_url,
            self.grafana.datasource_uid,
            trace_id,
            start_s - TRACE_LINK_MARGIN_S,
            end_s + TRACE_LINK_MARGIN_S,
        )


# --- mrkdwn ------------------------------------------------------------------------------

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*$", re.MULTILINE)
_SPLIT_LEVELS = ("\n\n", "\n", " ")


def escape(text: str) -> str:
    """``text`` as mrkdwn shows it literally: Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escaped_length(text: str) -> int:
    return len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


def markdown_to_mrkdwn(text: str) -> str:
    """A model's Markdown emphasis and headings as Slack writes them (``*bold*``)."""
    text = _MARKDOWN_HEADING.sub(r"**\1**", text)
    return _MARKDOWN_BOLD.sub(r"*\1*", text)


def split_escaped(text: str, limit: int = SECTION_CHARS) -> list[str]:
    """``text`` escaped, in pieces of at most ``limit`` characters each.

    Cuts fall between paragraphs when they can, else between lines, else between words,
    and only a single word longer than ``limit`` is cut inside; an escape such as ``&amp;``
    is never cut. Pieces are trimmed and empty ones dropped."""
    pieces = [escape(piece).strip() for piece in _pack(text, limit, 0)]
    return [piece for piece in pieces if piece]


def _pack(text: str, limit: int, level: int) -> list[str]:
    if _escaped_length(text) <= limit:
        return [text]
    if level == len(_SPLIT_LEVELS):
        return _cut(text, limit)
    separator = _SPLIT_LEVELS[level]
    pieces: list[str] = []
    current: str | None = None
    size = 0
    for part in text.split(separator):
        for sub in _pack(part, limit, level + 1):
            sub_size = _escaped_length(sub)
            if current is not None and size + len(separator) + sub_size <= limit:
                current += separator + sub
                size += len(separator) + sub_size
                continue
            if current is not None:
                pieces.append(current)
            current, size = sub, sub_size
    if current is not None:
        pieces.append(current)
    return pieces


def _cut(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    start = size = 0
    for index, char in enumerate(text):
        width = len(_ESCAPES.get(char, char))
        if size + width > limit:
            pieces.append(text[start:index])
            start, size = index, 0
        size += width
    pieces.append(text[start:])
    return pieces


def _link(url: str, label: str) -> str:
    """A Slack link; ``label`` is escaped, and so is the URL as Slack asks."""
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _fallback(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= FALLBACK_CHARS else line[: FALLBACK_CHARS - 1] + "…"


# --- answers -----------------------------------------------------------------------------


def answer_messages(answer: ChatAnswer, links: Links) -> list[SlackMessage]:
    """The answer's text, then each cited pattern with its key numbers, links and buttons.

    Citations stay together in the last message, so their buttons come after the whole
    answer; the text alone is cut into as many messages as the block limit needs."""
    text_blocks = [_section(piece) for piece in split_escaped(markdown_to_mrkdwn(answer.answer))]
    if answer.mode == "model":  # what it used, under it: the facts, written out
        notes = "\n".join(answer.model_notes())
        text_blocks += [_context(piece) for piece in split_escaped(notes)]
    facts = {str(f.get("name")): f for f in answer.facts}
    cited: list[dict[str, Any]] = []
    for index, citation in enumerate(answer.citations):
        cited += citation_blocks(index, citation, facts.get(citation["pattern"]), links)
    groups = _grouped(text_blocks, cited)
    fallback = _fallback(answer.answer)
    return [
        SlackMessage(fallback if number == 0 else "(continued)", blocks)
        for number, blocks in enumerate(groups)
    ]


def _grouped(text_blocks: list[dict[str, Any]], tail: list[dict[str, Any]]) -> list[list[Any]]:
    """Messages of at most ``MESSAGE_BLOCKS`` blocks, ``tail`` whole in the last one."""
    groups: list[list[dict[str, Any]]] = []
    blocks = list(text_blocks)
    while len(blocks) + len(tail) > MESSAGE_BLOCKS:
        groups.append(blocks[:MESSAGE_BLOCKS])
        blocks = blocks[MESSAGE_BLOCKS:]
    groups.append(blocks + tail)
    return [group for group in groups if group]


def citation_blocks(
    index: int, citation: Mapping[str, Any], facts: Mapping[str, Any] | None, links: Links
) -> list[dict[str, Any]]:
    """A cited pattern: name (linked to its explorer page), service and key numbers, then
    its links, then the buttons that act on it."""
    name = str(citation["pattern"])
    page = links.pattern(name)
    title = _link(page, name) if page else f"`{escape(name)}`"
    lines = [f"*{title}* · {escape(str(citation.get('service', '')))}"]
    if facts is not None:
        lines.append(key_numbers(facts))
    trace_ids = [str(t) for t in citation.get("trace_ids", [])]
    found_in = [_link(url, t[:12]) for t in trace_ids[:TRACE_LINKS] if (url := links.trace(t))]
    extras = []
    grafana = citation.get("grafana_url")
    if grafana and len(grafana) <= LINK_URL_CHARS:
        extras.append(_link(str(grafana), "Open in Grafana"))
    elif grafana:
        extras.append("Grafana link too long for Slack: open it from the pattern's page")
    if found_in:
        extras.append("traces " + ", ".join(found_in))
    if extras:
        lines.append(" · ".join(extras))
    buttons: list[dict[str, Any]] = []
    if trace_ids:
        buttons.append(
            _button(
                "Show sample trace", ACTION_SHOW_TRACE, {"pattern": name, "trace": trace_ids[0]}
            )
        )
    buttons.append(_button("Mark as noise", ACTION_MARK_NOISE, {"pattern": name}))
    buttons.append(_button("Keep", ACTION_KEEP, {"pattern": name}))
    return [
        {"type": "divider"},
        _section("\n".join(lines)),
        {"type": "actions", "block_id": f"spanwise_pattern_{index}", "elements": buttons},
    ]


def key_numbers(facts: Mapping[str, Any]) -> str:
    """``1,204 spans · p50 6.7 ms · p99 234 ms · errors 0.5%`` from a pattern's facts."""
    latency = facts.get("latency_ms", {})
    errors = facts.get("errors", {})
    return " · ".join(
        [
            f"{int(facts.get('count', 0)):,} spans",
            f"p50 {duration_text(float(latency.get('p50', 0.0)))}",
            f"p99 {duration_text(float(latency.get('p99', 0.0)))}",
            f"errors {percent_text(float(errors.get('rate', 0.0)))}",
        ]
    )


def _button(label: str, action_id: str, value: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": json.dumps(value, separators=(",", ":")),
    }


# --- sample traces -----------------------------------------------------------------------


def trace_message(trace_id: str, spans: Sequence[Mapping[str, Any]], links: Links) -> SlackMessage:
    """A stored sample trace, span by span (start offset, duration, service, pattern, name).

    ``spans`` are redacted sample documents; their attributes are not shown."""
    heading = f"*Sample trace* `{trace_id}`"
    explorer = links.trace(trace_id)
    if not spans:
        notice = f"{heading}: no span of it is among the stored samples any more."
        if explorer:
            notice += " " + _link(explorer, "Look it up in Spanwise")
        return SlackMessage(
            f"Sample trace {trace_id}: not among the stored samples", [_section(notice)]
        )
    start_ns = min(int(s["start_unix_nano"]) for s in spans)
    end_ns = max(int(s["start_unix_nano"]) + int(float(s["duration_ms"]) * 1e6) for s in spans)
    grafana = links.grafana_trace(trace_id, start_ns // 10**9, end_ns // 10**9 + 1)
    found = [
        _link(url, label) for url, label in ((explorer, "Spanwise"), (grafana, "Grafana")) if url
    ]
    summary = f"{heading}: {len(spans)} stored sample span{'s' if len(spans) != 1 else ''}"
    if found:
        summary += " · open in " + ", ".join(found)
    rows = [_span_row(span, start_ns) for span in spans[:TRACE_SPANS_SHOWN]]
    if len(spans) > TRACE_SPANS_SHOWN:
        rows.append(f"and {len(spans) - TRACE_SPANS_SHOWN} more spans")
    blocks = [_section(summary)]
    blocks += [_section(piece) for piece in split_escaped("\n".join(rows))]
    return SlackMessage(f"Sample trace {trace_id}: {len(spans)} spans", blocks[:MESSAGE_BLOCKS])


def _span_row(span: Mapping[str, Any], trace_start_ns: int) -> str:
    offset_ms = (int(span["start_unix_nano"]) - trace_start_ns) / 1e6
    parts = [
        f"+{duration_text(offset_ms)}" if offset_ms > 0 else "+0 ms",
        duration_text(float(span["duration_ms"])),
        str(span.get("service", "")),
        str(span.get("pattern", "")),
        str(span.get("name", "")),
    ]
    if span.get("status") == "error":
        parts.append("ERROR")
    return " · ".join(parts)


# --- notices -----------------------------------------------------------------------------


def notice(text: str) -> SlackMessage:
    """A short message of our own (help, a refusal, an error): ``text`` is mrkdwn."""
    return SlackMessage(_fallback(text), [_section(text)])


def error_notice(what: str, error: BaseException) -> SlackMessage:
    """What went wrong, in one line: the kind of error only. The details, which may hold
    paths or span data, go to the server's log."""
    return notice(
        f"Sorry, Spanwise could not {what} ({type(error).__name__}). "
        "The server's log has the details."
    )
