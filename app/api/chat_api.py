"""``POST /api/chat``: a question about patterns, answered from computed facts.

The answer carries the conversation id (send it back to go on: "and its error rate?"), the
mentions and how each resolved, citations (pattern, TraceQL, trace ids) and the facts used.
``POST /api/chat/stream`` sends the same as server-sent events: ``answer`` chunks, then one
``done`` event with the whole JSON document.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

import json
import threading
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.chat.index import retriever
from app.chat.model_answer import answerer_from_settings
from app.chat.service import ChatService, GrafanaLinks
from app.discovery.run import pattern_store_path
from app.discovery.store import PatternStore
from app.facts.live import live_source
from app.settings import Settings

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


def chat_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["chat"])
    grafana = GrafanaLinks.from_settings(settings)
    answerer = answerer_from_settings(settings)

    services: list[ChatService] = []
    opening = threading.Lock()

    def answer(request: ChatRequest) -> dict[str, Any]:
        # One service per process: it keeps the patterns and the mention index between
        # questions and reloads them when the store changes; it serialises its own use.
        with opening:
            if not services:
                store = PatternStore(pattern_store_path(settings.data_dir))
                services.append(
                    ChatService(
                        store,
                        grafana=grafana,
                        answerer=answerer,
                        retrieve=retriever(settings, store),
                        live=live_source(settings),
                    )
                )
        return services[0].ask(request.question, request.conversation_id).as_dict()

    @router.post("/api/chat", response_model=ChatResponse, summary="Ask about patterns")
    def chat(request: ChatRequest) -> dict[str, Any]:
        return answer(request)

    @router.post("/api/chat/stream", summary="Ask about patterns, answered as server-sent events")
    def chat_stream(request: ChatRequest) -> StreamingResponse:
        document = answer(request)

        def events() -> Iterator[str]:
            for paragraph in document["answer"].split("\n"):
                yield f"event: answer\ndata: {json.dumps(paragraph + chr(10))}\n\n"
            yield f"event: done\ndata: {json.dumps(document)}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return router
