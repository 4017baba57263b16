"""SQL statements as people and ORMs write them, with literals that vary from call to call.

A ``Query`` says what a statement does (verb, table, columns, conditions); ``render`` writes
it in one of five styles: ``hand`` (lower-case keywords, literals inline: ``where cart_key =
'gtmcbtxbxu' and id in (3, 17)``), ``named`` (SQLAlchemy over psycopg2 or mysqlclient:
``%(cart_key_1)s``, IN lists expanded to as many parameters as values), ``dollar`` (pgx,
node-postgres, Npgsql: ``$1``, ``= ANY($2)``), ``qmark`` (JDBC and MySQL drivers: ``?``) and
``hibernate`` (Hibernate 6: aliased, compact, lower-case). One operation always uses one
style, so its statements differ only in literals and in the length of IN lists.

Value kinds of a condition or an assignment: ``pos:<name>`` (the value of a variable
position, quoted), ``int`` (a number), ``ints`` (an IN list of 1 to 12 numbers), ``word``
(a LIKE pattern), ``now`` (the database clock), ``const:<text>`` (a fixed string).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from app.sample.unfamiliar.ids import WORDS

STYLES = ("hand", "named", "dollar", "qmark", "hibernate")


@dataclass(frozen=True)
class Query:
    """One statement shape. ``columns`` are selected; ``assign`` are inserted or set."""

    verb: str
    table: str
    columns: tuple[str, ...] = ()
    where: tuple[tuple[str, str], ...] = ()
    assign: tuple[tuple[str, str], ...] = ()
    order_by: str = ""
    limit: int = 0

    def summary(self) -> str:
        """The ``what`` of the operation: the statement with its literals left out, so that
        two statements of one service have the same summary only if they are the same."""
        where = " WHERE " + ", ".join(_shown(c, k) for c, k in self.where) if self.where else ""
        if self.verb == "SELECT":
            order = f" ORDER BY {self.order_by}" if self.order_by else ""
            limit = " LIMIT" if self.limit else ""
            return f"SELECT {', '.join(self.columns)} FROM {self.table}{where}{order}{limit}"
        if self.verb == "INSERT":
            return f"INSERT {self.table} ({', '.join(c for c, _ in self.assign)})"
        if self.verb == "UPDATE":
            sets = ", ".join(_shown(c, k) for c, k in self.assign)
            return f"UPDATE {self.table} SET {sets}{where}"
        return f"{self.verb} {self.table}{where}"

    def position_names(self) -> tuple[str, ...]:
        """Names of the positions whose values a hand-written statement shows."""
        return tuple(kind[4:] for _, kind in (*self.assign, *self.where) if kind.startswith("pos:"))


def _shown(column: str, kind: str) -> str:
    """A column as a summary shows it: with its value when that never changes."""
    return f"{column}='{kind[6:]}'" if kind.startswith("const:") else column


def render(
    query: Query, style: str, system: str, values: dict[str, str], rng: random.Random
) -> str:
    """The statement text; ``values`` holds the value of each ``pos:`` position."""
    if style == "hand":
        return _Hand(system, values, rng).statement(query)
    if style == "named":
        return _Named(system, values, rng).statement(query)
    if style == "dollar":
        return _Dollar(system, values, rng).statement(query)
    if style == "qmark":
        return _Qmark(system, values, rng).statement(query)
    if style == "hibernate":
        return _Hibernate(system, values, rng).statement(query)
    raise ValueError(f"unknown SQL style {style!r}")


def _qualifiable(column: str) -> bool:
    """Whether an ORM would prefix the column with its table (not ``count(*)``)."""
    return column.isidentifier() or column == "*"


def _in_length(rng: random.Random) -> int:
    return 1 + int(11 * rng.random() ** 2)


class _Writer:
    """The parts every style shares; subclasses say how a column and a value are written."""

    lower_keywords = False

    def __init__(self, system: str, values: dict[str, str], rng: random.Random) -> None:
        self.system = system
        self.values = values
        self.rng = rng
        self.count = 0

    def kw(self, text: str) -> str:
        return text if self.lower_keywords else text.upper()

    def table(self, query: Query) -> str:
        return query.table

    def column(self, query: Query, column: str) -> str:
        return column

    def value(self, column: str, kind: str) -> str:
        raise NotImplementedError

    def in_list(self, column: str) -> str:
        raise NotImplementedError

    def condition(self, query: Query, column: str, kind: str) -> str:
        col = self.column(query, column)
        if kind == "ints":
            return f"{col} {self.kw('in')} ({self.in_list(column)})"
        if kind == "word":
            like = "ilike" if self.system == "postgresql" else "like"
            return f"{col} {self.kw(like)} {self.value(column, kind)}"
        return f"{col} = {self.value(column, kind)}"

    def where(self, query: Query) -> str:
        if not query.where:
            return ""
        joined = f" {self.kw('and')} ".join(self.condition(query, c, k) for c, k in query.where)
        return f" {self.kw('where')} {joined}"

    def tail(self, query: Query) -> str:
        out = ""
        if query.order_by:
            out += f" {self.kw('order by')} {self.column(query, query.order_by)} {self.kw('desc')}"
        if query.limit:
            out += f" {self.kw('limit')} {self.limit(query.limit)}"
        return out

    def limit(self, limit: int) -> str:
        return str(limit)

    def statement(self, query: Query) -> str:
        verb = query.verb
        if verb == "SELECT":
            columns = ", ".join(self.column(query, c) for c in query.columns)
            return (
                f"{self.kw('select')} {columns} {self.kw('from')} {self.table(query)}"
                f"{self.where(query)}{self.tail(query)}"
            )
        if verb == "INSERT":
            columns = ", ".join(c for c, _ in query.assign)
            values = ", ".join(self.value(c, k) for c, k in query.assign)
            return (
                f"{self.kw('insert into')} {self.table(query)} ({columns}) "
                f"{self.kw('values')} ({values}){self.returning(query)}"
            )
        if verb == "UPDATE":
            sets = ", ".join(f"{c} = {self.value(c, k)}" for c, k in query.assign)
            return (
                f"{self.kw('update')} {self.table(query)} {self.kw('set')} {sets}"
                f"{self.where(query)}"
            )
        if verb == "DELETE":
            return f"{self.kw('delete from')} {self.table(query)}{self.where(query)}"
        raise ValueError(f"unknown SQL verb {verb!r}")

    def returning(self, query: Query) -> str:
        return ""

    def literal(self, kind: str) -> str:
        """A literal written inline, as a person writes it."""
        rng = self.rng
        if kind.startswith("pos:"):
            return "'" + self.values[kind[4:]] + "'"
        if kind.startswith("const:"):
            return "'" + kind[6:] + "'"
        if kind == "int":
            return str(rng.randrange(1, 2_000_000))
        if kind == "word":
            return f"'%{rng.choice(WORDS)}%'"
        if kind == "now":
            return "now()"
        raise ValueError(f"unknown value kind {kind!r}")


class _Hand(_Writer):
    """A person's SQL: lower-case keywords, every literal inline, MySQL tables in backticks."""

    lower_keywords = True

    def table(self, query: Query) -> str:
        return f"`{query.table}`" if self.system == "mysql" else query.table

    def value(self, column: str, kind: str) -> str:
        return self.literal(kind)

    def in_list(self, column: str) -> str:
        return ", ".join(str(self.rng.randrange(1, 2_000_000)) for _ in range(_in_length(self.rng)))


class _Named(_Writer):
    """SQLAlchemy: qualified columns, ``%(name_1)s`` parameters, expanded IN lists."""

    def column(self, query: Query, column: str) -> str:
        return f"{query.table}.{column}" if _qualifiable(column) else column

    def value(self, column: str, kind: str) -> str:
        if kind == "now":
            return "now()"
        self.count += 1
        return f"%({column}_{self.count})s"

    def in_list(self, column: str) -> str:
        self.count += 1
        n = _in_length(self.rng)
        return ", ".join(f"%({column}_{self.count}_{i})s" for i in range(1, n + 1))

    def limit(self, limit: int) -> str:
        return "%(param_1)s"

    def returning(self, query: Query) -> str:
        return f" RETURNING {query.table}.id" if self.system == "postgresql" else ""


class _Dollar(_Writer):
    """pgx, node-postgres, Npgsql: numbered ``$n`` parameters, IN lists as ``= ANY($n)``."""

    def value(self, column: str, kind: str) -> str:
        if kind == "now":
            return "now()"
        self.count += 1
        return f"${self.count}"

    def condition(self, query: Query, column: str, kind: str) -> str:
        if kind == "ints":
            self.count += 1
            return f"{column} = ANY(${self.count})"
        return super().condition(query, column, kind)

    def in_list(self, column: str) -> str:
        raise AssertionError("dollar style writes IN lists as = ANY($n)")


class _Qmark(_Writer):
    """JDBC and MySQL drivers: ``?`` parameters, one per value of an IN list."""

    def value(self, column: str, kind: str) -> str:
        return "NOW()" if kind == "now" else "?"

    def in_list(self, column: str) -> str:
        return ", ".join("?" for _ in range(_in_length(self.rng)))

    def condition(self, query: Query, column: str, kind: str) -> str:
        if kind == "word":
            return f"{column} LIKE ?"
        return super().condition(query, column, kind)


class _Hibernate(_Writer):
    """Hibernate 6: ``c1_0`` aliases, no spaces after commas, lower-case keywords."""

    lower_keywords = True

    def alias(self, query: Query) -> str:
        return f"{query.table[0]}1_0"

    def table(self, query: Query) -> str:
        return f"{query.table} {self.alias(query)}"

    def column(self, query: Query, column: str) -> str:
        return f"{self.alias(query)}.{column}" if _qualifiable(column) else column

    def value(self, column: str, kind: str) -> str:
        return "?"

    def in_list(self, column: str) -> str:
        return ",".join("?" for _ in range(_in_length(self.rng)))

    def condition(self, query: Query, column: str, kind: str) -> str:
        col = self.column(query, column)
        if kind == "ints":
            return f"{col} in ({self.in_list(column)})"
        if kind == "word":
            return f"{col} like ? escape '\\'"
        return f"{col}=?"

    def limit(self, limit: int) -> str:
        return "?"

    def tail(self, query: Query) -> str:
        out = ""
        if query.order_by:
            out += f" order by {self.column(query, query.order_by)} desc"
        if query.limit:
            out += " fetch first ? rows only"
        return out

    def statement(self, query: Query) -> str:
        if query.verb == "SELECT":
            columns = ",".join(self.column(query, c) for c in query.columns)
            return f"select {columns} from {self.table(query)}{self.where(query)}{self.tail(query)}"
        if query.verb == "UPDATE":
            sets = ",".join(f"{c}=?" for c, _ in query.assign)
            where = " and ".join(f"{c}=?" for c, _ in query.where)
            return f"update {query.table} set {sets} where {where}"
        if query.verb == "DELETE":
            where = " and ".join(f"{c}=?" for c, _ in query.where)
            return f"delete from {query.table} where {where}"
        columns = ",".join(c for c, _ in query.assign)
        marks = ",".join("?" for _ in query.assign)
        return f"insert into {query.table} ({columns}) values ({marks})"
