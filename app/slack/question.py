"""What a Slack message asks, and which conversation it belongs to.

Slack writes a mention of the bot as ``<@U0BOT>`` (or ``<@U0BOT|spanwise>``) and escapes
``&``, ``<`` and ``>`` in what people typed. The bot's own mention is taken out; every other
Slack construct (``<@U123>``, ``<#C123|general>``, links) is left for the chat service's
mention parser, which knows them and never reads them as ``@pattern`` mentions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MAX_QUESTION_CHARS = 4000
"""As ``POST /api/chat`` accepts: a longer question is refused with a short message."""
MAX_AUTHOR_CHARS = 120
"""As a correction made through the API may name its author."""

_SPACES = re.compile(r"[ \t]{2,}")


def question_text(text: str, bot_user_id: str | None) -> str:
    """``text`` without the bot's mention and with Slack's escapes undone, trimmed."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^<>]*)?>", " ", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _SPACES.sub(" ", text).strip()


def conversation_id(channel_id: str, thread_ts: str) -> str:
    """The chat conversation of a Slack thread: its channel and its first message's ts.

    A ``ts`` is unique within a channel only, hence the channel in the id."""
    return f"slack:{channel_id}:{thread_ts}"


def slack_author(user: Mapping[str, Any]) -> str:
    """How a correction made in Slack names who made it: ``ana (Slack U0ANA)``."""
    user_id = str(user.get("id") or "unknown")
    name = str(user.get("username") or user.get("name") or "").strip()
    author = f"{name} (Slack {user_id})" if name else f"Slack user {user_id}"
    return author[:MAX_AUTHOR_CHARS]
