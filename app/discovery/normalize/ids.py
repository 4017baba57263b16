"""Which tokens are ids, the placeholders that replace them, and how matchers spell them.

A token is a path segment, a key part or a word of a span name. It becomes a placeholder
when it matches one of the expressions below as a whole (the **shape rules**); anything else
is kept literally, unless discovery learns from the spans that its position varies
(``app.discovery.variables``). Every kind of id (integer, UUID, long hex, provider-style
``ch_3PqL9x``, base64-like token) becomes the same ``{id}``; emails and dates keep
placeholders of their own.

Matchers do not repeat these expressions: in a regex matcher a placeholder is a short class,
anything but the separators around it (``[^/?#]+`` in a URL path, ``[^:\\s]+`` in a cache
key, ``\\S+`` in a span name), so that a person reads ``/carts/[^/?#]+/items`` at a glance.
Such a class also accepts literal tokens; a literal sibling (``/orders/search`` beside
``/orders/{id}``) is told apart by matching most-specific-first (``app.discovery.exclusions``).
A date keeps a class of its own (it may hold ``:`` and ``.``), and so does an e-mail address
(an ``@``), so that neither is taken for an id nor an id for one.

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
"""What the shape rules take for each placeholder, as a regex that matches a whole token."""

PLACEHOLDER_TOKEN = r"\{(?:id|email|date|[a-z][a-z0-9]{0,29}_id)\}"
"""A placeholder as keys write it: ``{id}``, ``{email}``, ``{date}``, or one discovery learned
(``{cart_id}``). Other words in braces are literal: an instrumentation's own template
(``{userId}``), a Redis cluster hash tag (``{user1000}``)."""
_PLACEHOLDER_TOKEN = re.compile(PLACEHOLDER_TOKEN)


def is_placeholder(token: str) -> bool:
    """Whether ``token`` is a placeholder as a whole (``PLACEHOLDER_TOKEN``)."""
    return token[:1] == "{" and _PLACEHOLDER_TOKEN.fullmatch(token) is not None


_LEARNED_TOKEN = re.compile(r"\{[a-z][a-z0-9]{0,29}_id\}")


def in_raw_text(text: str) -> str:
    """Span data with the placeholders an instrumentation wrote into it (``/users/{user_id}``
    in a templated name) read as ``{id}``, as an id there would be: the name of a placeholder
    in a key is discovery's to give (``app.discovery.variables``), and two keys that differ
    only in a placeholder's name would be two patterns with one regex."""
    return _LEARNED_TOKEN.sub(ID, text) if "_id}" in text else text


# What a placeholder never spans, as the inside of a regex class, by where it stands.
IN_PATH = "/?#"
IN_HOST = ".:/"
IN_KEY = ":\\s"
"""Cache keys."""
IN_DESTINATION = ".:/\\s"
"""Messaging destinations: ``events.{tenant}.orders``."""
IN_NAME = "\\s"

_DATE_CLASS = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[0-9:.TZ+-]*"


def placeholder_class(placeholder: str, separators: str) -> str:
    """The short regex a matcher writes for ``placeholder`` between ``separators``."""
    # a date or an e-mail address, or the placeholder itself (an instrumentation's template)
    if placeholder == DATE:
        return r"(?:\{date\}|" + _DATE_CLASS + ")"
    if placeholder == EMAIL:  # an address holds dots wherever dots separate
        around = separators.replace(".", "")
        return rf"(?:\{{email\}}|[^{around}@]+@[^{around}]+)"
    if separators == "\\s":
        return r"\S+"
    return f"[^{separators}]+"


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
