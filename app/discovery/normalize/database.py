"""Database client spans: the system, and the statement normalized as pg_stat_statements does.

The key is the database system and the normalized statement (``postgresql SELECT id FROM
orders WHERE id = ?``). Span names are ignored: client libraries name them after the
connection call (Go's otelsql: ``sql.conn.query``), the database (Npgsql: ``shop``) or the
verb, so only the statement tells two queries apart. JSON query languages (Elasticsearch,
MongoDB) put neither verb nor collection in the statement, so their keys also carry the
operation and collection attributes. A span without a statement is keyed by its
``db.query.summary``, else by its operation and table attributes; one with nothing but the
system returns None and falls back to its span name.

Matchers reference the attributes the span carries, current or legacy names alike: the
system exactly; the operation (``db.operation.name``, legacy ``db.operation``) and table
(``db.collection.name``, ``db.sql.table``...) exactly where they say what the statement says;
and the statement by a short regex of its normalized text (``sql_matcher``). Without a
statement: the summary, operation and table exactly.

A limit of the contract, since no matcher can ask for an attribute to be absent: the matchers
of a span keyed by summary, or by operation and table, are also met by a span of the same
service that records the same summary, operation or table along with a full statement. An
instrumentation records statements for all its spans or for none, so this takes two clients
of one database in one service that disagree.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from app.discovery.normalize.sql import (
    NormalizedStatement,
    SqlDialect,
    dialect_for_system,
    normalize_statement,
)
from app.discovery.normalize.sql_matcher import statement_matcher_regex
from app.discovery.operation import Family, FieldType, Matcher, MatchType, Operation
from connectors.spans import Span

_SYSTEM = ("db.system.name", "db.system")
_STATEMENT = ("db.query.text", "db.statement")
_SUMMARY = ("db.query.summary",)
_OPERATION = ("db.operation.name", "db.operation")
_TABLE = (
    "db.collection.name",
    "db.sql.table",
    "db.mongodb.collection",
    "db.cassandra.table",
    "db.cosmosdb.container",
)


def normalize_database(span: Span) -> Operation | None:
    attributes = span.attributes
    system_field, system = _first(attributes, _SYSTEM)
    if not system:
        return None
    statement_field, statement = _first(attributes, _STATEMENT)
    if statement:
        normalized = normalize_statement(statement, dialect_for_system(system))
        if normalized.text:
            operation_field, operation = _first(attributes, _OPERATION)
            table_field, table = _first(attributes, _TABLE)
            return _statement_operation(
                system_field,
                system,
                statement_field,
                normalized,
                operation_field,
                operation,
                table_field,
                table,
            )
    operation_field, operation = _first(attributes, _OPERATION)
    table_field, table = _first(attributes, _TABLE)
    summary_field, summary = _first(attributes, _SUMMARY)
    if summary:
        return _exact_operation(
            ((system_field, system), (summary_field, summary)), operation, table
        )
    if operation or table:
        return _exact_operation(
            ((system_field, system), (operation_field, operation), (table_field, table)),
            operation,
            table,
        )
    return None


def _first(attributes: dict[str, Any], names: tuple[str, ...]) -> tuple[str, str]:
    """The first of ``names`` the span carries with a value, and that value as matchers read
    it (``Matcher.value_of``); ``("", "")`` when it carries none of them."""
    for name in names:
        raw = attributes.get(name)
        if raw is None:
            continue
        if type(raw) is str:
            if raw:
                return name, raw
            continue
        if isinstance(raw, bool):
            return name, "true" if raw else "false"
        if isinstance(raw, list) and len(raw) == 1:
            raw = raw[0]
        text = str(raw)
        if text and raw != []:
            return name, text
    return "", ""


@lru_cache(maxsize=16384)
def _statement_operation(
    system_field: str,
    system: str,
    statement_field: str,
    normalized: NormalizedStatement,
    operation_field: str,
    operation: str,
    table_field: str,
    table: str,
) -> Operation:
    matchers = [_exact(system_field, system)]
    words = [system]
    if normalized.dialect is SqlDialect.JSON:
        # the statement names neither operation nor collection: the attributes do
        for field, value in ((operation_field, operation), (table_field, table)):
            if value:
                words.append(value)
                matchers.append(_exact(field, value))
    else:
        # Matched too where they say what the statement says, so that the key decides them
        verb = normalized.operation.partition(" ")[0]
        if operation and operation == verb:
            matchers.append(_exact(operation_field, operation))
        if table and table == normalized.table:
            matchers.append(_exact(table_field, table))
    words.append(normalized.text)
    matchers.append(
        Matcher(
            FieldType.SPAN_ATTRIBUTE,
            statement_field,
            MatchType.REGEX,
            statement_matcher_regex(normalized),
        )
    )
    return Operation(
        Family.DATABASE,
        " ".join(words),
        tuple(matchers),
        _hints(system, normalized.operation or operation, normalized.table or table),
    )


@lru_cache(maxsize=4096)
def _exact_operation(fields: tuple[tuple[str, str], ...], operation: str, table: str) -> Operation:
    present = [(field, value) for field, value in fields if value]
    return Operation(
        Family.DATABASE,
        " ".join(value for _, value in present),
        tuple(_exact(field, value) for field, value in present),
        _hints(present[0][1], operation, table),
    )


def _exact(field: str, value: str) -> Matcher:
    return Matcher(FieldType.SPAN_ATTRIBUTE, field, MatchType.EXACT, value)


def _hints(system: str, operation: str, table: str) -> dict[str, str]:
    hints = {"system": system}
    if operation:
        hints["operation"] = operation
    if table:
        hints["target"] = table
    return hints
