"""Secrets and personal data out of span data, before any of it leaves the process.

Applied to every attribute value that reaches a prompt, an API answer or a CLI document.
Two rules, as the OpenTelemetry Collector's redaction processor has them: a value is
replaced whole when its attribute's name says it is secret or personal (``authorization``,
``cookie``, ``password``, ``client.address``...); otherwise, secrets and personal data found
inside the text (bearer tokens, JWTs, cloud and payment provider keys, credentials in URLs,
sensitive query parameters, emails, card numbers) are replaced where they stand, and the
rest of the value is kept: ``GET /users/[EMAIL]/orders`` still says what the span did.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_NAME = re.compile(
    r"(?i)(authorization|cookie|passw(or)?d|secret|token|api[-_.]?key|private[-_.]?key|"
    r"credential|session[-_.]?id|x-api-key|signature)"
)
_PERSONAL_NAMES = frozenset(
    {
        "client.address",
        "http.client_ip",
        "net.sock.peer.addr",
        "network.peer.address",
        "user.email",
        "enduser.id",
        "user.id",
        "user.name",
        "user.full_name",
    }
)

_TEXT_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        "[PRIVATE KEY]",
    ),
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[JWT]"),
    # provider keys, with - or _: sk_live_..., sk-live-..., sk-proj-..., whsec_..., glpat-...
    (
        re.compile(r"\b(?:sk|rk|pk)[-_](?:live|test|proj|ant)[-_][A-Za-z0-9_-]{8,}"),
        "[API KEY]",
    ),
    (re.compile(r"\bsk-[A-Za-z0-9]{20,}"), "[API KEY]"),
    (re.compile(r"\b(?:whsec|glpat|npm|pypi)[-_][A-Za-z0-9_-]{16,}"), "[API KEY]"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "[API KEY]"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), "[API KEY]"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "[API KEY]"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "[API KEY]"),
    # key=value credentials in any case and place: connection strings
    # (Server=db;User Id=app;Password=...), env-style (AWS_SECRET_ACCESS_KEY=...), configs
    (
        re.compile(
            r"(?i)\b((?:[a-z0-9_.-]*(?:passw(?:or)?d|pwd|secret|token|api[-_]?key|access[-_]?key"
            r"|private[-_]?key|client[-_]?secret|credential)s?[\"']?)\s*[=:]\s*)"
            r"(\"[^\"]*\"|'[^']*'|[^\s;,&\"']+)"
        ),
        r"\1" + REDACTED,
    ),
    # user:password@ in URLs
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1" + REDACTED + "@"),
    # sensitive query or form parameters: ?token=..., &password=...
    (
        re.compile(
            r"(?i)([?&;](?:[a-z0-9_.-]*(?:token|key|secret|passw(?:or)?d|signature|sig|auth|"
            r"session|code|email))=)[^&#\s;]*"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[EMAIL]"),
    (re.compile(r"(?<![\d.])(?:\d[ -]?){12,18}\d(?![\d.])"), "\x00card"),
)


def is_sensitive_name(name: str) -> bool:
    return name in _PERSONAL_NAMES or _SECRET_NAME.search(name) is not None


@lru_cache(maxsize=65_536)
def redact_text(text: str) -> str:
    """Replace the secrets and personal data found inside ``text``, keep everything else."""
    for pattern, replacement in _TEXT_RULES:
        if replacement == "\x00card":
            text = pattern.sub(_card, text)
        else:
            text = pattern.sub(replacement, text)
    return text


def redact_value(name: str, value: Any, also: Collection[str] = ()) -> Any:
    """An attribute value, safe to show: whole-value redaction by name, else in the text.

    ``also`` names more attributes whose values are replaced whole (the
    ``redact_attribute_names`` setting: a team's own ``app.customer.tax_id``...).
    """
    if is_sensitive_name(name) or name in also:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [redact_value(name, item, also) for item in value]
    if isinstance(value, dict):
        return redact_attributes(value, also)
    if isinstance(value, bytes):
        return f"[{len(value)} bytes]"
    return value


def redact_attributes(attributes: Mapping[str, Any], also: Collection[str] = ()) -> dict[str, Any]:
    return {name: redact_value(name, value, also) for name, value in attributes.items()}


def _card(match: re.Match[str]) -> str:
    digits = [int(c) for c in match.group(0) if c.isdigit()]
    return "[CARD]" if _luhn_valid(digits) else match.group(0)


def _luhn_valid(digits: list[int]) -> bool:
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
