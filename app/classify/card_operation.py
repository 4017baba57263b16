"""An operation as a pattern card shows it: what names the work, in fewer tokens.

The card is read to name a pattern, and long operations cost tokens on every card that
shows them (as the pattern itself, and as a neighbour). For statements, left out are the
column lists of SELECT and INSERT, the values an UPDATE sets when they are parameters, and
the ordering and paging of the outer query; for every operation, a Kubernetes service's
cluster domain. What remains (the verb, the tables, the filter, the route) is what names it.

Operations come from span data, so they are redacted before anything here reads them, and
cut to ``MAX_SCANNED`` characters first: the expressions then take time bounded by that,
whatever a span's name holds.
"""

from __future__ import annotations

import re
from functools import lru_cache

from app.redact import redact_text

MAX_CHARS = 80
MAX_SCANNED = 600

_COLUMN_CHAR = r"(?:(?!\bFROM\b|\bSELECT\b)[^()])"
"""A character of a column list: it ends at the next FROM or SELECT, never past them."""
_SELECTED = re.compile(
    rf"\bSELECT\s+(?:DISTINCT\s+)?({_COLUMN_CHAR}*?,{_COLUMN_CHAR}*?)\s+FROM\b", re.IGNORECASE
)
_INSERTED = re.compile(
    r"\bINSERT\s+INTO\s+(\S+)\s*\([^()]*\)\s*VALUES\s*\((?:[^()]|\([^()]*\))*\)(?=\s|$)", re.I
)
_SET = re.compile(r"\bSET\s+((?:[^()]|\(\))+?)(?=\s+WHERE\b|$)", re.IGNORECASE)
_PLAIN_ASSIGNMENT = re.compile(r"\s*=\s*(?:\?|\w+\(\))(?=\s*,|\s*$)")
_TAIL = re.compile(r"\s+(?:ORDER\s+BY|LIMIT|OFFSET|RETURNING)\b", re.IGNORECASE)
_CLUSTER_HOST = re.compile(r"\b([a-z0-9-]+(?:\.[a-z0-9-]+)?)\.svc\.cluster\.local(?::\d+)?\b")
_WHITESPACE = re.compile(r"\s+")


@lru_cache(maxsize=65536)
def compact_operation(operation: str, *, statement: bool = False) -> str:
    """The operation, redacted, on one line, without a cluster domain
    (``search.shop.svc.cluster.local:8000`` reads ``search.shop``), at most ``MAX_CHARS``
    characters with the middle left out; a ``statement`` also ``compact_statement``."""
    text = _WHITESPACE.sub(" ", redact_text(operation[:MAX_SCANNED])).strip()
    if statement:
        text = compact_statement(text)
    text = _CLUSTER_HOST.sub(r"\1", text)
    if len(text) <= MAX_CHARS:
        return text
    head = MAX_CHARS * 2 // 3
    return text[:head] + "…" + text[len(text) - (MAX_CHARS - head - 1) :]


def compact_statement(statement: str) -> str:
    """A statement by its verb, tables and filter.

    ``postgresql SELECT id, sku FROM products WHERE category_id = ? ORDER BY created_at``
    reads ``postgresql SELECT … FROM products WHERE category_id = ?``;
    ``UPDATE orders SET status = ?, updated_at = NOW() WHERE id = ?`` reads
    ``UPDATE orders SET status, updated_at WHERE id = ?``; a computed value stays
    (``SET available = available - ?``). Only the outer query loses its ordering and
    paging: a subquery's or a CTE's ``LIMIT`` says which rows it feeds on.
    """
    compact = _SELECTED.sub(lambda m: m.group(0).replace(m.group(1), "…", 1), statement)
    compact = _INSERTED.sub(lambda m: f"INSERT INTO {m.group(1)} (…)", compact)
    compact = _SET.sub(lambda m: "SET " + _PLAIN_ASSIGNMENT.sub("", m.group(1)), compact)
    return _without_outer_tail(compact)


def _without_outer_tail(statement: str) -> str:
    for match in _TAIL.finditer(statement):
        before = statement[: match.start()]
        if before.count("(") == before.count(")"):  # not inside a subquery
            return before
    return statement
