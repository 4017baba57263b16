"""One chat turn: resolve what the question is about, compute the facts, answer from them.

Order of resolution: the question's @mentions (exact name, old name, close spelling); with
none, the patterns the conversation was last about ("and its error rate?"); with none of
those, the patterns the question names by service or words. An @mention that resolves to
no pattern, or to several, is answered with suggestions, never with facts about another
pattern. With a model, it writes the answer from the facts (``app.chat.model_answer``); with
none, or when it fails, the answer is the facts written out (``app.facts.render``). Every
answer carries its citations and the facts it used.
"""

from __future__ import annotations

import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from app.chat.conversations import Conversations, Turn
from app.chat.index import Retriever
from app.chat.lexical import find_by_words
from app.chat.mentions import MentionIndex, find_mentions
from app.chat.model_answer import ModelAnswerer
from app.chat.traceql import grafana_explore_url, traceql_for
from app.classify.run import live_patterns
from app.classify.store import ClassificationStore
from app.discovery.patterns import SpanPattern
from app.discovery.store import PatternStore
from app.facts.live import LiveSource, live_text
from app.facts.pattern_facts import pattern_facts
from app.facts.render import answer_text
from app.model_gate import ModelGate
from app.settings import Settings
from app.telemetry.metrics import CHAT_ANSWERS

MAX_PATTERNS = 3
SUGGESTIONS = 3
LINK_MARGIN_S = 300


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
class _Snapshot:
    version: int
    graph: dict[int, SpanPattern]
    live: list[SpanPattern]
    descriptions: dict[int, str]
    index: MentionIndex


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "question": self.question,
            "answer": self.answer,
            "mode": self.mode,
            "mentions": self.mentions,
            "citations": self.citations,
            "facts": self.facts,
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
    ) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._cached: _Snapshot | None = None
        self._grafana = grafana
        self._answerer = answerer
        self._retrieve = retrieve
        self._live = live
        self._gate = gate
        self._classifications = ClassificationStore(store)
        self._conversations = Conversations(store)

    def _snapshot(self) -> _Snapshot:
        """Patterns (without sketches), descriptions and the mention index, rebuilt only
        when another connection has committed to the store since the last question."""
        version = self._store.data_version()
        if self._cached is None or self._cached.version != version:
            every = self._store.load(sketches=False)
            live = live_patterns(every)
            current = self._classifications.current(live)
            self._cached = _Snapshot(
                version=version,
                graph={p.id: p for p in every},
                live=live,
                descriptions={i: c.classification.description for i, c in current.items()},
                index=MentionIndex.from_store(self._store, self._classifications, loaded=every),
            )
        return self._cached

    def _by_meaning(self, name: str, graph: dict[int, SpanPattern]) -> list[str]:
        """Names whose descriptions mean most like an unknown mention's words: suggestions
        only, never an answer about them."""
        if self._retrieve is None:
            return []
        hits = self._retrieve(name.replace("_", " ").replace(".", " "), SUGGESTIONS)
        return [graph[i].name for i in hits if i in graph and graph[i].merged_into is None]

    def ask(self, question: str, conversation_id: str | None = None) -> ChatAnswer:
        """The answer; ``Overloaded`` when the model gate refuses the call."""
        # The facts are computed one question at a time (they share the cached snapshot);
        # the model call, which takes seconds, runs outside the lock.
        with self._lock:
            answer, history, unresolved, cited = self._facts(question, conversation_id)
        if self._answerer is not None and (answer.facts or unresolved):
            with self._gate.slot() if self._gate is not None else nullcontext():
                try:
                    answer.answer = self._answerer.answer(
                        question, history, answer.facts, unresolved
                    )
                    answer.mode = "model"
                except Exception as exc:  # the facts still answer; say why the model did not
                    answer.answer += f"\n\n(The model could not answer: {type(exc).__name__}.)"
        with self._lock:
            self._conversations.add(answer.conversation_id, question, answer.answer, cited)
        CHAT_ANSWERS.labels(answer.mode).inc()
        return answer

    def _facts(
        self, question: str, conversation_id: str | None
    ) -> tuple[ChatAnswer, list[Turn], list[str], list[int]]:
        """The answer written from the facts, the conversation so far, the mentions that
        did not resolve, and the ids of the patterns cited."""
        conversation_id = conversation_id or Conversations.new_id()
        snapshot = self._snapshot()
        graph, live, descriptions = snapshot.graph, snapshot.live, snapshot.descriptions
        index = snapshot.index

        answer = ChatAnswer(conversation_id, question, "", "offline")
        chosen: list[SpanPattern] = []
        unresolved: list[str] = []
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
        if not answer.mentions:
            remembered = [graph[i] for i in self._conversations.last_cited(conversation_id)]
            chosen = [p for p in remembered if p.merged_into is None] or find_by_words(
                question, live, descriptions, MAX_PATTERNS
            )
            if not chosen and self._retrieve is not None:
                found = [graph[i] for i in self._retrieve(question, MAX_PATTERNS) if i in graph]
                chosen = [p for p in found if p.merged_into is None]

        history = self._conversations.history(conversation_id)
        parts = list(unresolved)
        chosen = chosen[:MAX_PATTERNS]
        # Durations are wanted only for these and their neighbours: decode those in full.
        wanted = {p.id for p in chosen}
        for pattern in chosen:
            wanted.update(pattern.parents, pattern.children)
        full = {**graph, **self._store.load_ids(wanted)}
        for pattern in [full[p.id] for p in chosen]:
            facts = pattern_facts(pattern, full, descriptions.get(pattern.id))
            text, document = answer_text(question, facts), facts.as_dict()
            if self._live is not None:
                try:
                    window_facts = self._live(pattern)
                except Exception as exc:  # Tempo down or slow: the stored facts still answer
                    document["live"] = {"error": f"{type(exc).__name__}: {exc}"}
                    text += f"\n(Tempo could not give live numbers: {type(exc).__name__}.)"
                else:
                    document["live"] = window_facts.as_dict()
                    text += "\n" + live_text(window_facts)
            parts.append(text)
            answer.facts.append(document)
            citation = _citation(pattern, facts.error_traces, facts.slow_traces)
            if self._grafana is not None:
                citation["grafana_url"] = self._grafana.explore(pattern, citation["traceql"])
            answer.citations.append(citation)
        if not parts:
            parts.append(
                "I could not tell which pattern you mean. Mention one with @name "
                "(`spanwise patterns list` shows them), or name a service."
            )
        answer.answer = "\n\n".join(parts)
        return answer, history, unresolved, [p.id for p in chosen]


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
