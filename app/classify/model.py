"""Classification by a language model, through LangChain, in batches, validated.

The model sees ``prompts/classify_patterns.j2``: a system part (the rules, and corrections
people made to similar patterns) and the batch, fenced as data. It answers in JSON mode;
each item is validated against ``Classification``. Items that are invalid or missing are
asked for once more, in a batch of their own; what still fails is left out, and the caller
classifies it offline and marks it so. A failing model (timeouts, 429s after the client's
own retries, 500s, refusals) never ends a run: its batch falls back the same way, and the
reason is kept in ``problems`` for the report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import ValidationError

from app.classify.cards import PatternCard, pattern_card
from app.classify.description import with_facts
from app.classify.run import Progress
from app.classify.store import Usage
from app.classify.verdict import Category, Classification, Source
from app.discovery.patterns import SpanPattern
from app.telemetry.metrics import record_model_call
from app.telemetry.tracing import model_call_span, record_usage
from prompts import prompt_environment, template_version

TEMPLATE = "classify_patterns.j2"
ANSWER_FIELDS = ("name", "description", "category", "verdict", "reasoning")

Examples = Callable[[Sequence[SpanPattern]], list[dict[str, Any]]]
"""Past corrections most like a batch's patterns (``app.classify.examples``)."""


class ModelClassifier:
    def __init__(
        self,
        chat_model: BaseChatModel,
        *,
        model: str,
        batch_size: int = 40,
        examples: Examples | None = None,
        redact_names: Sequence[str] = (),
        prices: tuple[float, float] = (0.0, 0.0),
        endpoint: str = "the model's endpoint",
    ) -> None:
        self.model = model
        self._endpoint = endpoint
        self._prices = prices
        self.prompt_version = template_version(TEMPLATE)
        # JSON mode: OpenAI and the compatible servers (vLLM, Ollama, llama.cpp) accept it.
        self._chat = chat_model.bind(response_format={"type": "json_object"})
        self._batch_size = batch_size
        self._examples = examples or (lambda _patterns: [])
        self._redact_names = tuple(redact_names)
        self._template = prompt_environment().get_template(TEMPLATE)
        empty = self._template.make_module({"categories": [], "examples": [], "patterns": []})
        self.word_limits: dict[str, int] = {
            "description": int(empty.DESCRIPTION_WORDS),  # type: ignore[attr-defined]
            "reasoning": int(empty.REASONING_WORDS),  # type: ignore[attr-defined]
        }
        """The most words the prompt asks for, by answer field."""
        self.problems: list[str] = []
        """Why batches or items failed, for the run's report; at most a few dozen."""

    def render(
        self, patterns: Sequence[SpanPattern], graph: Mapping[int, SpanPattern]
    ) -> tuple[str, str, dict[str, SpanPattern]]:
        """The system and user messages for one batch, and the pattern each ref names.

        Cards are in service order, so that each service is named once for all its cards.
        """
        in_order = sorted(patterns, key=lambda pattern: pattern.service)
        refs = {str(index + 1): pattern for index, pattern in enumerate(in_order)}
        batch_refs = {pattern.id: ref for ref, pattern in refs.items()}
        cards: list[PatternCard] = [
            pattern_card(
                pattern, graph, ref, redact_names=self._redact_names, batch_refs=batch_refs
            )
            for ref, pattern in refs.items()
        ]
        module = self._template.make_module(
            {
                "categories": [category.value for category in Category],
                "examples": self._examples(patterns),
                "patterns": cards,
            }
        )
        system, batch = module.system, module.batch  # type: ignore[attr-defined]  # macros
        return str(system()).strip(), str(batch()).strip(), refs

    def batches(self, patterns: Sequence[SpanPattern]) -> list[list[SpanPattern]]:
        """The batches ``patterns`` are asked in: by service, so that a batch holds few."""
        in_order = sorted(patterns, key=lambda pattern: pattern.service)
        size = self._batch_size
        return [in_order[start : start + size] for start in range(0, len(in_order), size)]

    def classify(
        self,
        patterns: list[SpanPattern],
        graph: Mapping[int, SpanPattern],
        usage: Usage,
        on_progress: Progress | None = None,
    ) -> dict[int, dict[str, str]]:
        answers: dict[int, dict[str, str]] = {}
        done = 0
        for batch in self.batches(patterns):
            found, answered = self._ask(batch, graph, usage)
            missing = [p for p in batch if p.id not in found]
            if missing and answered:  # the client already retried a call that failed
                found.update(self._ask(missing, graph, usage)[0])
            answers.update(found)
            done += len(batch)
            if on_progress is not None:
                on_progress(done, len(patterns))
        return answers

    def _ask(
        self, batch: Sequence[SpanPattern], graph: Mapping[int, SpanPattern], usage: Usage
    ) -> tuple[dict[int, dict[str, str]], bool]:
        """Valid answers by pattern id, and whether the model answered at all."""
        system, user, refs = self.render(batch, graph)
        usage.calls += 1
        with model_call_span("chat", self.model, "classify") as span:
            try:
                reply = self._chat.invoke([SystemMessage(system), HumanMessage(user)])
            except Exception as exc:  # any client or server failure: this batch falls back
                self._problem(
                    f"model call to {self._endpoint} failed for {len(batch)} patterns: "
                    f"{_reason(exc)}"
                )
                record_model_call("classify", "error")
                return {}, False
            prompt, completion = _count_tokens(reply, usage)
            record_usage(span, prompt, completion)
            record_model_call("classify", "ok", prompt, completion, usd_per_million=self._prices)
        return self._validated(reply, refs, graph), True

    def _validated(
        self, reply: AIMessage, refs: dict[str, SpanPattern], graph: Mapping[int, SpanPattern]
    ) -> dict[int, dict[str, str]]:
        content = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
        try:
            document = json.loads(_without_fences(content))
        except json.JSONDecodeError as exc:
            self._problem(f"the model's answer is not JSON ({exc.msg} at {exc.pos})")
            return {}
        items = document.get("patterns") if isinstance(document, dict) else document
        if not isinstance(items, list):
            self._problem('the model\'s answer has no "patterns" list')
            return {}
        found: dict[int, dict[str, str]] = {}
        for item in items:
            answer = _as_answer(item)
            ref = str(answer.get("ref")).lstrip("#") if answer is not None else ""
            if answer is None or ref not in refs:  # "#3": how cards name each other
                continue
            pattern = refs[ref]
            fields = {field: answer[field] for field in ANSWER_FIELDS}
            if isinstance(fields["description"], str) and fields["description"].strip():
                fields["description"] = with_facts(fields["description"], pattern, graph)
            try:
                valid = Classification.model_validate({**fields, "source": Source.MODEL})
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"])
                self._problem(f"invalid item for {pattern.name}: {where}: {first['msg']}")
                continue
            found[pattern.id] = {
                field: str(value)
                for field, value in valid.model_dump(mode="json").items()
                if field in ANSWER_FIELDS
            }
        return found

    def _problem(self, text: str) -> None:
        if len(self.problems) < 50:
            self.problems.append(text)


ARRAY_ORDER = ("ref", "name", "category", "verdict", "description", "reasoning")
"""The order of an answer item given as an array, as the prompt asks (fewer tokens)."""


def _as_answer(item: object) -> dict[str, object] | None:
    """An item as ``{field: value}``: arrays in ``ARRAY_ORDER``; objects as they are."""
    if isinstance(item, list) and len(item) == len(ARRAY_ORDER):
        return dict(zip(ARRAY_ORDER, item, strict=True))
    if isinstance(item, dict):
        return {field: item.get(field) for field in ARRAY_ORDER}
    return None


def _count_tokens(reply: AIMessage, usage: Usage) -> tuple[int, int]:
    """The reply's prompt and completion tokens, added to ``usage``."""
    metadata = reply.usage_metadata
    if not metadata:
        return 0, 0
    prompt, completion = int(metadata.get("input_tokens", 0)), int(metadata.get("output_tokens", 0))
    usage.prompt_tokens += prompt
    usage.completion_tokens += completion
    return prompt, completion


def _without_fences(content: str) -> str:
    """Some servers wrap JSON in a Markdown code fence even in JSON mode."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        if text.rstrip().endswith("```"):
            text = text.rstrip()[:-3]
    return text


def _reason(exc: Exception) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}"[:300] if message else type(exc).__name__
