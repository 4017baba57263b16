"""A scripted chat model, for eval cases of tool use that run offline.

A case's turn may carry a ``script``: the tool calls a model makes, one per step, then what
it says. Saying ``facts`` writes one sentence from the last tool result it was given (a
pattern's spans, errors, error rate and p99; the first change of "what changed"), so the
case's checks hold the tools' numbers, through the agent and the answer checking, against
the truth computed from the spans. Any other text is said as it is (after the case's
``{ref}`` placeholders are filled): a claim no result holds must come back marked.

It is a real LangChain chat model: the agent binds tools to it and runs it as it runs an
OpenAI model; only its replies are scripted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from prompts import FENCE_CLOSE, FENCE_OPEN

SAY_FACTS = "facts"


class ScriptedChatModel(BaseChatModel):
    steps: list[dict[str, Any]]
    """``{"tool": name, "args": {...}}`` or ``{"say": text}`` each, in order."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        taken = sum(1 for message in messages if isinstance(message, AIMessage))
        step = self.steps[min(taken, len(self.steps) - 1)]
        if "tool" in step:
            call = {"name": step["tool"], "args": step.get("args", {}), "id": f"call_{taken}"}
            reply = AIMessage(content="", tool_calls=[call])
        elif step["say"] == SAY_FACTS:
            reply = AIMessage(content=_facts_said(messages))
        else:
            reply = AIMessage(content=str(step["say"]))
        return ChatResult(generations=[ChatGeneration(message=reply)])


def _facts_said(messages: Sequence[BaseMessage]) -> str:
    """One sentence of the numbers the last tool result holds."""
    answered = [m for m in messages if isinstance(m, ToolMessage) and m.status != "error"]
    result = _data(answered[-1]) if answered else None
    if not isinstance(result, dict):
        return "The tools gave me nothing to go on."
    for document in result.get("facts", []):
        if document.get("kind") == "what_changed" and document.get("changed"):
            first = document["changed"][0]
            change = first["changes"][0]
            counts = ""
            if "errors_after" in change:
                counts = f": {change['errors_after']} of {change['spans_after']} calls failed"
            return f"@{first['name']} changed most, its {change['measure']}{counts}."
        if "name" in document and "count" in document:
            errors = document["errors"]
            latency = document["latency_ms"]
            said = (
                f"@{document['name']}: {document['count']} spans, {errors['count']} errors "
                f"({errors['rate']:.2%}), p99 {latency['p99']:.1f} ms."
            )
            window = document.get("window", {}).get("in_window")
            if window:
                said += f" In the window: {window['spans']} spans, {window['errors']} errors."
            return said
    return "The tools gave me nothing to go on."


def _data(message: ToolMessage) -> Any:
    text = str(message.content)
    if FENCE_OPEN not in text:
        return None
    return json.loads(text.split(FENCE_OPEN, 1)[1].rsplit(FENCE_CLOSE, 1)[0])
