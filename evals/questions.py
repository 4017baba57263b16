"""A case's question with its placeholders filled from the patterns discovery made.

``{query}`` is the name of the pattern of ref ``query``, ``{query.service}`` its service;
filters write it as a person might: ``|typo`` (two neighbouring letters swapped), ``|typo2``
(swapped, and a letter of another word dropped), ``|upper``, ``|prefix`` (its first three
words only, which several patterns may share).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from evals.cases import PLACEHOLDER
from evals.truth import PatternOf


def typo(name: str, edits: int = 1) -> str:
    """``name`` with ``edits`` (1 or 2) deterministic slips of the keyboard.

    The first swaps the two middle letters of the longest word (the last of equal
    length); the second drops the middle letter of the next longest word.
    """
    words = name.split("_")
    order = sorted(range(len(words)), key=lambda i: (len(words[i]), i), reverse=True)
    longest = order[0]
    word = words[longest]
    if len(word) < 2:
        raise ValueError(f"{name!r} has no word long enough for a typo")
    middle = max(len(word) // 2, 1)
    swap_at = middle - 1
    while swap_at + 1 < len(word) and word[swap_at] == word[swap_at + 1]:
        swap_at += 1
    if swap_at + 1 >= len(word):
        raise ValueError(f"{name!r}: no two different neighbouring letters to swap")
    words[longest] = word[:swap_at] + word[swap_at + 1] + word[swap_at] + word[swap_at + 2 :]
    if edits >= 2:
        second = order[1] if len(order) > 1 and len(words[order[1]]) >= 3 else longest
        word = words[second]
        drop = len(word) // 2 if second != longest else len(word) - 1
        words[second] = word[:drop] + word[drop + 1 :]
    return "_".join(words)


def render_question(template: str, patterns: Mapping[str, PatternOf]) -> str:
    def fill(match: re.Match[str]) -> str:
        ref, attribute, filter_name = match.groups()
        pattern = patterns[ref]
        if attribute == "service":
            return pattern.service
        name = pattern.name
        if filter_name == "typo":
            return typo(name, 1)
        if filter_name == "typo2":
            return typo(name, 2)
        if filter_name == "upper":
            return name.upper()
        if filter_name == "prefix":
            return "_".join(name.split("_")[:3])
        return name

    return PLACEHOLDER.sub(fill, template)
