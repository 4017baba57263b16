"""One chat turn: resolve what the question is about, compute the facts, answer from them.

Order of resolution: the question's @mentions (exact name, old name, close spelling); with
none, a pattern an earlier turn is referred to by ("back to the first one", "that query":
one the last answer named); a ranking the question asks ("which pattern is the busiest?");
the patterns the conversation was last about ("and its error rate?"), or, asked what made
them slow or fail, the pattern down their call chain the facts trace it to; with none of
those, the patterns the question names by service or words. An @mention that resolves to
no pattern, or to several, is answered with suggestions, never with facts about another
pattern. With a model, it writes the answer from the facts (``app.chat.model_answer``); with
none, or when it fails, the answer is the facts written out (``app.facts.render``). Every
answer carries its citations and the facts it used.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from app.chat.conversations import Conversations, Turn
from app.chat.index import Retriever
from app.chat.lexical import (
    Measure,
    Ranked,
    WordIndex,
    changes_asked,
    compare_asked,
    noise_asked,
    ranking_asked,
    reference_asked,
    root_cause_asked,
    terms,
)
from app.chat.mentions import MentionIndex, find_mentions
from app.chat.model_answer import ModelAnswerer
from app.chat.references import CAUSE_ASKED, last_cited, referred_to
from app.chat.time_window import TimeWindow, WindowProblem, window_asked
from app.chat.tools import ChatTools
from app.chat.window_placement import PlacedWindow, place_window, whole_window
from app.classify.run import live_patterns
from app.classify.store import ClassificationStore
from app.discovery.patterns import SpanPattern
from app.discovery.store import PatternStore
from app.discovery.traceql import grafana_explore_url, traceql_for
from app.facts.activity import ActivityIndex
from app.facts.compare import comparison, comparison_text
from app.facts.live import LiveSource, live_text
from app.facts.pattern_facts import PatternFacts, pattern_facts
from app.facts.render import Intent, answer_text, intents, rendered_ms
from app.facts.render_changes import what_changed_text
from app.facts.render_root_cause import root_cause_text
from app.facts.root_cause import root_causes
from app.facts.units import duration_text, moment_text
from app.facts.what_changed import what_changed
from app.facts.window_facts import window_facts
from app.model_gate import ModelGate
from app.settings import Settings
from app.telemetry.metrics import CHAT_ANSWERS
from app.tempo_runner import TempoRunner

if TYPE_CHECKING:
    from app.chat.agent import ToolAgent

MAX_PATTERNS = 3
SUGGESTIONS = 3
SUGGESTION_DISTANCE = 0.8
"""Cosine distance beyond which a description is not like a mention's words at all: on the
sample system, meant words land at 0.35-0.75 and nonsense (``nope nope``) at 0.9."""
LINK_MARGIN_S = 300
_PRONOUN = re.compile(r"\b(?:it|its|this|that|them|they|these|those)\b", re.IGNORECASE)
"""A question about what changed that points back at patterns is about them, not all."""


@dataclass(frozen=True)
class GrafanaLinks:
    """Explore links for cited patterns, over the time their spans were seen."""

    base_url: str
    datasource_uid: str

    def explore(self, pattern: SpanPattern, query: str) -> str:
        stats = pattern.stats
        start = int(stats.first_seen_unix_nano // 1_000_000_000) - LINK_MARGIN_S
        end = int(stats.last_seen_unix_nano // 1_000_000_000) + LINK_MARGIN_S
        return grafana_explore_url(self.base_url, self.datasource_uid, query, start, end)

    @classmethod
    def from_settings(cls, settings: Settings) -> GrafanaLinks | None:
        if not settings.grafana_url:
            return None
        return cls(settings.grafana_url, settings.grafana_tempo_datasource_uid)


@dataclass(frozen=True)
class _Gist:
    """What the classifier said of a pattern."""

    description: str
    verdict: str
    reasoning: str


@dataclass(frozen=True)
class _Snapshot:
    version: int
    graph: dict[int, SpanPattern]
    live: list[SpanPattern]
    gists: dict[int, _Gist]
    words: WordIndex
    index: MentionIndex
    oldest_s: int
    newest_s: int
    """When the first and the last span of the live patterns were seen (unix seconds)."""


class _Decoded(Mapping[int, SpanPattern]):
    """The snapshot's patterns, each decoded in full (durations over time) when first read:
    facts read the neighbours of a few patterns and the patterns down a call chain only."""

    def __init__(self, graph: Mapping[int, SpanPattern], store: PatternStore) -> None:
        self._graph = graph
        self._store = store
        self._full: dict[int, SpanPattern] = {}

    def preload(self, ids: set[int]) -> None:
        self._full.update(self._store.load_ids(ids - self._full.keys()))

    def __getitem__(self, pattern_id: int) -> SpanPattern:
        found = self._full.get(pattern_id)
        if found is None:
            if pattern_id not in self._graph:
                raise KeyError(pattern_id)
            found = self._store.load_ids([pattern_id]).get(pattern_id, self._graph[pattern_id])
            self._full[pattern_id] = found
        return found

    def __iter__(self) -> Iterator[int]:
        return iter(self._graph)

    def __len__(self) -> int:
        return len(self._graph)


@dataclass
class _Prepared:
    """A turn before any model writes it: the answer from the facts, the conversation so
    far, the mentions that did not resolve, the ids of the patterns cited and of those the
    facts point to, and the window stated."""

    answer: ChatAnswer
    history: list[Turn]
    unresolved: list[str] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)
    pointed: list[int] = field(default_factory=list)
    window: str | None = None


@dataclass
class ChatAnswer:
    conversation_id: str
    question: str
    answer: str
    mode: str
    """``offline`` (facts written out) or ``model``."""
    mentions: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    facts: list[dict[str, Any]] = field(default_factory=list)
    window: dict[str, Any] | None = None
    """The window the answer is about (``PlacedWindow.as_dict``); None when none could be."""
    facts_text: str | None = None
    """With a model: the facts it started from, written out as without one (shown with
    the model's answer everywhere)."""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """With a model: the tools it called, their arguments, and whether they answered."""
    unverified: list[str] = field(default_factory=list)
    """With a model: what its text says that the facts and tool results do not hold."""

    def model_notes(self) -> list[str]:
        """Under a model's answer: what it looked up, what it said that no fact holds, and
        the facts it started from, written out (CLI and Slack show them; so does the page)."""
        lines = []
        if self.tool_calls:
            calls = ", ".join(
                f"{call['tool']}{'' if call.get('ok') else ' (failed)'}" for call in self.tool_calls
            )
            lines.append(f"Looked up: {calls}.")
        if self.unverified:
            lines.append(
                f"Marked [unverified]: {', '.join(self.unverified)} (in no fact it was given)."
            )
        if self.facts_text:
            lines.append("Facts it started from:\n" + self.facts_text)
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "question": self.question,
            "answer": self.answer,
            "mode": self.mode,
            "mentions": self.mentions,
            "citations": self.citations,
            "facts": self.facts,
            "window": self.window,
            "facts_text": self.facts_text,
            "tool_calls": self.tool_calls,
            "unverified": self.unverified,
        }


class ChatService:
    """Answers questions about the patterns of one pattern store."""

    def __init__(
        self,
        store: PatternStore,
        *,
        grafana: GrafanaLinks | None = None,
        answerer: ModelAnswerer | None = None,
        retrieve: Retriever | None = None,
        live: LiveSource | None = None,
        gate: ModelGate | None = None,
        clock: Callable[[], float] = time.time,
        live_window_s: int = 3600,
        tempo: TempoRunner | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self.live_window_s = live_window_s
        self._activity: tuple[int, ActivityIndex] | None = None
        self._lock = threading.Lock()
        self._cached: _Snapshot | None = None
        self._grafana = grafana
        self._answerer = answerer
        self._retrieve = retrieve
        self._live = live
        self._gate = gate
        self._classifications = ClassificationStore(store)
        self._conversations = Conversations(store)
        self.tools = ChatTools(self, tempo, clock)
        """What a model may call, and what a page, Slack or an MCP server may call too."""
        self.agent: ToolAgent | None = None
        """With a model: the agent that answers through the tools."""
        if answerer is not None:
            from app.chat.agent import ToolAgent  # LangChain's agent: only with a model

            self.agent = ToolAgent(answerer, self.tools)

    def _snapshot(self) -> _Snapshot:
        """Patterns (without sketches), descriptions and the mention index, rebuilt only
        when another connection has committed to the store since the last question."""
        version = self._store.data_version()
        if self._cached is None or self._cached.version != version:
            every = self._store.load(sketches=False)
            live = live_patterns(every)
            current = self._classifications.current(live)
            gists = {
                i: _Gist(
                    c.classification.description,
                    c.classification.verdict.value,
                    c.classification.reasoning,
                )
                for i, c in current.items()
            }
            self._cached = _Snapshot(
                version=version,
                graph={p.id: p for p in every},
                live=live,
                gists=gists,
                words=WordIndex(live, {i: g.description for i, g in gists.items()}),
                index=MentionIndex.from_store(self._store, self._classifications, loaded=every),
                oldest_s=min(
                    (p.stats.first_seen_unix_nano // 1_000_000_000 for p in live if p.stats.count),
                    default=0,
                ),
                newest_s=max(
                    (p.stats.last_seen_unix_nano // 1_000_000_000 for p in live if p.stats.count),
                    default=0,
                ),
            )
        return self._cached

    def _activity_index(self, snapshot: _Snapshot) -> ActivityIndex:
        """Every live pattern's timeline, read once per version of the store, when a
        question first asks about a window."""
        if self._activity is None or self._activity[0] != snapshot.version:
            seen = (snapshot.oldest_s, snapshot.newest_s + 1)
            index = ActivityIndex(self._store.load_activity(), seen)
            self._activity = (snapshot.version, index)
        return self._activity[1]

    def _placed(self, question: str, snapshot: _Snapshot) -> PlacedWindow | WindowProblem:
        """The window the question asks about, placed where spans are (all spans seen when
        it asks about none); or why it cannot be answered."""
        asked = window_asked(question, self._clock())
        if asked is None or isinstance(asked, WindowProblem):
            return asked or whole_window(snapshot.oldest_s, snapshot.newest_s)
        activity = self._activity_index(snapshot)
        return place_window(asked, snapshot.oldest_s, snapshot.newest_s, activity.has_spans)

    def _by_meaning(self, name: str, graph: dict[int, SpanPattern]) -> list[str]:
        """Names whose descriptions mean most like an unknown mention's words: suggestions
        only, never an answer about them, and none when nothing is near (``@nope_nope``)."""
        if self._retrieve is None:
            return []
        words = name.replace("_", " ").replace(".", " ")
        hits = self._retrieve(words, SUGGESTIONS, max_distance=SUGGESTION_DISTANCE)
        return [graph[i].name for i in hits if i in graph and graph[i].merged_into is None]

    def ask(self, question: str, conversation_id: str | None = None) -> ChatAnswer:
        """The answer; ``Overloaded`` when the model gate refuses the call."""
        # The facts are computed one question at a time (they share the cached snapshot);
        # the model call, which takes seconds, runs outside the lock.
        with self._lock:
            prepared = self._facts(question, conversation_id)
        answer, unresolved = prepared.answer, prepared.unresolved
        # With tools, the model may look up what the question needs even when no pattern
        # was resolved; a window that cannot be answered is said as it is.
        if self.agent is not None and prepared.window is not None:
            with self._gate.slot() if self._gate is not None else nullcontext():
                try:
                    reply = self.agent.answer(
                        question, prepared.history, answer.facts, unresolved, prepared.window
                    )
                except Exception as exc:  # the facts still answer; say why the model did not
                    answer.answer += f"\n\n(The model could not answer: {_why(exc)}.)"
                else:
                    text = reply.text
                    if prepared.window and not text.startswith("Window"):
                        text = f"{prepared.window.splitlines()[0]}\n\n{text}"  # always said
                    answer.facts_text, answer.answer = answer.answer, text
                    answer.mode = "model"
                    answer.tool_calls = reply.calls
                    answer.unverified = reply.unverified
                    answer.facts.extend(
                        {"kind": "tool_result", **result} for result in reply.results
                    )
        with self._lock:
            self._conversations.add(
                answer.conversation_id, question, answer.answer, prepared.cited, prepared.pointed
            )
        CHAT_ANSWERS.labels(answer.mode).inc()
        return answer

    def lookup(self, question: str) -> ChatAnswer:
        """The offline answer to a question, outside any conversation and never written by
        a model: what the tools a model calls return (``app.chat.tools``), so a model's
        lookups and the offline answers are the same computation."""
        with self._lock:
            return self._facts(question, None, remember=False).answer

    def find_patterns(self, words: str, limit: int) -> list[dict[str, Any]]:
        """Live patterns whose names, services or descriptions hold the words, then those
        whose descriptions mean the most like them: for a model looking for what to ask."""
        with self._lock:
            snapshot = self._snapshot()
            found = snapshot.words.find(words, limit)
            if len(found) < limit and self._retrieve is not None:
                more = self._retrieve(words, limit, max_distance=SUGGESTION_DISTANCE)
                for pattern_id in more:
                    pattern = snapshot.graph.get(pattern_id)
                    if pattern is not None and pattern.merged_into is None and pattern not in found:
                        found.append(pattern)
            gists = snapshot.gists
            return [
                {
                    "name": p.name,
                    "service": p.service,
                    "span_kind": p.span_kind,
                    "operation": p.operation,
                    "description": gists[p.id].description if p.id in gists else None,
                    "verdict": gists[p.id].verdict if p.id in gists else None,
                    "spans": p.stats.count,
                }
                for p in found[:limit]
            ]

    def known_names(self) -> set[str]:
        """The names of the live patterns, and the old names that still resolve."""
        with self._lock:
            snapshot = self._snapshot()
            return {p.name for p in snapshot.live} | snapshot.index.aliases()

    def _facts(
        self, question: str, conversation_id: str | None, *, remember: bool = True
    ) -> _Prepared:
        """The answer written from the facts, and what a model answer and the conversation
        need besides."""
        conversation_id = conversation_id or Conversations.new_id()
        snapshot = self._snapshot()
        graph, gists = snapshot.graph, snapshot.gists
        index = snapshot.index
        decoded = _Decoded(graph, self._store)
        history = self._conversations.history(conversation_id) if remember else []

        answer = ChatAnswer(conversation_id, question, "", "offline")
        window = self._placed(question, snapshot)
        if isinstance(window, WindowProblem):
            answer.answer = window.message
            return _Prepared(answer, history)
        answer.window = window.as_dict()
        chosen: list[SpanPattern] = []
        unresolved: list[str] = []
        parts: list[str] = []
        for mention in find_mentions(question):
            resolution = index.resolve(mention.name)
            entry: dict[str, Any] = {"mention": f"@{mention.name}", "kind": resolution.kind}
            if resolution.pattern_id is not None:
                pattern = graph[resolution.pattern_id]
                entry["pattern"] = pattern.name
                if all(p.id != pattern.id for p in chosen):
                    chosen.append(pattern)
            else:
                suggestions = list(resolution.suggestions) or self._by_meaning(mention.name, graph)
                entry["suggestions"] = suggestions
                unresolved.append(_did_you_mean(mention.name, suggestions))
            answer.mentions.append(entry)
        parts.extend(unresolved)
        if not answer.mentions and root_cause_asked(question):
            return self._root_cause(question, answer, history, snapshot)
        if not answer.mentions and changes_asked(question) and not _PRONOUN.search(question):
            return self._what_changed(question, answer, history, window, snapshot)
        if not answer.mentions:
            chosen = self._unmentioned(question, history, snapshot, decoded, parts)

        chosen = chosen[:MAX_PATTERNS]
        # Durations are wanted only for these and their neighbours: decode those in full
        # at once (patterns further down a call chain are decoded as the facts reach them).
        wanted = {p.id for p in chosen}
        for pattern in chosen:
            wanted.update(pattern.parents, pattern.children)
        decoded.preload(wanted)
        pointed: list[tuple[int, int]] = []
        activity = self._activity_index(snapshot) if window.asked else None
        texts: list[str] = []
        compared: list[PatternFacts] = []
        for pattern in [decoded[p.id] for p in chosen]:
            facts = self._pattern_facts(pattern, decoded, gists)
            if activity is not None:
                numbers = window_facts(activity, pattern.id, window.start_s, window.end_s)
                facts = replace(facts, window=numbers)
            pointed.extend(_pointed_to(facts))
            text, document = answer_text(question, facts), facts.as_dict()
            if self._live is not None:
                live_window = self._live_window(window)
                try:
                    live = self._live(pattern, *live_window)
                except Exception as exc:  # Tempo down or slow: the stored facts still answer
                    document["live"] = {"error": f"{type(exc).__name__}: {exc}"}
                    text += f"\n(Tempo could not give live numbers: {type(exc).__name__}.)"
                else:
                    document["live"] = live.as_dict()
                    text += "\n" + live_text(live)
            texts.append(text)
            compared.append(facts)
            answer.facts.append(document)
            citation = _citation(pattern, facts.error_traces, facts.slow_traces)
            if self._grafana is not None:
                citation["grafana_url"] = self._grafana.explore(pattern, citation["traceql"])
            answer.citations.append(citation)
        if len(compared) > 1 and compare_asked(question):
            table = comparison(compared)
            answer.facts.insert(0, table.as_dict())
            parts.append(comparison_text(table))
        else:
            parts.extend(texts)
        if not parts:
            parts.append(
                "I could not tell which pattern you mean. Mention one with @name "
                "(`spanwise patterns list` shows them), or name a service."
            )
        answer.answer = "\n\n".join([window.stated(), *parts])
        return _Prepared(
            answer, history, unresolved, [p.id for p in chosen], _by_rank(pointed), window.stated()
        )

    def _what_changed(
        self,
        question: str,
        answer: ChatAnswer,
        history: list[Turn],
        window: PlacedWindow,
        snapshot: _Snapshot,
    ) -> _Prepared:
        """ "What changed?": across all patterns, the window against the one before it; with
        no window asked, the last ``live_window_s`` (moved to the newest spans when older)."""
        activity = self._activity_index(snapshot)
        if not window.asked:
            end = int(self._clock())
            said = f"the last {duration_text(self.live_window_s)}"
            asked = TimeWindow(end - self.live_window_s, end, said)
            window = place_window(asked, snapshot.oldest_s, snapshot.newest_s, activity.has_spans)
            answer.window = window.as_dict()
        window = _with_window_before(window, snapshot.oldest_s)
        answer.window = window.as_dict()
        verdicts = {pattern_id: gist.verdict for pattern_id, gist in snapshot.gists.items()}
        result = what_changed(
            activity,
            snapshot.graph,
            verdicts,
            window.start_s,
            window.end_s,
            with_noise=noise_asked(question),
        )
        answer.facts.append(result.as_dict())
        # the largest changes, and what appeared (or went) when that is news too
        cited = [change.pattern_id for change in result.changed[:MAX_PATTERNS]]
        appeared = [a.pattern_id for a in [*result.new, *result.gone]][:1]
        if appeared:
            cited = [*cited[: MAX_PATTERNS - 1], *appeared]
        for pattern_id in cited:
            citation = _citation(snapshot.graph[pattern_id], [], [])
            if self._grafana is not None:
                pattern = snapshot.graph[pattern_id]
                citation["grafana_url"] = self._grafana.explore(pattern, citation["traceql"])
            answer.citations.append(citation)
        answer.answer = f"{window.stated()}\n\n{what_changed_text(result)}"
        return _Prepared(answer, history, [], cited, [], window.stated())

    def _root_cause(
        self, question: str, answer: ChatAnswer, history: list[Turn], snapshot: _Snapshot
    ) -> _Prepared:
        """ "Which service is behind it?": where the window's change started, against the
        window before it or the reference the question names ("compared with yesterday")."""
        text, reference_words = reference_asked(question)
        activity = self._activity_index(snapshot)
        window = self._placed(text, snapshot)
        if isinstance(window, WindowProblem):
            answer.answer = window.message
            return _Prepared(answer, history)
        if not window.asked:
            end = int(self._clock())
            said = f"the last {duration_text(self.live_window_s)}"
            asked = TimeWindow(end - self.live_window_s, end, said)
            window = place_window(asked, snapshot.oldest_s, snapshot.newest_s, activity.has_spans)
        reference = _reference(reference_words, window, self._clock())
        if isinstance(reference, WindowProblem):
            answer.answer = reference.message
            return _Prepared(answer, history)
        if reference is None:
            window = _with_window_before(window, snapshot.oldest_s)
        answer.window = window.as_dict()
        result = root_causes(
            activity, _WithTimelines(snapshot.graph, self._store), window.start_s, window.end_s,
            reference,
        )  # fmt: skip
        answer.facts.append(result.as_dict())
        cited = []
        for rank in result.ranked[:MAX_PATTERNS]:
            pattern = snapshot.graph.get(rank.changes[0].pattern_id)
            if pattern is None:
                continue
            cited.append(pattern.id)
            citation = _citation(pattern, [], [])
            if self._grafana is not None:
                citation["grafana_url"] = self._grafana.explore(pattern, citation["traceql"])
            answer.citations.append(citation)
        answer.answer = f"{window.stated()}\n\n{root_cause_text(result)}"
        return _Prepared(answer, history, [], cited, cited[:1], window.stated())

    def _live_window(self, window: PlacedWindow) -> tuple[int, int]:
        """The window asked, or with none the last ``live_window_s`` by the wall clock."""
        if window.asked:
            return window.start_s, window.end_s
        end = int(self._clock())
        return end - self.live_window_s, end

    @staticmethod
    def _pattern_facts(
        pattern: SpanPattern, decoded: Mapping[int, SpanPattern], gists: Mapping[int, _Gist]
    ) -> PatternFacts:
        gist = gists.get(pattern.id)
        return pattern_facts(
            pattern,
            decoded,
            gist.description if gist else None,
            verdict=gist.verdict if gist else None,
            verdict_reason=gist.reasoning if gist else None,
        )

    def _unmentioned(
        self,
        question: str,
        history: Sequence[Turn],
        snapshot: _Snapshot,
        decoded: _Decoded,
        parts: list[str],
    ) -> list[SpanPattern]:
        """The patterns a question without @mentions is about; ``parts`` gets any sentence
        that says how they were found (a ranking, a step down a call chain)."""
        graph, live = snapshot.graph, snapshot.live

        def alive(ids: Sequence[int]) -> list[SpanPattern]:
            return [graph[i] for i in ids if i in graph and graph[i].merged_into is None]

        referred = alive(referred_to(question, history, snapshot.index, graph))
        if referred:
            return referred
        measure = ranking_asked(question)
        if measure is not None:
            ranked = snapshot.words.rank(question, measure, _p99s(decoded))
            if ranked:
                parts.append(_ranking_text(measure, ranked))
                return [ranked[0].pattern]
        remembered = alive(last_cited(history))
        if remembered:
            if CAUSE_ASKED.search(question):
                return self._down_the_chain(question, remembered, decoded, snapshot, parts)
            return remembered
        chosen = snapshot.words.find(question, MAX_PATTERNS)
        if Intent.CALLERS in intents(question):
            for service in sorted(snapshot.words.services(terms(question))):
                parts.append(_service_callers(service, live, graph))
        if not chosen and self._retrieve is not None:
            chosen = alive(self._retrieve(question, MAX_PATTERNS))
        return chosen

    def _down_the_chain(
        self,
        question: str,
        remembered: list[SpanPattern],
        decoded: _Decoded,
        snapshot: _Snapshot,
        parts: list[str],
    ) -> list[SpanPattern]:
        """ "What made that slow?": for each pattern the conversation is about, the one down
        its call chain that its extra time (or, asked about errors, its errors) comes from;
        the pattern itself when the facts trace it to no other."""
        asked = intents(question)
        found: list[SpanPattern] = []
        for pattern in remembered:
            decoded.preload({pattern.id, *pattern.children})
            facts = self._pattern_facts(decoded[pattern.id], decoded, snapshot.gists)
            wants_errors = Intent.ERRORS in asked or (Intent.SLOW not in asked and not facts.slow)
            target: int | None = None
            if wants_errors and facts.error_chain:
                target = facts.error_chain[-1].pattern_id
                why = "its errors come from"
            elif not wants_errors and facts.slow and facts.slow[0].ends_at is not None:
                target = facts.slow[0].ends_at
                why = "its extra time was spent in"
            elif not wants_errors and facts.time_split and facts.time_split.chain:
                target = facts.time_split.chain[-1].pattern_id
                why = "its calls spend their time in"
            if target is None or target not in snapshot.graph:
                found.append(pattern)
                continue
            child = snapshot.graph[target]
            parts.append(f"Down the call chain from @{pattern.name}, {why} @{child.name}:")
            found.append(child)
        return list({p.id: p for p in found}.values())


class _WithTimelines(Mapping[int, SpanPattern]):
    """The snapshot's patterns, consumers decoded whole when read: root causes read the
    lag timelines of consumers only (their calls come with every pattern)."""

    def __init__(self, graph: Mapping[int, SpanPattern], store: PatternStore) -> None:
        self._graph = graph
        wanted = {p.id for p in graph.values() if p.span_kind == "consumer"}
        self._full = store.load_ids(wanted) if wanted else {}

    def __getitem__(self, pattern_id: int) -> SpanPattern:
        return self._full.get(pattern_id) or self._graph[pattern_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._graph)

    def __len__(self) -> int:
        return len(self._graph)


_SHIFTS = {"yesterday": 86_400, "the day before": 86_400, "last week": 7 * 86_400}


def _reference(
    words: str | None, window: PlacedWindow, now_s: float
) -> tuple[int, int] | WindowProblem | None:
    """The reference a question names: the same window a day (or a week) before, or a
    window of its own; None when it names none."""
    if words is None:
        return None
    shift = _SHIFTS.get(words.lower().removeprefix("the same time ").strip())
    if shift is not None:
        return window.start_s - shift, window.end_s - shift
    asked = window_asked(words, now_s)
    if asked is None:
        return WindowProblem(
            f'I could not read "{words}" as a time to compare with: try "yesterday", '
            '"last week" or "between 14:00 and 14:30".'
        )
    if isinstance(asked, WindowProblem):
        return asked
    if asked.clock_only:  # bare clock times: on the window's day, before the window
        day = window.start_s - window.start_s % 86_400
        start = day + asked.start_s % 86_400
        if start >= window.start_s:
            start -= 86_400
        return start, start + asked.seconds
    return asked.start_s, asked.end_s


def _with_window_before(window: PlacedWindow, oldest_s: int) -> PlacedWindow:
    """A window whose window before it is mostly older than the first span seen cannot be
    compared with it: the stretch from that span to the window's end, halved, is."""
    length = window.end_s - window.start_s
    if window.start_s - oldest_s >= length // 2:
        return window
    half = max((window.end_s - oldest_s) // 2, 1)
    said = window.said or f"the last {duration_text(length)}"
    note = (
        f"Spans were seen only from {moment_text(oldest_s)}: there is "
        f"no {duration_text(length)} before this window to compare it with, so this compares "
        f"the newest {duration_text(half)} with the {duration_text(half)} before."
    )
    if window.note:
        note = f"{window.note} {note}"
    return PlacedWindow(window.end_s - half, window.end_s, said, note)


def _why(error: Exception) -> str:
    """Why the model could not answer, in a few words (its exception's, when it says)."""
    from app.chat.agent import AgentStopped

    return str(error) if isinstance(error, AgentStopped) else type(error).__name__


def _pointed_to(facts: PatternFacts) -> list[tuple[int, int]]:
    """Where the facts trace a pattern's extra time, its errors and its time to, each with
    its rank: what made a pattern slower or fail is what "that query" most likely means,
    before where its time goes all the while (``_by_rank``)."""
    found = []
    for cause in facts.slow:
        if cause.ends_at is not None:
            found.append((0, cause.ends_at))
    if facts.error_chain:
        found.append((1, facts.error_chain[-1].pattern_id))
    if facts.time_split is not None and facts.time_split.chain:
        found.append((2, facts.time_split.chain[-1].pattern_id))
    return found


def _by_rank(pointed: list[tuple[int, int]]) -> list[int]:
    """Pattern ids pointed to, the best ranked first, each once."""
    return list(dict.fromkeys(pattern_id for _, pattern_id in sorted(pointed, key=lambda p: p[0])))


def _service_callers(
    service: str, live: Sequence[SpanPattern], graph: Mapping[int, SpanPattern]
) -> str:
    """Which other services call any pattern of ``service``, through which of their
    patterns: "which services call inventory?" asks it of the service, not of one route."""
    calls: dict[str, dict[str, int]] = {}
    for pattern in live:
        if pattern.service != service:
            continue
        for parent_id, count in pattern.parents.items():
            parent = graph.get(parent_id)
            if parent is None or parent.merged_into is not None or parent.service == service:
                continue
            by_name = calls.setdefault(parent.service, {})
            by_name[parent.name] = by_name.get(parent.name, 0) + count
    if not calls:
        return f"No other service calls {service} in the traces seen."
    listed = "; ".join(
        f"{caller} ("
        + ", ".join(
            f"@{name}, {count:,} calls"
            for name, count in sorted(names.items(), key=lambda item: -item[1])[:3]
        )
        + ")"
        for caller, names in sorted(calls.items())
    )
    return f"Services that call {service}: {listed}."


def _p99s(decoded: _Decoded) -> Callable[[Sequence[SpanPattern]], dict[int, float]]:
    def p99_ms(patterns: Sequence[SpanPattern]) -> dict[int, float]:
        decoded.preload({p.id for p in patterns})
        return {p.id: decoded[p.id].stats.quantile_ms(0.99) for p in patterns}

    return p99_ms


_MEASURED = {
    Measure.COUNT: ("spans", lambda r: f"{r.value:,.0f} spans"),
    Measure.ERRORS: (
        "errors",
        lambda r: (
            f"{r.value:,.0f} error{'' if r.value == 1 else 's'}, "
            f"{r.pattern.stats.error_rate:.2%} of its spans"
        ),
    ),
    Measure.P99: ("p99 latency", lambda r: f"p99 {rendered_ms(r.value)}"),
}


def _ranking_text(measure: Measure, ranked: list[Ranked]) -> str:
    what, shown = _MEASURED[measure]
    listed = "; ".join(
        f"{number}. @{r.pattern.name} ({r.pattern.service}, {shown(r)})"
        for number, r in enumerate(ranked, 1)
    )
    return f"Ranked by {what}: {listed}. The first one:"


def _did_you_mean(name: str, suggestions: list[str]) -> str:
    if not suggestions:
        return f"I know no pattern named @{name}; `spanwise patterns list` shows them."
    listed = ", ".join(f"@{s}" for s in suggestions)
    return f"I know no pattern named exactly @{name}. Did you mean {listed}?"


def _citation(
    pattern: SpanPattern, error_traces: list[str], slow_traces: list[tuple[str, float]]
) -> dict[str, Any]:
    return {
        "pattern": pattern.name,
        "service": pattern.service,
        "traceql": traceql_for(pattern),
        "trace_ids": list(dict.fromkeys([t for t, _ in slow_traces] + error_traces)),
    }
