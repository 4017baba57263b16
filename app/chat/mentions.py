"""``@name`` mentions of span patterns in chat text, and the pattern each one means.

A question such as "why is @postgres_query_select_orders slow?" names a pattern. Finding
the mentions (``find_mentions``) ignores what only looks like one: an address
(``ana@example.com``), a Slack user mention (``<@U123>``, ``<@U123|ana>``), a link, and
anything inside backtick code spans or fenced code blocks.

Resolving a mention (``MentionIndex.resolve``) tries, in order:

1. **exact**: the current name of a live pattern;
2. **alias**: an old name of a pattern renamed by the classifier or a person, or the name
   of a pattern that was merged into another (it means the pattern it was merged into);
3. **fuzzy**: a close spelling (``max_typos``) of exactly one pattern's name or alias, when
   every other pattern's is at least two edits further; or the first two or more words of
   exactly one pattern's name (``@postgres_query_select_orders_by`` for
   ``postgres_query_select_orders_by_customer``).

Anything else is **ambiguous** (several patterns fit as well: ``@postgres_query_select``)
or **unknown**; both carry up to five suggestions to offer as "did you mean ...?". A mention
never silently answers about some other pattern. Finding a pattern by meaning ("the slow
checkout query") is a later retrieval step's job, which an ``unknown`` resolution hands on.

Exact and alias lookups are dictionary lookups. A typo lookup never compares the mention
with every name. Names and aliases are numbered shortest first and their trigrams indexed,
so the names of a length near the mention's are one slice of each trigram's posting list.
A name gets an edit distance (a small bounded dynamic programme: no edit-distance library is
installed) only if it holds enough of the mention's rarest trigrams and its characters,
counted, are near the mention's. The typo bound is first the tolerance, then one more when
the best match is at the tolerance, to see whether the runner-up is clearly worse.
``benchmarks/mentions.py`` measures building the index and resolving mentions.

**The q-gram lemma as used here.** Pad a string with two marks at each end and take its
trigrams: a string of length L has L + 2. One edit (substitution, insertion, deletion, or
transposition of adjacent characters) breaks at most four of them, so a name within k edits
of a mention lacks at most 4k of the mention's distinct trigrams: of any n of them it holds
at least n - 4k. The rarest are used, their posting lists being the shortest.
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from app.discovery.rederive import split_parts

if TYPE_CHECKING:
    from app.classify.store import ClassificationStore
    from app.discovery.patterns import SpanPattern
    from app.discovery.store import PatternStore

ResolutionKind = Literal["exact", "alias", "fuzzy", "unknown", "ambiguous"]

MAX_SUGGESTIONS = 5
MIN_PREFIX_WORDS = 2
"""A mention of fewer words is never read as the start of a longer name."""

RESERVED = frozenset({"here", "channel", "everyone"})
"""Slack's own ``@here``, ``@channel`` and ``@everyone``, which name no pattern."""


def max_typos(length: int) -> int:
    """Edits tolerated in a mention of ``length`` characters: 2 from 8 characters on, 1 from
    4, none below (``@db`` with one typo is too many other names)."""
    if length >= 8:
        return 2
    if length >= 4:
        return 1
    return 0


@dataclass(frozen=True, slots=True)
class Mention:
    raw: str
    """As written, with its ``@`` and without trailing punctuation: ``@Checkout_DB``."""
    name: str
    """Lower-cased, as pattern names are: ``checkout_db``."""
    start: int
    end: int
    """``text[start:end] == raw``."""


@dataclass(frozen=True, slots=True)
class Resolution:
    name: str
    """The name looked up (lower-cased)."""
    kind: ResolutionKind
    pattern_id: int | None = None
    """Set for exact, alias and fuzzy resolutions only."""
    pattern_name: str | None = None
    """The resolved pattern's current name."""
    suggestions: tuple[str, ...] = ()
    """For ambiguous and unknown: current names of likely patterns, best first."""

    @property
    def resolved(self) -> bool:
        return self.pattern_id is not None


# --- finding mentions -------------------------------------------------------------------------

_MENTION = re.compile(r"(?<![\w@<])@([A-Za-z0-9_][A-Za-z0-9_.\-]*)")
_BACKTICKS = re.compile(r"`+")
_NOT_PROSE = re.compile(
    r"<[@#!][^<>]*>"  # Slack: <@U123>, <@U123|ana>, <#C123|general>, <!here>
    r"|<[A-Za-z][A-Za-z0-9+.\-]*:[^<>]*>"  # Slack links: <https://x|label>, <mailto:...>
    r"|\b[A-Za-z][A-Za-z0-9+.\-]*://\S+"  # bare links: https://medium.com/@someone
)
_TRAILING = ".-"
"""Name characters that end a sentence rather than a name: "ask @checkout_db." """


def find_mentions(text: str) -> list[Mention]:
    """The ``@name`` mentions in ``text``, in order (see the module for what is skipped)."""
    if "@" not in text:
        return []
    skipped = _code_ranges(text)
    skipped.extend(match.span() for match in _NOT_PROSE.finditer(text))
    skipped.sort()
    starts = [start for start, _ in skipped]
    mentions: list[Mention] = []
    for match in _MENTION.finditer(text):
        start = match.start()
        before = bisect.bisect_right(starts, start) - 1
        if before >= 0 and any(s <= start < e for s, e in skipped[: before + 1]):
            continue
        written = match.group(1).rstrip(_TRAILING)
        name = written.lower()
        if not written or name in RESERVED:
            continue
        end = match.start(1) + len(written)
        mentions.append(Mention(raw=text[start:end], name=name, start=start, end=end))
    return mentions


def _code_ranges(text: str) -> list[tuple[int, int]]:
    """Backtick code spans and fences, as (start, end) offsets.

    A run of n backticks opens a span that the next run of exactly n closes (CommonMark);
    a fence of three or more is closed by any run at least as long, or runs to the end of
    the text when unclosed (Slack shows it so). A lone backtick is just a character.
    """
    if "`" not in text:
        return []
    runs = [(match.start(), match.end() - match.start()) for match in _BACKTICKS.finditer(text)]
    ranges: list[tuple[int, int]] = []
    index = 0
    while index < len(runs):
        start, width = runs[index]
        closing = next(
            (later for later in range(index + 1, len(runs)) if _closes(width, runs[later][1])), None
        )
        if closing is not None:
            ranges.append((start, runs[closing][0] + runs[closing][1]))
            index = closing + 1
        elif width >= 3:
            ranges.append((start, len(text)))
            break
        else:
            index += 1
    return ranges


def _closes(opening: int, closing: int) -> bool:
    return closing >= opening if opening >= 3 else closing == opening


# --- resolving them ---------------------------------------------------------------------------

_PAD = "\x00\x00"


def _trigrams(text: str) -> frozenset[str]:
    padded = _PAD + text + _PAD
    return frozenset([padded[i : i + 3] for i in range(len(padded) - 2)])


class MentionIndex:
    """Live pattern names and aliases, ready to resolve mentions (see the module).

    ``names`` are (pattern id, current name) of live patterns, which must be unique;
    ``aliases`` map an old name to the id of the live pattern it now means. An alias that
    is also a live name, or that points to no live pattern, is ignored: the live name wins.
    """

    def __init__(
        self,
        names: Iterable[tuple[int, str]],
        aliases: Mapping[str, int] | Iterable[tuple[str, int]] = (),
        split_into: Mapping[str, Sequence[int]] | None = None,
    ) -> None:
        """``split_into``: the name of a pattern that was split, and the ids of its parts:
        a mention of it is ambiguous, with the parts as the suggestions."""
        self._live: dict[str, int] = {}
        self._name_of: dict[int, str] = {}
        for pattern_id, name in names:
            key = name.lower()
            if key in self._live:
                raise ValueError(f"two patterns are named {key!r}: names must be unique")
            self._live[key] = pattern_id
            self._name_of[pattern_id] = name
        self._split_into = {
            name.lower(): tuple(i for i in parts if i in self._name_of)
            for name, parts in (split_into or {}).items()
            if name.lower() not in self._live
        }
        pairs = aliases.items() if isinstance(aliases, Mapping) else aliases
        self._aliases: dict[str, int] = {}
        for alias, pattern_id in pairs:
            key = alias.lower()
            if pattern_id in self._name_of and key not in self._live:
                self._aliases[key] = pattern_id

        # Every name and alias is an entry of the typo index, which knows its pattern.
        # Entries are numbered shortest first, so that each trigram's posting list (entry
        # numbers, ascending) holds the names of a range of lengths in one slice.
        entries = sorted(
            [*self._live.items(), *self._aliases.items()], key=lambda e: (len(e[0]), e[0])
        )
        self._entry_names = [key for key, _ in entries]
        self._entry_ids = [pattern_id for _, pattern_id in entries]
        postings: defaultdict[str, list[int]] = defaultdict(list)
        for entry, key in enumerate(self._entry_names):
            padded = _PAD + key + _PAD
            # A trigram twice in one name lists the name twice: it then counts two hits,
            # which only lets more candidates through to the exact checks.
            for start in range(len(padded) - 2):
                postings[padded[start : start + 3]].append(entry)
        self._bags: dict[int, int] = {}
        """Character bags (``_bag``) of the entries looked at so far, made on first use."""
        self._postings = dict(postings)
        longest = len(self._entry_names[-1]) if entries else 0
        # _first_longer[n]: the first entry longer than n characters.
        self._first_longer = [0] * (longest + 1)
        for entry, key in enumerate(self._entry_names):
            self._first_longer[len(key)] = entry + 1
        for n in range(1, longest + 1):
            self._first_longer[n] = max(self._first_longer[n], self._first_longer[n - 1])
        self._by_name = sorted(range(len(entries)), key=self._entry_names.__getitem__)
        self._sorted_names = [self._entry_names[entry] for entry in self._by_name]

    def aliases(self) -> set[str]:
        """Old names (lower case) that still resolve to a live pattern."""
        return set(self._aliases)

    @classmethod
    def from_store(
        cls,
        patterns: PatternStore,
        classifications: ClassificationStore,
        *,
        loaded: Sequence[SpanPattern] | None = None,
    ) -> MentionIndex:
        """The live patterns of a store with their aliases; a merged pattern's name (and its
        aliases) mean the live pattern it was merged into, however many merges ago.

        ``loaded`` is what ``patterns.load()`` gave, for a caller that has it already.
        Aliases are read in one query (``ClassificationStore.all_aliases``).
        """
        old_names = classifications.all_aliases()
        stored = patterns.load(sketches=False) if loaded is None else loaded
        merged_into = {pattern.id: pattern.merged_into for pattern in stored}
        stored_by_id = {pattern.id: pattern for pattern in stored}

        def live(pattern_id: int) -> int | None:
            seen = {pattern_id}
            target = merged_into.get(pattern_id)
            while target is not None:
                pattern_id = target
                if pattern_id in seen or pattern_id not in merged_into:
                    return None  # a merge cycle or a dangling id: means nothing
                seen.add(pattern_id)
                target = merged_into[pattern_id]
            return pattern_id

        split_into = split_parts(stored)
        names = [(p.id, p.name) for p in stored if p.merged_into is None and p.id not in split_into]
        aliases: dict[str, int] = {}
        for pattern in stored:
            target = live(pattern.id)
            if target is None:
                continue
            if pattern.merged_into is not None:
                aliases.setdefault(pattern.name.lower(), target)
            for alias in old_names.get(pattern.id, ()):
                aliases.setdefault(alias.lower(), target)
        parts_by_name: dict[str, list[int]] = {}
        for pattern_id, parts in split_into.items():
            for name in (stored_by_id[pattern_id].name, *old_names.get(pattern_id, ())):
                if len(parts) == 1:  # its parts were merged back into one: that one
                    aliases.setdefault(name.lower(), parts[0])
                else:
                    parts_by_name.setdefault(name, parts)
        return cls(names, aliases, parts_by_name)

    def __len__(self) -> int:
        return len(self._live)

    def resolve_mentions(self, text: str) -> list[tuple[Mention, Resolution]]:
        return [(mention, self.resolve(mention.name)) for mention in find_mentions(text)]

    def resolve(self, name: str) -> Resolution:
        query = name.lower().removeprefix("@")
        pattern_id = self._live.get(query)
        if pattern_id is not None:
            return Resolution(query, "exact", pattern_id, self._name_of[pattern_id])
        pattern_id = self._aliases.get(query)
        if pattern_id is not None:
            return Resolution(query, "alias", pattern_id, self._name_of[pattern_id])
        parts = self._split_into.get(query)
        if parts:
            return Resolution(query, "ambiguous", suggestions=self._names(parts))

        grams = _trigrams(query)
        tolerance = max_typos(len(query))
        distances = self._near(query, grams, tolerance) if tolerance else {}
        if distances and min(distances.values()) == tolerance:
            # Is the runner-up one edit further? Look that far too.
            distances = self._near(query, grams, tolerance + 1)
        ranked = sorted(distances, key=lambda p: (distances[p], self._order(p)))
        prefixed = self._word_prefix_matches(query)

        if ranked and distances[ranked[0]] <= tolerance:
            best, nearest = ranked[0], distances[ranked[0]]
            runner_up = distances[ranked[1]] if len(ranked) > 1 else nearest + 2
            if runner_up >= nearest + 2 and all(p == best for p in prefixed):
                return Resolution(query, "fuzzy", best, self._name_of[best])
            nearly = [p for p in ranked if distances[p] <= nearest + 1]
            contenders = _unique([*nearly, *prefixed])
            return Resolution(query, "ambiguous", suggestions=self._names(contenders))
        if len(prefixed) == 1:
            return Resolution(query, "fuzzy", prefixed[0], self._name_of[prefixed[0]])
        if prefixed:
            return Resolution(query, "ambiguous", suggestions=self._names(prefixed))
        return Resolution(query, "unknown", suggestions=self._names(self._similar(grams)))

    # --- internals ---------------------------------------------------------------------------

    def _order(self, pattern_id: int) -> tuple[int, str]:
        name = self._name_of[pattern_id]
        return (len(name), name)

    def _names(self, pattern_ids: Iterable[int]) -> tuple[str, ...]:
        return tuple(self._name_of[p] for p in list(pattern_ids)[:MAX_SUGGESTIONS])

    def _bag_of(self, entry: int) -> int:
        bag = self._bags.get(entry)
        if bag is None:
            bag = self._bags[entry] = _bag(self._entry_names[entry])
        return bag

    def _entries_of_lengths(self, shortest: int, longest: int) -> tuple[int, int]:
        """The range of entry numbers whose names are ``shortest..longest`` long."""
        table = self._first_longer

        def first_longer(n: int) -> int:
            if n < 0:
                return 0
            return table[n] if n < len(table) else len(self._entry_names)

        return first_longer(shortest - 1), first_longer(longest)

    def _near(self, query: str, grams: frozenset[str], bound: int) -> dict[int, int]:
        """Patterns with a name or alias within ``bound`` edits: pattern id -> distance.

        Candidates are names of a length within ``bound`` that hold enough of the mention's
        rarest trigrams (the q-gram lemma: at most ``4 * bound`` can be missing) and whose
        characters, counted, differ from the mention's by at most ``bound`` either way (a
        substitution changes the counts by one each way, an insertion or a deletion one
        way, a transposition not at all); they alone get an edit distance.
        """
        length = len(query)
        missing = 4 * bound
        low, high = self._entries_of_lengths(length - bound, length + bound)
        candidates: Iterable[int]
        if len(grams) > missing:
            postings = self._postings
            ranges: list[tuple[int, list[int], int, int]] = []
            for gram in grams:
                found = postings.get(gram)
                if found:
                    start = bisect.bisect_left(found, low)
                    end = bisect.bisect_left(found, high, start)
                    if end > start:
                        ranges.append((end - start, found, start, end))
            looked_at = min(len(grams), missing + 1 + RARE_GRAMS_BEYOND)
            enough = looked_at - missing
            # Grams no name of these lengths has are among the rarest, with no hits.
            counted = max(looked_at - (len(grams) - len(ranges)), 0)
            hits: Counter[int] = Counter()
            for _, found, start, end in heapq.nsmallest(counted, ranges, key=_first):
                hits.update(found[start:end])
            candidates = [entry for entry, n in hits.items() if n >= enough]
        else:  # too short for the lemma to say anything: every name of a near length
            candidates = range(low, high)
        found_distances: dict[int, int] = {}
        names, ids, bag_of = self._entry_names, self._entry_ids, self._bag_of
        query_bag = _bag(query)
        for entry in candidates:
            name = names[entry]
            name_bag = bag_of(entry)
            if query_bag >= 0 and name_bag >= 0:
                surplus = _bag_surplus(query_bag, name_bag)
                if surplus > bound or surplus - (length - len(name)) > bound:
                    continue
            distance = osa_distance(query, name, bound)
            if distance <= bound:
                pattern_id = ids[entry]
                if distance < found_distances.get(pattern_id, bound + 1):
                    found_distances[pattern_id] = distance
        return found_distances

    def _word_prefix_matches(self, query: str, enough: int = 64) -> list[int]:
        """Patterns with a name or alias whose first words are all of ``query``'s words,
        shortest name first; the first ``enough`` such names are looked at, and more only
        while they all belong to one pattern."""
        words = query.split("_")
        if len(words) < MIN_PREFIX_WORDS or not all(words):
            return []
        prefix = query + "_"
        sorted_names = self._sorted_names
        found: list[int] = []
        position = bisect.bisect_left(sorted_names, prefix)
        while position < len(sorted_names) and sorted_names[position].startswith(prefix):
            found.append(self._entry_ids[self._by_name[position]])
            position += 1
            if len(found) >= enough and len(set(found)) > 1:
                break
        return sorted(_unique(found), key=self._order)

    def _similar(self, grams: frozenset[str]) -> list[int]:
        """Patterns whose names share many trigrams with an unknown mention, best first,
        for "did you mean": the names holding most of its rarer trigrams (up to
        ``SIMILAR_BUDGET`` postings read) are scored by trigram (Jaccard) similarity, and
        those at ``MIN_SIMILARITY`` or above kept."""
        postings = self._postings
        rarest = heapq.nsmallest(SIMILAR_GRAMS, grams, key=lambda g: len(postings.get(g, ())))
        hits: Counter[int] = Counter()
        counted = 0
        for gram in rarest:
            found = postings.get(gram, ())
            if counted and counted + len(found) > SIMILAR_BUDGET:
                break
            hits.update(found)
            counted += len(found)
        scored: dict[int, float] = {}
        for entry, _ in hits.most_common(SIMILAR_CANDIDATES):
            other = _trigrams(self._entry_names[entry])
            shared = len(grams & other)
            score = shared / (len(grams) + len(other) - shared)
            if score >= MIN_SIMILARITY:
                pattern_id = self._entry_ids[entry]
                scored[pattern_id] = max(score, scored.get(pattern_id, 0.0))
        return sorted(scored, key=lambda p: (-scored[p], self._order(p)))


RARE_GRAMS_BEYOND = 12
"""Trigrams counted beyond the ``4k + 1`` the lemma needs: each raises the hits a candidate
needs by one, so fewer get as far as an edit distance."""
SIMILAR_GRAMS = 12
SIMILAR_BUDGET = 2500
SIMILAR_CANDIDATES = 32
MIN_SIMILARITY = 0.25
"""Trigram (Jaccard) similarity below which an unknown mention gets no suggestion."""


_BAG_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_.-"
_BAG_BYTES = len(_BAG_ALPHABET) + 1  # and one for every other character
_HIGH_BITS = int.from_bytes(b"\x80" * _BAG_BYTES, "little")


def _bag(text: str) -> int:
    """How many of each character ``text`` has, one byte per character of the alphabet
    and one for all others, packed into an int; -1 when a count does not fit in 7 bits."""
    counts = [*map(text.count, _BAG_ALPHABET)]
    counts.append(len(text) - sum(counts))
    if max(counts) > 127:
        return -1
    return int.from_bytes(bytes(counts), "little")


def _bag_surplus(bag: int, other: int) -> int:
    """How many characters ``bag`` has beyond ``other`` (both from ``_bag``), byte by
    byte at once: each byte of ``(bag | high bits) - other`` is 128 plus the difference,
    with no borrow between bytes, so the high bit says where the difference is positive."""
    difference = (bag | _HIGH_BITS) - other
    positive = difference & _HIGH_BITS
    surplus = (difference ^ positive) & ((positive >> 7) * 0xFF)
    return sum(surplus.to_bytes(_BAG_BYTES, "little"))


def _first(item: tuple[int, list[int], int, int]) -> int:
    return item[0]


def _unique(pattern_ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(pattern_ids))


def osa_distance(a: str, b: str, bound: int) -> int:
    """Damerau-Levenshtein distance in its optimal-string-alignment form (substitutions,
    insertions, deletions and transpositions of adjacent characters, no substring edited
    twice), or ``bound + 1`` when it is more than ``bound``.

    Common prefixes and suffixes are dropped first, then only the diagonal band of width
    ``2 * bound + 1`` is computed, stopping as soon as a row is all above ``bound``.
    """
    if a == b:
        return 0
    over = bound + 1
    start, shortest = 0, min(len(a), len(b))
    while start < shortest and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    rows, columns = len(a), len(b)
    if abs(rows - columns) > bound:
        return over
    if rows == 0 or columns == 0:
        return max(rows, columns)
    before = [over] * (columns + 1)
    previous = [min(j, over) for j in range(columns + 1)]
    for i in range(1, rows + 1):
        current = [over] * (columns + 1)
        current[0] = row_min = min(i, over)
        char = a[i - 1]
        char_before = a[i - 2] if i > 1 else ""
        for j in range(max(1, i - bound), min(columns, i + bound) + 1):
            value = previous[j - 1] + (char != b[j - 1])
            if previous[j] < value:
                value = previous[j] + 1
            if current[j - 1] < value:
                value = current[j - 1] + 1
            if j > 1 and char == b[j - 2] and char_before == b[j - 1] and before[j - 2] < value:
                value = before[j - 2] + 1
            if value > over:
                value = over
            current[j] = value
            if value < row_min:
                row_min = value
        if row_min > bound:
            return over
        before, previous = previous, current
    return previous[columns]
