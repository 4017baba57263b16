"""``POST /api/chat``: a question about patterns, answered from computed facts.

The answer carries the conversation id (send it back to go on: "and its error rate?"), the
mentions and how each resolved, citations (pattern, TraceQL, trace ids) and the facts used.
``POST /api/chat/stream`` sends the same as server-sent events: ``answer`` chunks, then one
``done`` event with the whole JSON document.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.tenant_dependency import request_tenant
from app.chat.services import ChatServices

MAX_QUESTION_CHARS = 4000


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    """Free text; `@pattern_name` mentions say which patterns it is about."""
    conversation_id: str | None = Field(default=None, max_length=64)
    """From an earlier answer, to go on with that conversation."""


class ChatResponse(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    conversation_id: str
    question: str
    answer: str
    mode: str
    """`offline`: the facts written out, no model; `model`: a model wrote it from the facts."""
    mentions: list[dict[str, Any]]
    """Each @mention: how it resolved (exact, alias, fuzzy) or the suggestions when it did not."""
    citations: list[dict[str, Any]]
    """Each pattern the answer is about: its TraceQL and example trace ids."""
    facts: list[dict[str, Any]]
    """The facts the answer used: each pattern's, a comparison's, what changed, and with a
    model each tool result it was given (`kind`: `tool_result`)."""
    window: dict[str, Any] | None = None
    """The time window the answer is about; `asked` is null when it covers all spans."""
    facts_text: str | None = None
    """With a model: the facts it started from, written out as without one."""
    tool_calls: list[dict[str, Any]] = []
    """With a model: each tool it called, its arguments, and whether it answered."""
    unverified: list[str] = []
    """With a model: what its text says that no fact or tool result holds (marked there)."""


def chat_router(services: ChatServices) -> APIRouter:
    router = APIRouter(tags=["chat"])

    def answer(request: ChatRequest, tenant: str) -> dict[str, Any]:
        return services.for_tenant(tenant).ask(request.question, request.conversation_id).as_dict()

    @router.post("/api/chat", response_model=ChatResponse, summary="Ask about patterns")
    def chat(
        request: ChatRequest, tenant: Annotated[str, Depends(request_tenant)]
    ) -> dict[str, Any]:
        return answer(request, tenant)

    @router.post("/api/chat/stream", summary="Ask about patterns, answered as server-sent events")
    def chat_stream(
        request: ChatRequest, tenant: Annotated[str, Depends(request_tenant)]
    ) -> StreamingResponse:
        document = answer(request, tenant)

        def events() -> Iterator[str]:
            for paragraph in document["answer"].split("\n"):
                yield f"event: answer\ndata: {json.dumps(paragraph + chr(10))}\n\n"
            yield f"event: done\ndata: {json.dumps(document)}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return router
