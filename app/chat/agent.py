"""A model that answers by calling tools, through LangChain's agent (``create_agent``).

The model starts from the facts computed for the question (``prompts/answer.j2``, within the
token budget) and may call the tools of ``app.chat.tools`` for more: find patterns, a
pattern's facts for a window, compare, what changed, and Tempo's search and traces when a
Tempo is configured. Bounds, all enforced here, not asked of the model:

- **Steps**: at most ``max_steps`` model calls; the last is made without tools, so the
  model must answer in words. A model that keeps calling tools regardless is stopped
  (``ModelCallLimitMiddleware``) and the answer falls back to the facts.
- **Tokens**: every model call's prompt stays within the answerer's token budget: the
  first facts leave room for results, each result is capped, the results of earlier steps
  are cut to a line saying so (the largest first), then tools are taken away.
- **Bad calls**: invalid arguments, an unknown tool, a tool that fails, the same call
  twice: the model gets an error result saying what to do instead, and goes on.

Tool results are redacted and fenced as data. The answer is then checked against them
(``app.chat.verify``): what is not found there is marked unverified.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import (
    ModelCallLimitMiddleware,
    ModelRequest,
    ModelResponse,
    ToolCallRequest,
    wrap_model_call,
    wrap_tool_call,
)
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field, ValidationError

from app.chat.conversations import Turn
from app.chat.model_answer import (
    DROPPED_FIRST,
    ModelAnswerer,
    message_usage,
    prompt_tokens,
    recorded_answer_call,
    trimmed_facts,
)
from app.chat.tools import ChatTools, ToolInputError
from app.chat.verify import checked_answer
from app.redact import redact_attributes
from connectors.tempo_errors import TempoError
from prompts import FENCE_CLOSE, FENCE_OPEN, defang, prompt_environment

MAX_STEPS = 5
RESULT_SHARE = 4
"""A tool result takes at most this fraction (one in ...) of the token budget."""
FIRST_ROOM = 3
"""The first facts leave this fraction (one in ...) of the budget free for tool results:
later ones cut earlier, larger ones when they need the room."""
LEFT_OUT = "(This result was left out to keep within the token budget.)"


class AgentStopped(RuntimeError):
    """The model gave no answer in words within its steps."""


@dataclass
class AgentReply:
    text: str
    """The model's answer, what the results do not hold marked ``[unverified]``."""
    unverified: list[str]
    calls: list[dict[str, Any]]
    """Each tool call: its tool, arguments, and whether it gave a result."""
    results: list[dict[str, Any]] = field(default_factory=list)
    """The tool results the model was given (the facts it used besides the first ones):
    ``{"tool", "arguments", "result"}`` each."""
    steps: int = 0
    prompt_tokens: list[int] = field(default_factory=list)
    """Each model call's prompt, counted (o200k_base) before it was sent."""
    last_words: str = ""
    """The text of the model's last reply, when it called no tool (its answer)."""
    usage: dict[str, int] = field(
        default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0}
    )
    """Tokens all its model calls used, as the model reported them."""


class _Words(BaseModel):
    words: str = Field(description="A few words: a service, an operation, what it does.")
    limit: int = Field(default=5, ge=1, le=10)


class _Pattern(BaseModel):
    name: str = Field(description="A pattern name, like postgres_query_select_orders.")
    window: str | None = Field(
        default=None,
        description="Optional: 'last 10 minutes', '15:18 to 15:22', 'yesterday', ISO times.",
    )


class _Compare(BaseModel):
    names: list[str] = Field(description="Two or three pattern names.")
    window: str | None = Field(default=None, description="Optional time window, as words.")


class _Changed(BaseModel):
    window: str | None = Field(default=None, description="Time window; default the last hour.")
    include_noise: bool = False


class _RootCause(BaseModel):
    window: str | None = Field(default=None, description="Time window; default the last hour.")
    reference: str | None = Field(
        default=None, description="Optional: 'yesterday', 'last week', '14:00 to 14:30'."
    )


class _Search(BaseModel):
    traceql: str = Field(description='A TraceQL query, like { resource.service.name = "cart" }.')
    window: str = Field(default="last 1 hour", description="Time window, as words.")
    limit: int = Field(default=10, ge=1, le=20)


class _Metrics(BaseModel):
    query: str = Field(
        description='A TraceQL metrics query: { resource.service.name = "cart" } | rate() by '
        "(name); also count_over_time(), quantile_over_time(duration, .99)."
    )
    window: str = Field(default="last 1 hour", description="Time window, as words.")


class _Trace(BaseModel):
    trace_id: str = Field(description="A trace id: up to 32 hex digits.")


class ToolAgent:
    def __init__(
        self, answerer: ModelAnswerer, tools: ChatTools, *, max_steps: int = MAX_STEPS
    ) -> None:
        self._answerer = answerer
        self._tools = tools
        self.max_steps = max_steps
        self.model = answerer.model

    def answer(
        self,
        question: str,
        history: Sequence[Turn],
        facts: Sequence[dict[str, Any]],
        unresolved: Sequence[str],
        window: str | None = None,
    ) -> AgentReply:
        reply = AgentReply("", [], [])
        tools = self._langchain_tools(reply)
        schemas = _schema_tokens(tools)  # once: the tools are the same at every step
        system, room = self.prompt_overhead(tools, schemas)
        _, user = self._answerer.render(
            question, history, facts, unresolved, window, system=system, reserve=room
        )
        budget = self._answerer.token_budget
        agent = create_agent(
            self._answerer.chat_model,
            tools,
            system_prompt=system,
            middleware=[
                _within_bounds(reply, budget, self.max_steps, self._answerer, schemas),
                _tool_errors(reply),
                ModelCallLimitMiddleware(run_limit=self.max_steps, exit_behavior="end"),
            ],
        )
        agent.invoke(
            {"messages": [HumanMessage(user)]},
            config={"recursion_limit": 4 * self.max_steps + 4},
        )
        self._answerer.last_usage = dict(reply.usage)
        text = reply.last_words
        if not text:
            raise AgentStopped(f"the model gave no answer within {self.max_steps} steps")
        checked = checked_answer(text, [*facts, *reply.results])
        reply.text, reply.unverified = checked.text, checked.unverified
        return reply

    def prompt_overhead(
        self, tools: Sequence[BaseTool] | None = None, schemas: int | None = None
    ) -> tuple[str, int]:
        """The agent's system prompt, and the tokens the first prompt keeps free: for its
        tools' definitions (``schemas``, counted when not given), and room for a result or
        so (``FIRST_ROOM``)."""
        tools = tools if tools is not None else self._langchain_tools(AgentReply("", [], []))
        schemas = _schema_tokens(tools) if schemas is None else schemas
        room = schemas + self._answerer.token_budget // FIRST_ROOM
        return _system_prompt([t.name for t in tools], self.max_steps), room

    def _langchain_tools(self, reply: AgentReply) -> list[BaseTool]:
        tools = self._tools
        made: list[tuple[Callable[..., dict[str, Any]], type[BaseModel], str]] = [
            (tools.find_patterns, _Words, "Find patterns by words: names, services, meaning."),
            (
                tools.pattern_facts,
                _Pattern,
                "One pattern's facts (latency, errors, callers, callees, where its time "
                "goes); with a window, its numbers then against the window before.",
            ),
            (tools.compare_patterns, _Compare, "Two or three patterns side by side."),
            (
                tools.root_cause,
                _RootCause,
                "Which service a window's errors and latency started in: each service's own "
                "change (not passed up from what it calls), against the window before or a "
                "reference.",
            ),
            (
                tools.what_changed,
                _Changed,
                "Patterns whose rate, error rate or latency changed most in a window "
                "against the one before, and the new and gone ones.",
            ),
        ]
        if tools.has_tempo:
            made += [
                (tools.search_traces, _Search, "Search traces in Tempo with TraceQL."),
                (
                    tools.traceql_metrics,
                    _Metrics,
                    "A TraceQL metrics query in Tempo (rate, count, quantiles) over all spans "
                    "of a window, one value per series.",
                ),
                (tools.fetch_trace, _Trace, "One whole trace from Tempo, by id."),
            ]
        seen: dict[str, str] = {}
        cap = self._answerer.token_budget // RESULT_SHARE

        def wrapped(function: Callable[..., dict[str, Any]]) -> Callable[..., str]:
            def call(**arguments: Any) -> str:
                key = f"{function.__name__}:{json.dumps(arguments, sort_keys=True)}"
                if key in seen:
                    return "You made this call already; its result is above. Answer now."
                result = function(**arguments)
                reply.results.append(
                    {"tool": function.__name__, "arguments": arguments, "result": result}
                )
                seen[key] = text = _fenced(result, cap)
                return text

            return call

        return [
            StructuredTool.from_function(
                func=wrapped(function),
                name=function.__name__,
                description=description,
                args_schema=schema,
            )
            for function, schema, description in made
        ]


def _system_prompt(tools: list[str], max_steps: int) -> str:
    template = prompt_environment().get_template("agent.j2")
    module = template.make_module({"tools": tools, "max_steps": max_steps})
    return str(module.system()).strip()  # type: ignore[attr-defined]  # a macro


def _fenced(result: dict[str, Any], cap: int) -> str:
    """A tool's result as the model reads it: redacted, as JSON, fenced as data, within
    ``cap`` tokens: past it, the sections of its facts leave in the order a prompt drops
    them (``DROPPED_FIRST``), then the text is cut and says so."""
    result = {key: value for key, value in result.items() if key != "summary"}
    facts = result.get("facts")
    dropped = 0
    while True:
        data = json.dumps(redact_attributes(result), default=str, separators=(",", ":"))
        if prompt_tokens("", data) <= cap or not isinstance(facts, list):
            break
        if dropped >= len(DROPPED_FIRST):
            data = _shortened(result, cap)
            break
        dropped += 1
        result["facts"] = trimmed_facts(facts, DROPPED_FIRST[:dropped])
    return f"{FENCE_OPEN}{defang(data)}{FENCE_CLOSE}"


def _shortened(result: dict[str, Any], cap: int) -> str:
    """``result`` as JSON within ``cap`` tokens: its lists halved until it fits, each
    saying how many of its items were left out."""
    shortened: Any = result
    for _ in range(8):
        shortened = _halved(shortened)
        data = json.dumps(redact_attributes(shortened), default=str, separators=(",", ":"))
        if prompt_tokens("", data) <= cap:
            return data
    return json.dumps({"error": "this result is too large for the token budget"})


def _halved(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _halved(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_halved(item) for item in value]
        if len(items) > 1:
            kept = (len(items) + 1) // 2
            return [*items[:kept], f"({len(items) - kept} more left out for the token budget)"]
        return items
    return value


def _schema_tokens(tools: Sequence[Any]) -> int:
    """Tokens the tools' definitions add to a request (as OpenAI's function schemas)."""
    if not tools:
        return 0
    from langchain_core.utils.function_calling import convert_to_openai_tool

    schemas = json.dumps([convert_to_openai_tool(tool) for tool in tools])
    return prompt_tokens("", schemas) - 2 * 4


def _tokens(request: ModelRequest, schemas: int) -> int:
    """The request's prompt tokens; ``schemas``: its tools' definitions, when it has tools."""
    system = request.system_message.text if request.system_message is not None else ""
    parts = []
    for message in request.messages:
        parts.append(message.text if isinstance(message.content, str) else str(message.content))
        if isinstance(message, AIMessage) and message.tool_calls:
            parts.append(json.dumps(message.tool_calls, default=str))
    messages = prompt_tokens(system, "\n".join(parts)) + 4 * max(len(request.messages) - 1, 0)
    return messages + (schemas if request.tools else 0)


def _within_bounds(
    reply: AgentReply, budget: int, max_steps: int, answerer: ModelAnswerer, schemas: int
) -> Any:
    """Every model call within the token budget (the oldest tool results cut first, then
    tools taken away), the last allowed call without tools."""

    @wrap_model_call  # type: ignore[arg-type]
    def bounded(
        request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        reply.steps += 1
        if reply.steps >= max_steps:
            request = request.override(tools=[])
        messages = list(request.messages)
        tokens = _tokens(request, schemas)
        # the results of earlier steps go, the largest first (an error of a line saves
        # nothing); the latest step's are what the model is to read now, and stay
        latest = max((at for at, m in enumerate(messages) if isinstance(m, AIMessage)), default=0)
        results = sorted(
            (at for at, m in enumerate(messages[:latest]) if isinstance(m, ToolMessage)),
            key=lambda at: (-len(str(messages[at].content)), at),
        )
        for at in results:
            if tokens <= budget:
                break
            message = messages[at]
            if isinstance(message, ToolMessage) and message.content != LEFT_OUT:
                messages[at] = ToolMessage(LEFT_OUT, tool_call_id=message.tool_call_id)
                request = request.override(messages=messages)
                tokens = _tokens(request, schemas)
        if tokens > budget and request.tools:
            request = request.override(tools=[])
        reply.prompt_tokens.append(tokens)
        response, prompt, completion = recorded_answer_call(
            answerer.model,
            answerer.prices,
            lambda: handler(request),
            lambda response: message_usage(response.result),
        )
        for said in response.result:
            if isinstance(said, AIMessage):
                words = said.content if isinstance(said.content, str) else ""
                reply.last_words = "" if said.tool_calls else words.strip()
        reply.usage["prompt_tokens"] += prompt
        reply.usage["completion_tokens"] += completion
        return response

    return bounded


def _tool_errors(reply: AgentReply) -> Any:
    """A tool call that cannot be made is an error result saying why, for the model to
    correct; the run goes on."""

    @wrap_tool_call  # type: ignore[arg-type]
    def handled(
        request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolMessage | Any]
    ) -> ToolMessage | Any:
        call = request.tool_call
        entry: dict[str, Any] = {"tool": call["name"], "arguments": call.get("args", {})}
        reply.calls.append(entry)
        if request.tool is None:
            entry["ok"] = False
            return ToolMessage(
                f"Error: there is no tool {call['name']!r}. Call one of the tools listed.",
                tool_call_id=call["id"],
                status="error",
            )
        try:
            result = handler(request)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'arguments'}: {error['msg']}"
                for error in exc.errors()
            )
            message = f"Error: invalid arguments for {call['name']}: {problems}."
        except (ToolInputError, TempoError) as exc:
            message = f"Error: {exc}"
        else:
            entry["ok"] = not (isinstance(result, ToolMessage) and result.status == "error")
            return result
        entry["ok"] = False
        return ToolMessage(message, tool_call_id=call["id"], status="error")

    return handled
