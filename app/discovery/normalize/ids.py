"""Which tokens are ids, and the placeholders that replace them.

A token is a path segment, a key part or a word of a span name. It becomes a placeholder
when it matches one of the expressions below as a whole; anything else is kept literally.
Every kind of id (integer, UUID, long hex, provider-style ``ch_3PqL9x``, base64-like token)
becomes the same ``{id}``: one placeholder whose expression is the union of them all, so a
literal token (it matched none) can never be matched by another key's placeholder. That is
what lets regex matchers built from keys tell operations apart (``app.discovery.operation``).
Emails and dates keep placeholders of their own: no id, and no literal, can look like one.

The expressions use no look-around, so they also work as RE2 (Tempo's TraceQL ``=~``).
"""

from __future__ import annotations

import re

ID = "{id}"
EMAIL = "{email}"
DATE = "{date}"


def _containing(alphabet: str, required: str, others: str, at_least: int) -> str:
    """``at_least`` or more characters of ``alphabet``, one or more of them in ``required``.

    ``others`` is ``alphabet`` without ``required``. Written as one alternative per position
    of the first required character, because RE2 (Tempo's regex engine) has no look-ahead to
    say "and contains" of a whole token.
    """
    options = [
        f"{others}{{{before}}}{required}{alphabet}{{{at_least - 1 - before},}}"
        for before in range(at_least - 1)
    ]
    options.append(f"{others}{{{at_least - 1},}}{required}{alphabet}*")
    return "(?:" + "|".join(options) + ")"


_ID_EXPRESSIONS = (
    r"[0-9]+",  # 4821
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",  # UUID
    # Hex of 8 or more: shorter (``3f9a``, ``cafe``) is too often a word or a version.
    r"[0-9a-f]{8,}",
    r"[0-9A-F]{8,}",
    # Stripe-style ch_3PqL9x, cus_YEHokHzHmzcQIR: a digit or a capital in 8 or more
    # characters keeps ``to_JSON``, ``is_Active`` and ``user_profile`` literal.
    r"[a-z]{1,5}_" + _containing("[A-Za-z0-9]", "[0-9A-Z]", "[a-z]", 8),
    # base64url tokens and session keys; the digit or capital keeps long lower-case slugs
    # such as ``customer-notification-preferences`` literal.
    _containing("[A-Za-z0-9_-]", "[0-9A-Z]", "[a-z_-]", 20),
    r"[A-Za-z0-9+]{22,}={1,2}",  # padded base64 (no "/": it would cross path segments)
)
ID_REGEX = "(?:" + "|".join(_ID_EXPRESSIONS) + ")"
EMAIL_REGEX = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
DATE_REGEX = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)

PLACEHOLDER_REGEX = {ID: ID_REGEX, EMAIL: EMAIL_REGEX, DATE: DATE_REGEX}
"""What each placeholder stands for, as a regex fragment that matches a whole token."""

_DATE = re.compile(DATE_REGEX)
_EMAIL = re.compile(EMAIL_REGEX)
_ID = re.compile(ID_REGEX)


def placeholder_for(token: str) -> str | None:
    """``{id}``, ``{email}`` or ``{date}`` when the whole token is one; else None."""
    if not token:
        return None
    if "0" <= token[0] <= "9" and _DATE.fullmatch(token):
        return DATE
    if "@" in token:
        return EMAIL if _EMAIL.fullmatch(token) else None
    return ID if _ID.fullmatch(token) else None
