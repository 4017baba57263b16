"""Patterns a question names without an @mention: by the services and words it uses.

"why is checkout slow?" names a service; "what does the stripe charge call do?" names words
of an operation. Patterns are scored by the question's words found in their name and
operation (which say what a pattern is) and, counting half as much, in its description
(which also names its neighbours); a named service narrows the choice to its patterns,
where the ones that serve requests come first. Words are compared as ``terms``, with a
light plural stemming on both sides ("checkouts" finds the checkout service), and a few
words people use for a kind of thing find the words spans use for it (``KINDS``: "probes"
finds ``/health``, ``liveness`` and ``readiness`` routes). Meaning-based retrieval
(``retrieval/``) can add to this.

A question that asks for the most of something ("which pattern is the busiest?", "which
frontend endpoint fails most?", "what is the slowest query?") is a ranking
(``ranking_asked``): the patterns its other words allow are ordered by that measure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from app.discovery.patterns import SpanPattern

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by did do does for from has have how i in is it its me my of on or "
    "our so that the their them then there this to was we what when where which who why will "
    "with you your any all show tell slow fast error errors rate why".split()
)
_ENTRY_KINDS = ("server", "consumer")
_NAME_WEIGHT = 2.0
_TEXT_WEIGHT = 1.0


def stem(word: str) -> str:
    """A plural's singular, roughly: ``checkouts`` -> ``checkout``, ``queries`` -> ``query``.

    Applied to both sides of a comparison, so only consistency matters; words ending in
    ``ss``, ``us`` or ``is`` (``address``, ``status``, ``redis``) are left alone.
    """
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=65_536)
def words(text: str) -> frozenset[str]:
    """The words of a text that can name something, as written; cached, as pattern texts
    repeat. (Searches of the pattern list use these: every word asked, exactly.)"""
    return frozenset(
        word for word in _WORD.findall(text.lower()) if word not in _STOP and len(word) > 1
    )


@lru_cache(maxsize=65_536)
def terms(text: str) -> frozenset[str]:
    """``words``, stemmed (``stem``): what chat compares questions and patterns by."""
    found = set()
    for word in words(text):
        stemmed = stem(word)
        if stemmed not in _STOP:
            found.add(stemmed)
    return frozenset(found)


_DATABASES = "postgres postgresql mysql mariadb sqlite mongodb mssql sql"
KINDS: dict[str, frozenset[str]] = {
    kind: terms(spelled)
    for kind, spelled in (
        ("probe", "health healthz healthcheck liveness livez readiness readyz ping"),
        ("healthcheck", "health healthz healthcheck"),
        ("database", _DATABASES),
        ("db", _DATABASES),
        ("cache", "redis memcached valkey"),
        ("queue", "kafka rabbitmq sqs nats pubsub"),
    )
}
"""Words for a kind of thing, and the words the spans of that kind carry (stemmed)."""


class Measure(StrEnum):
    COUNT = "count"
    ERRORS = "errors"
    P99 = "p99"


_RANKINGS = (
    (
        Measure.P99,
        re.compile(r"\bslowest\b|\b(highest|worst|most) (latency|p9\d|duration)", re.I),
    ),
    (
        Measure.ERRORS,
        re.compile(
            r"\b(fail(s|ing)?|errors?|break(s|ing)?) (the )?most\b"
            r"|\bmost (errors?|failures?|failing|failed|broken)\b"
            r"|\b(highest|worst) (error|failure)|\bworst\b",
            re.I,
        ),
    ),
    (
        Measure.COUNT,
        re.compile(
            r"\bbusiest\b|\bmost (traffic|spans?|calls?|called|requests?|requested|used"
            r"|frequent|often|messages?|volume)\b|\b(highest|largest|biggest) "
            r"(traffic|volume|throughput|rate|count)\b",
            re.I,
        ),
    ),
)
_RANKING_WORDS = terms(
    "busiest slowest most highest largest biggest worst latency duration p99 p95 fails fail "
    "failing failure failed broken break breaks breaking traffic volume throughput count "
    "spans calls called requests requested used frequent often messages"
)
_GENERIC_WORDS = terms(
    "pattern patterns operation operations span spans one ones thing things system whole "
    "service services our app application"
)
_ENTRY_WORDS = terms("endpoint endpoints route routes page pages handler handlers api url urls")


def ranking_asked(question: str) -> Measure | None:
    """The measure a question asks the most of, or None when it asks no ranking."""
    for measure, asked in _RANKINGS:
        if asked.search(question):
            return measure
    return None


_CHANGES = re.compile(
    r"\bwhat(?:'s|s| has| have)? (?:changed|different|moved|new)\b|\bwhat(?:'s| is) new\b"
    r"|\bany(?:thing)? (?:change[ds]?|new|different)\b|\bwhat (?:happened|went wrong)\b"
    r"|\b(?:got|gotten|getting) worse\b|\bchanges\b",
    re.IGNORECASE,
)
_NOISE_TOO = re.compile(r"\b(?:includ\w* noise|noise too|with noise|even noise)\b", re.I)


_COMPARE = re.compile(
    r"\bcompar\w*|\bvs\.?(?!\w)|\bversus\b|\bdiffer\w*|\bside by side\b"
    r"|\bwhich (?:one|of (?:them|these|the two|the three)) is\b",
    re.IGNORECASE,
)


def compare_asked(question: str) -> bool:
    """Whether a question asks to set the patterns it names side by side."""
    return bool(_COMPARE.search(question))


_ROOT_CAUSE = re.compile(
    r"\broot[ -]?causes?\b|\bwhich service (?:is )?(?:behind|causing|responsible|to blame)"
    r"|\bwhat(?:'s| is) causing\b|\bculprit\b|\bwhere did (?:it|this|the \w+) start\b|\brca\b",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"\b(?:compared (?:with|to)|relative to|against|versus|vs\.?)\s+", re.I)


def root_cause_asked(question: str) -> bool:
    """Whether a question asks which service a change started in."""
    return bool(_ROOT_CAUSE.search(question))


def reference_asked(question: str) -> tuple[str, str | None]:
    """The question without its reference ("compared with yesterday"), and the reference's
    words; None when it names none."""
    found = _REFERENCE.search(question)
    if found is None:
        return question, None
    return question[: found.start()], question[found.end() :].strip(" ?.!")


def changes_asked(question: str) -> bool:
    """Whether a question asks what changed (across patterns, when it names none)."""
    return bool(_CHANGES.search(question))


def noise_asked(question: str) -> bool:
    """Whether it asks for patterns judged noise too."""
    return bool(_NOISE_TOO.search(question))


@dataclass(frozen=True)
class Ranked:
    pattern: SpanPattern
    value: float
    """The measure: spans, errors, or p99 in milliseconds."""


def with_kinds(asked: frozenset[str]) -> frozenset[str]:
    """The words asked, with the words of the kinds of thing they name (``KINDS``)."""
    extra = [KINDS[word] for word in asked if word in KINDS]
    return asked.union(*extra) if extra else asked


class WordIndex:
    """The words of a set of patterns, indexed once (per snapshot of the store), so that a
    question is scored against the patterns holding its words, not against every one."""

    def __init__(self, patterns: Sequence[SpanPattern], descriptions: Mapping[int, str]) -> None:
        self.patterns = list(patterns)
        self._named: dict[int, frozenset[str]] = {}
        self._described: dict[int, frozenset[str]] = {}
        self._by_word: dict[str, list[SpanPattern]] = {}
        self._by_service: dict[str, list[SpanPattern]] = {}
        for pattern in self.patterns:
            named = terms(f"{pattern.name} {pattern.operation}")
            described = terms(descriptions.get(pattern.id, ""))
            self._named[pattern.id] = named
            self._described[pattern.id] = described
            for word in named | described:
                self._by_word.setdefault(word, []).append(pattern)
            self._by_service.setdefault(pattern.service, []).append(pattern)
        self._service_words = {service: terms(service) for service in self._by_service}

    def services(self, asked: frozenset[str]) -> set[str]:
        """Services every word of whose name the question uses (``checkouts`` names
        ``checkout``)."""
        found = {s for s, named in self._service_words.items() if named and named <= asked}
        # "inventory-r7" asked names that service, not "inventory" too.
        return {
            s
            for s in found
            if not any(self._service_words[s] < self._service_words[other] for other in found)
        }

    def find(self, question: str, limit: int = 3) -> list[SpanPattern]:
        asked = terms(question)
        if not asked:
            return []
        services = self.services(asked)
        asked = with_kinds(asked)
        if services:
            candidates = [p for s in sorted(services) for p in self._by_service[s]]
        else:
            seen: dict[int, SpanPattern] = {}
            for word in asked:
                seen.update((p.id, p) for p in self._by_word.get(word, ()))
            candidates = list(seen.values())
        scored = []
        for pattern in candidates:
            in_name = asked & self._named[pattern.id]
            in_text = (asked & self._described[pattern.id]) - in_name
            entry = pattern.span_kind in _ENTRY_KINDS
            if not in_name and not in_text and not (services and entry):
                continue
            score = (
                _NAME_WEIGHT * len(in_name)
                + _TEXT_WEIGHT * len(in_text)
                + (1.0 if entry else 0.0)
                + math.log10(pattern.stats.count + 1) / 10
            )
            scored.append((score, pattern.id, pattern))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [pattern for _, _, pattern in scored[:limit]]

    def rank(
        self,
        question: str,
        measure: Measure,
        p99_ms: Callable[[Sequence[SpanPattern]], Mapping[int, float]],
        limit: int = 3,
    ) -> list[Ranked]:
        """The patterns the question's other words allow, most first by ``measure``.

        A named service narrows them to its patterns; "endpoint", "route" or "page" to those
        that serve requests; any other word (``query``, ``stripe``) to patterns it is found
        in. ``p99_ms`` gives the p99 of some patterns (their sketches are loaded only when
        asked): candidates are visited by their maximum duration, which no quantile exceeds,
        so the visit stops once no further one can rank.
        """
        asked = terms(question)
        services = self.services(asked)
        service_words = frozenset().union(*(self._service_words[s] for s in services))
        topical = with_kinds(asked - _RANKING_WORDS - _GENERIC_WORDS - _ENTRY_WORDS - service_words)
        entry_only = bool(asked & _ENTRY_WORDS)
        pool = []
        for pattern in self.patterns:
            if services and pattern.service not in services:
                continue
            if entry_only and pattern.span_kind not in _ENTRY_KINDS:
                continue
            if topical and not topical & (self._named[pattern.id] | self._described[pattern.id]):
                continue
            pool.append(pattern)
        if measure is Measure.COUNT:
            ranked = [Ranked(p, p.stats.count) for p in pool]
            ranked.sort(key=lambda r: (-r.value, r.pattern.id))
        elif measure is Measure.ERRORS:
            ranked = [Ranked(p, p.stats.error_count) for p in pool if p.stats.error_count]
            ranked.sort(key=lambda r: (-r.value, -r.pattern.stats.error_rate, r.pattern.id))
        else:
            ranked = _slowest(pool, p99_ms, limit)
        return ranked[:limit]


def find_by_words(
    question: str,
    patterns: Sequence[SpanPattern],
    descriptions: Mapping[int, str],
    limit: int = 3,
) -> list[SpanPattern]:
    """``WordIndex.find`` over patterns indexed for this question alone."""
    return WordIndex(patterns, descriptions).find(question, limit)


def rank_by(
    question: str,
    measure: Measure,
    patterns: Sequence[SpanPattern],
    descriptions: Mapping[int, str],
    p99_ms: Callable[[Sequence[SpanPattern]], Mapping[int, float]],
    limit: int = 3,
) -> list[Ranked]:
    """``WordIndex.rank`` over patterns indexed for this question alone."""
    return WordIndex(patterns, descriptions).rank(question, measure, p99_ms, limit)


_P99_BATCH = 50


def _slowest(
    pool: Sequence[SpanPattern],
    p99_ms: Callable[[Sequence[SpanPattern]], Mapping[int, float]],
    limit: int,
) -> list[Ranked]:
    by_max = sorted(pool, key=lambda p: (-p.stats.max_duration_ns, p.id))
    found: list[Ranked] = []
    for start in range(0, len(by_max), _P99_BATCH):
        batch = by_max[start : start + _P99_BATCH]
        if len(found) >= limit and batch[0].stats.max_duration_ns / 1e6 < found[limit - 1].value:
            break
        quantiles = p99_ms(batch)
        found.extend(
            Ranked(p, min(quantiles.get(p.id, 0.0), p.stats.max_duration_ns / 1e6)) for p in batch
        )
        found.sort(key=lambda r: (-r.value, r.pattern.id))
    return found
