"""What a follow-up question refers to by an earlier turn of its conversation.

"back to the first one", "the previous one", "that query" (a pattern of that kind named in
the last answer), "and what made that slow?" (what is behind the pattern discussed): the
question names no pattern, the conversation does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from app.chat.conversations import Turn
from app.chat.lexical import stem, terms
from app.chat.mentions import MentionIndex, find_mentions
from app.discovery.patterns import SpanPattern

CAUSE_ASKED = re.compile(
    r"\bwhat (made|makes|caused|causes|is causing|is behind|was behind) (it|that|this|them)\b"
    r"|\b(the )?(root )?cause of (it|that|this|them)\b"
    r"|\bwhy (is|was|are|were|did|does|do) (it|that|this|they)\b"
    r"|\bwhere (does|did) (it|that|this) come from\b|^\W*(and )?why\W*$",
    re.IGNORECASE,
)
"""A follow-up asking what is behind what the conversation is about ("and what made that
slow?"); the question names nothing new."""
_FIRST_ASKED = re.compile(
    r"\b(back to|return to|about) the (first|original) (one|pattern|question)\b"
    r"|\bthe (first|original) (one|pattern)\b",
    re.IGNORECASE,
)
_PREVIOUS_ASKED = re.compile(
    r"\b(back to |about )?the (previous|one before|other) (one|pattern)\b|\bthe one before\b",
    re.IGNORECASE,
)
_THAT_ASKED = re.compile(r"\b(?:that|this|the same) ([a-z][a-z_]+)\b", re.IGNORECASE)
_NOT_A_KIND = terms("one pattern period time window question answer way thing slow error")


def referred_to(
    question: str, history: Sequence[Turn], index: MentionIndex, graph: Mapping[int, SpanPattern]
) -> list[int]:
    """Patterns a question refers to by an earlier turn: "back to the first one" (what the
    first turn that cited any was about), "the previous one" (the turn before the last),
    "that query" (a pattern of that kind named in the last answer: one its facts traced the
    time or errors to, then one it named without being about it, then one it was about)."""
    turns = [turn for turn in history if turn.cited]
    if not turns:
        return []
    if _FIRST_ASKED.search(question):
        return turns[0].cited
    if _PREVIOUS_ASKED.search(question):
        earlier = [turn.cited for turn in turns if turn.cited != turns[-1].cited]
        return earlier[-1] if earlier else []
    for match in _THAT_ASKED.finditer(question):
        kind = stem(match.group(1).lower())
        if kind in _NOT_A_KIND:
            continue
        last = turns[-1]
        named: list[int] = []
        for mention in find_mentions(last.answer):
            resolved = index.resolve(mention.name).pattern_id
            if resolved is not None and resolved in graph and resolved not in named:
                pattern = graph[resolved]
                if kind in terms(f"{pattern.name} {pattern.operation}"):
                    named.append(resolved)
        causes = [i for i in last.pointed if i in named]
        pointed = [i for i in named if i not in last.cited]
        if causes or pointed or named:
            return (causes or pointed or named)[:1]
    return []


def last_cited(history: Sequence[Turn]) -> list[int]:
    for turn in reversed(history):
        if turn.cited:
            return turn.cited
    return []
