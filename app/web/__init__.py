"""The pattern explorer: web pages over the pattern store, served by the API's app.

``web_router`` gives the pages (``/``, ``/patterns/{name}``, ``/traces/{id}``, ``/services``,
``/chat``); ``static_files`` serves their stylesheet and scripts from the package, so the
pages work offline with no build step.
"""

from __future__ import annotations

from fastapi.staticfiles import StaticFiles

from app.web.pages import web_router
from app.web.rendering import STATIC_DIR

__all__ = ["static_files", "web_router"]


def static_files() -> StaticFiles:
    """Mount at ``/static``: the pages link their stylesheet and scripts there."""
    return StaticFiles(directory=STATIC_DIR)
