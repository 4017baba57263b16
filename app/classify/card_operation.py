"""An operation as a pattern card shows it: what names the work, in fewer tokens.

The card is read to name a pattern, and long operations cost tokens on every card that
shows them (as the pattern itself, and as a neighbour). Left out: the column lists of
SELECT and INSERT, the values an UPDATE sets when they are parameters, the ordering and paging of a
query, what an INSERT returns, an RPC service's package, and a Kubernetes service's cluster
domain. What remains (the verb, the tables, the filter, the route) is what names it.
"""

from __future__ import annotations

import re

MAX_CHARS = 80

_SELECTED = re.compile(r"\bSELECT\s+(?:DISTINCT\s+)?([^()]*?,[^()]*?)\s+FROM\b", re.IGNORECASE)
_INSERTED = re.compile(r"\bINSERT\s+INTO\s+(\S+)\s*\([^()]*\)\s*VALUES\s*\(.*?\)(?=\s|$)", re.I)
_SET = re.compile(r"\bSET\s+(?:[^()]|\(\))+?(?=\s+WHERE\b|$)", re.IGNORECASE)
_PLAIN_ASSIGNMENT = re.compile(r"\s*=\s*(?:\?|\w+\(\))(?=\s*,|\s*$)")
_TAIL = re.compile(r"\s+(?:ORDER\s+BY\b|LIMIT\s|OFFSET\s|RETURNING\s).*$", re.IGNORECASE | re.S)
_RPC_PACKAGE = re.compile(r"\b(?:[a-z][a-z0-9_]*\.)+(?=[A-Z]\w*/)")
_CLUSTER_HOST = re.compile(r"\b([a-z0-9-]+)(?:\.[a-z0-9-]+)*\.svc\.cluster\.local(?::\d+)?\b")


def compact_operation(operation: str) -> str:
    """``compact_statement``; ``grpc inventory.v1.InventoryService/GetProduct`` reads
    ``grpc InventoryService/GetProduct``; ``search.shop.svc.cluster.local:8000`` reads
    ``search``; at most ``MAX_CHARS`` characters."""
    compact = _CLUSTER_HOST.sub(r"\1", _RPC_PACKAGE.sub("", compact_statement(operation)))
    return compact if len(compact) <= MAX_CHARS else compact[: MAX_CHARS - 1] + "…"


def compact_statement(operation: str) -> str:
    """A statement by its verb, tables and filter.

    ``postgresql SELECT id, sku FROM products WHERE category_id = ? ORDER BY created_at``
    reads ``postgresql SELECT … FROM products WHERE category_id = ?``;
    ``UPDATE orders SET status = ?, updated_at = NOW() WHERE id = ?`` reads
    ``UPDATE orders SET status, updated_at WHERE id = ?``; a computed value stays
    (``SET available = available - ?``).
    """
    compact = _SELECTED.sub(lambda m: m.group(0).replace(m.group(1), "…"), operation)
    compact = _INSERTED.sub(lambda m: f"INSERT INTO {m.group(1)} (…)", compact)
    compact = _SET.sub(lambda m: _PLAIN_ASSIGNMENT.sub("", m.group(0)), compact)
    return _TAIL.sub("", compact)
