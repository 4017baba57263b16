"""``POST /slack/events``: Slack's events, slash commands and button clicks, in HTTP mode.

All three come to this one URL (the manifest's request URLs). The body goes to the Bolt app
as Slack sent it, byte for byte, since its signature covers those bytes; Bolt checks the
signature and the timestamp and answers 401 to anything unsigned, wrongly signed or more than
five minutes off, and ``app.slack.guards`` to a replay. Bolt's dispatch blocks until a
listener has acknowledged, so it runs on a worker thread, not on the server's event loop.

Without a bot token and a signing secret, or with a ``slack_tenants`` naming an invalid
tenant, the route answers 503 saying what to set; the rest of Spanwise works without Slack.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time.

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt import App, BoltRequest, BoltResponse
from starlette.concurrency import run_in_threadpool

from app.chat.services import ChatServices
from app.settings import Settings
from app.slack.bolt_app import SlackNotConfigured, build_bolt_app

MAX_BODY_BYTES = 1024 * 1024
"""Slack's payloads are a few kilobytes; nothing larger is read before its signature is."""

logger = logging.getLogger("spanwise.slack")


def slack_router(settings: Settings, services: ChatServices) -> APIRouter:
    router = APIRouter(tags=["slack"])
    bolt: App | None = None
    not_configured: str | None = None
    try:
        bolt = build_bolt_app(settings, services)
    except SlackNotConfigured as exc:  # the rest of Spanwise works without Slack
        not_configured = str(exc)
    except ValueError as exc:
        not_configured = str(exc)
        logger.error("the Slack bot is off: %s", exc)

    @router.post(
        "/slack/events",
        summary="Slack's events, slash commands and interactivity (signed by Slack)",
        responses={
            401: {"description": "Unsigned, wrongly signed, too old or replayed."},
            503: {"description": "The Slack bot is not configured; the detail says what to set."},
        },
    )
    async def slack_events(request: Request) -> Response:
        if bolt is None:
            return JSONResponse({"detail": not_configured}, status_code=503)
        body = await _body(request)
        if body is None:
            return JSONResponse({"detail": "a Slack request is at most 1 MiB"}, status_code=413)
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        if not timestamp.isdigit():  # Bolt would fail on it with a 500
            return JSONResponse({"error": "invalid request"}, status_code=401)
        try:
            bolt_request = BoltRequest(
                body=body.decode("utf-8"),
                query=request.url.query,
                headers={k: request.headers.getlist(k) for k in request.headers.keys()},
            )
        except (ValueError, TypeError, AttributeError, KeyError):  # not UTF-8, not a JSON object
            return JSONResponse({"detail": "not a Slack request body"}, status_code=400)
        answer: BoltResponse = await run_in_threadpool(bolt.dispatch, bolt_request)
        return Response(
            content=answer.body,
            status_code=answer.status,
            headers=answer.first_headers_without_set_cookie(),
        )

    return router


async def _body(request: Request) -> bytes | None:
    """The request body, or None when it is over ``MAX_BODY_BYTES``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BODY_BYTES:
            return None
    return bytes(received)
