"""A page request with a parameter the page cannot take gets a page that says so.

FastAPI answers invalid parameters with a 422 JSON document, right for the API and wrong
for a person who followed a link with ``?semantic=maybe``: requests for HTML outside the
API get the explorer's error page instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from app.web.rendering import render

_API_PREFIXES = ("/api/", "/v1/", "/slack/")


def validation_error_handler(mode: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The app's handler of invalid requests: pages get a page, the API keeps its JSON."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        wants_page = "text/html" in request.headers.get("accept", "")
        if not wants_page or request.url.path.startswith(_API_PREFIXES):
            content_type = request.headers.get("content-type", "")
            if "json" not in content_type and any(
                error["loc"][:1] == ("body",) for error in exc.errors()
            ):  # the usual mistake: curl -d without -H 'content-type: application/json'
                sent = f"it came as {content_type!r}" if content_type else "it came with none"
                return JSONResponse(
                    {
                        "detail": "send the body as JSON with the header Content-Type: "
                        f"application/json ({sent})"
                    },
                    status_code=415,
                )
            return await request_validation_exception_handler(request, exc)
        problems = [
            f"{'.'.join(str(part) for part in error['loc'][1:]) or 'request'}: {error['msg']}"
            for error in exc.errors()[:3]
        ]
        return render(
            "error.html",
            400,
            section="error",
            mode=mode,
            title="400",
            message="This page cannot take that: " + "; ".join(problems),
            hints=[],
        )

    return handle
