"""SQL statements normalized as pg_stat_statements does, and the regexes that match them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.discovery.normalize.sql import (
    _DIALECTS,
    SqlDialect,
    _adjacent_ok,
    dialect_for_system,
    literal_blind,
    normalize_statement,
    statement_regex,
)

ANSI, MYSQL, MSSQL, JSON = SqlDialect.ANSI, SqlDialect.MYSQL, SqlDialect.MSSQL, SqlDialect.JSON


def _text(statement: str, dialect: SqlDialect = ANSI) -> str:
    return normalize_statement(statement, dialect).text


def _matches(pattern_of: str, statement: str, dialect: SqlDialect = ANSI) -> bool:
    regex = normalize_statement(pattern_of, dialect).regex
    return re.fullmatch(regex, statement, re.DOTALL) is not None


@pytest.mark.parametrize(
    ("statement", "text"),
    [
        ("SELECT id FROM orders WHERE id = 42", "SELECT id FROM orders WHERE id = ?"),
        # every driver's parameter style is a literal
        ("SELECT * FROM t WHERE a = $1 AND b = ?", "SELECT * FROM t WHERE a = ? AND b = ?"),
        ("SELECT * FROM t WHERE a = :id AND b = :1", "SELECT * FROM t WHERE a = ? AND b = ?"),
        ("SELECT * FROM t WHERE a = %s AND b = %(name)s", "SELECT * FROM t WHERE a = ? AND b = ?"),
        ("SELECT * FROM t WHERE a=%s", "SELECT * FROM t WHERE a = ?"),
        (
            "SELECT * FROM t WHERE a = 'it''s' AND b = E'a\\'b'",
            "SELECT * FROM t WHERE a = ? AND b = ?",
        ),
        ("SELECT * FROM t WHERE a = $$x$$ AND b = N'x'", "SELECT * FROM t WHERE a = ? AND b = ?"),
        ("SELECT 1.5, .5, 1e5, 0x1F", "SELECT ?, ?, ?, ?"),
        # a tagged dollar quote keeps its tag
        ("SELECT $fn$ body $fn$", "SELECT $fn$?$fn$"),
        # pg_stat_statements leaves NULL, and this normalizer TRUE/FALSE, as they are
        (
            "SELECT * FROM t WHERE a IS NULL AND b = true",
            "SELECT * FROM t WHERE a IS NULL AND b = TRUE",
        ),
        # a minus sign stays an operator
        ("SELECT * FROM t WHERE a = -5", "SELECT * FROM t WHERE a = - ?"),
        # IN lists of any length, and of parameters, collapse
        ("SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (?)"),
        ("SELECT * FROM t WHERE id IN ($1, $2, $3, $4)", "SELECT * FROM t WHERE id IN (?)"),
        ("SELECT * FROM t WHERE id NOT IN ('a')", "SELECT * FROM t WHERE id NOT IN (?)"),
        (
            "SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4))",
            "SELECT * FROM t WHERE (a, b) IN ((?, ?))",
        ),
        # items that differ, and subqueries, stay as they are
        ("SELECT * FROM t WHERE id IN (1, a)", "SELECT * FROM t WHERE id IN (?, a)"),
        (
            "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE x = 1)",
            "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE x = ?)",
        ),
        ("SELECT ARRAY[1, 2, 3]", "SELECT ARRAY[?]"),
        (
            "SELECT * FROM t WHERE id = ANY($1::bigint[])",
            "SELECT * FROM t WHERE id = ANY(?::BIGINT[])",
        ),
        # multi-row VALUES collapse when the rows are alike
        (
            "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'),\n       (3, 'z')",
            "INSERT INTO t (a, b) VALUES (?, ?)",
        ),
        ("INSERT INTO t (a) VALUES (1), (now())", "INSERT INTO t (a) VALUES (?), (NOW())"),
        # comments go: sqlcommenter's, sqlc's, and in between
        (
            "SELECT * FROM t WHERE x = 1 /*traceparent='00-4bf92f35-00f067aa-01'*/",
            "SELECT * FROM t WHERE x = ?",
        ),
        (
            "-- name: GetOrder :one\nselect id\nfrom orders\nwhere id = 7",
            "SELECT id FROM orders WHERE id = ?",
        ),
        ("SELECT /* hint */ a -- tail\nFROM t", "SELECT a FROM t"),
        # keywords are upper-cased, identifiers kept as written, quoted ones too
        ('select "Id", UserName from "Users"', 'SELECT "Id", UserName FROM "Users"'),
        # common functions count as keywords; others are identifiers
        ("SELECT count(*), lower(n), f_x(n) FROM t", "SELECT COUNT(*), LOWER(n), f_x(n) FROM t"),
        ("SELECT a::text, b[1], c->>'k' FROM t", "SELECT a::text, b[?], c ->> ? FROM t"),
        # FOR UPDATE stays
        ("SELECT a FROM t WHERE id = 1 FOR UPDATE", "SELECT a FROM t WHERE id = ? FOR UPDATE"),
        # truncated by the instrumentation: as far as it goes
        ("SELECT * FROM t WHERE name = 'abc", "SELECT * FROM t WHERE name = ?"),
        ("INSERT INTO t (a, b) VALUES (1, 2", "INSERT INTO t (a, b) VALUES (?, ?"),
        ("SELECT * FROM t /* cut off", "SELECT * FROM t"),
        ('SELECT "unterminated', 'SELECT "unterminated'),
        ("", ""),
        ("  -- only a comment", ""),
        ("SELECT naïve, 名前 FROM données", "SELECT naïve, 名前 FROM données"),
    ],
)
def test_statement_normalizes_like_pg_stat_statements(statement: str, text: str) -> None:
    assert _text(statement) == text


@pytest.mark.parametrize(
    ("statement", "dialect", "text"),
    [
        # MySQL: double quotes are strings, backslashes escape, # starts a comment
        (
            "SELECT * FROM `users` WHERE a = \"x\" AND b = 'it\\'s' # c",
            MYSQL,
            "SELECT * FROM `users` WHERE a = ? AND b = ?",
        ),
        (
            "INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = a + 1",
            MYSQL,
            "INSERT INTO t (a) VALUES (?) ON DUPLICATE KEY UPDATE a = a + ?",
        ),
        # SQL Server: bracketed identifiers, @p parameters
        (
            "SELECT [Id] FROM [dbo].[Users] WHERE [Id] = @p0",
            MSSQL,
            "SELECT [Id] FROM [dbo].[Users] WHERE [Id] = ?",
        ),
        # JSON: keys kept, values replaced, arrays of like items collapsed
        (
            '{"query":{"multi_match":{"query":"red shoes","fields":["name^3","description"]}},'
            '"size":24}',
            JSON,
            '{"query": {"multi_match": {"query": ?, "fields": [?]}}, "size": ?}',
        ),
        (
            '{"find": "orders", "filter": {"_id": {"$in": [1, 2, 3]}}}',
            JSON,
            '{"find": ?, "filter": {"_id": {"$in": [?]}}}',
        ),
    ],
)
def test_dialects_read_quotes_their_own_way(statement: str, dialect: SqlDialect, text: str) -> None:
    assert _text(statement, dialect) == text


@pytest.mark.parametrize(
    ("system", "dialect"),
    [
        ("postgresql", ANSI),
        ("mysql", MYSQL),
        ("MariaDB", MYSQL),
        ("microsoft.sql_server", MSSQL),
        ("mssql", MSSQL),
        ("elasticsearch", JSON),
        ("mongodb", JSON),
        ("oracle.db", ANSI),
        ("something_new", ANSI),
    ],
)
def test_dialect_follows_the_database_system(system: str, dialect: SqlDialect) -> None:
    assert dialect_for_system(system) is dialect


@pytest.mark.parametrize(
    ("statement", "operation", "table"),
    [
        ("SELECT a FROM orders o JOIN users u ON u.id = o.user_id", "SELECT", "orders"),
        (
            "SELECT a FROM public.orders WHERE id = 1 FOR UPDATE",
            "SELECT FOR UPDATE",
            "public.orders",
        ),
        ("SELECT a FROM t FOR NO KEY UPDATE SKIP LOCKED", "SELECT FOR UPDATE", "t"),
        ("SELECT a FROM t FOR SHARE", "SELECT FOR SHARE", "t"),
        ("SELECT * FROM (SELECT id FROM inner_t) sub", "SELECT", "inner_t"),
        ("SELECT now()", "SELECT", ""),
        ("(SELECT a FROM t) UNION (SELECT a FROM u)", "SELECT", "t"),
        ("INSERT INTO order_items (a) VALUES (1)", "INSERT", "order_items"),
        ("INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = 2", "UPSERT", "t"),
        # ON CONFLICT DO NOTHING inserts or skips: not an upsert
        ("INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING", "INSERT", "t"),
        ("UPSERT INTO t (a) VALUES (1)", "UPSERT", "t"),
        ("UPDATE ONLY inventory SET a = 1", "UPDATE", "inventory"),
        ('UPDATE "Orders" SET a = 1', "UPDATE", "Orders"),
        ("DELETE FROM sessions WHERE id = 1", "DELETE", "sessions"),
        ("MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", "MERGE", "t"),
        ("CALL refresh_stats(1)", "CALL", "refresh_stats"),
        ("EXEC dbo.GetOrders @p0", "EXECUTE", "dbo.GetOrders"),
        ("WITH x AS (SELECT * FROM a) DELETE FROM b WHERE id IN (SELECT id FROM x)", "DELETE", "b"),
        ("BEGIN", "BEGIN", ""),
        ("START TRANSACTION", "BEGIN", ""),
        ("COMMIT", "COMMIT", ""),
        ("ROLLBACK TO SAVEPOINT s1", "ROLLBACK", ""),
        ("TRUNCATE TABLE audit_log", "TRUNCATE", "audit_log"),
        ("CREATE TABLE IF NOT EXISTS foo (id int)", "CREATE TABLE", "foo"),
        ("DROP INDEX CONCURRENTLY idx_a", "DROP INDEX", "idx_a"),
        ("PRAGMA journal_mode", "PRAGMA", ""),
        ("", "", ""),
    ],
)
def test_operation_and_main_table_are_read_for_naming(
    statement: str, operation: str, table: str
) -> None:
    normalized = normalize_statement(statement)
    assert (normalized.operation, normalized.table) == (operation, table)


@pytest.mark.parametrize(
    ("pattern_of", "statement"),
    [
        ("SELECT a FROM t WHERE id = 1", "select a\n  from t\n where id = 'x' -- why\n"),
        ("SELECT a FROM t WHERE id = 1", "SELECT/**/a/* c */FROM t WHERE id=$1"),
        ("SELECT a FROM t WHERE id IN (1)", "SELECT a FROM t WHERE id IN (1,2,3, $4, :five, ?)"),
        ("INSERT INTO t (a, b) VALUES (1, 2)", "INSERT INTO t (a,b) VALUES (1,2),(3,4), ( 5 , 6 )"),
        (
            "SELECT a FROM t WHERE id = 1",
            "SELECT a FROM t WHERE id = 1 /*traceparent='00-ab-cd-01'*/",
        ),
        # adjacent literals are one: 'a' 'b' is one string constant in PostgreSQL
        ("SELECT 'a'", "SELECT 'a'\n'b'"),
        ("SELECT a FROM t WHERE x = 'abc", "SELECT a FROM t WHERE x = $1"),
        ("SELECT a FROM t WHERE x = 1", "SELECT a FROM t WHERE x = 'cut off"),
        ("SELECT a", "SELECT a /* cut off"),
        ("SELECT a FROM t WHERE x = 12", "SELECT a FROM t WHERE x = 1 2a"),
        # after a quote, an E-string is a literal of its own: still one run
        ("SELECT 1", "SELECT 'a'E'b\\''1"),
    ],
)
def test_regex_matches_every_statement_with_the_same_text(pattern_of: str, statement: str) -> None:
    assert _text(pattern_of) == _text(statement)
    assert _matches(pattern_of, statement)


@pytest.mark.parametrize(
    ("pattern_of", "statement"),
    [
        ("SELECT a FROM t WHERE id = 1", "SELECT a FROM t WHERE id = 1 FOR UPDATE"),
        ("SELECT a FROM t WHERE id = 1", "SELECT a FROM t WHERE id = a1"),
        ("SELECT a FROM t", "SELECT a FROM T"),
        ('SELECT "a" FROM t', "SELECT a FROM t"),
        ("SELECT a FROM t WHERE id IN (1)", "SELECT a FROM t WHERE id IN (1, a)"),
        ("SELECT a - 1", "SELECT a --1"),  # a comment, not a minus
        ("SELECT a FROM t WHERE x = 12", "SELECT a FROM t WHERE x = 1 a"),
        # a number straight before an E-string swallows its E: 1E, then 'a\', b...
        ("SELECT x, E'a\\'b', y", "SELECT x, 1E'a\\'b', y"),
        ("SELECT a FROM t WHERE x = 1", "SELECT a FROM t WHERE x = 1 AND y = 2"),
        ("SELECT a FROM t WHERE x = 'a' /* c", "SELECT a FROM t WHERE x = 'a' /* c */ b"),
        ("SELECT a FROM t WHERE x = %(id)s", "SELECT a FROM t WHERE x = % (id) s"),
        ("SELECT $fn$x$fn$", "SELECT $fn$x$fn$ $fn$"),
    ],
)
def test_regex_rejects_statements_with_another_text(pattern_of: str, statement: str) -> None:
    assert _text(pattern_of) != _text(statement)
    assert not _matches(pattern_of, statement)


def test_regexes_use_only_what_re2_supports() -> None:
    statements = [
        "SELECT a FROM t WHERE x IN (1, 2) AND y = 'z' LIMIT 10 OFFSET 5",
        "SELECT $fn$x$fn$, $$y$$ FROM t WHERE a = - 1",
        "INSERT INTO t VALUES (1, E'x'), (2, E'y') RETURNING id",
    ]
    for statement in statements:
        regex = normalize_statement(statement).regex
        for construct in ("(?=", "(?!", "(?<", "(?P", "\\Z", "\\z", "\\b"):
            assert construct not in regex
        assert not re.search(r"\\[1-9]", regex)  # no backreference
        assert not re.search(r"(?<!\\)[)\]][*+?]\+", regex)  # no possessive quantifier


NEIGHBOURS = [
    "a", "E", "N", "s", "e", "x", "é", "SELECT", "1", "1.5", "'s'", '"q"', "`b`", "$t$x$t$",
    ".", "'", '"', "$", "$$", "-", "/", "*", ":", "::", "%", "(", ")", ",", "?", "@", "#", "`",
    "[", "]", "\\", "=", "+", "{", "}",
]  # fmt: skip


@pytest.mark.parametrize("dialect", list(SqlDialect))
def test_literal_forms_of_one_class_behave_alike_next_to_any_token(dialect: SqlDialect) -> None:
    # the regex decides adjacency per class of literal, from its samples: they must agree
    d = _DIALECTS[dialect]
    for literal_class in d.classes + d.open_classes:
        for neighbour in NEIGHBOURS:
            before = {_adjacent_ok(neighbour, rep, dialect) for rep in literal_class.reps}
            assert len(before) == 1, (literal_class.name, neighbour)
            if not literal_class.open:
                after = {_adjacent_ok(rep, neighbour, dialect) for rep in literal_class.reps}
                assert len(after) == 1, (literal_class.name, neighbour)


# --- properties ---------------------------------------------------------------------------------

_KEYWORDS = ["SELECT", "select", "From", "WHERE", "in", "IN", "VALUES", "and", "NULL", "ARRAY"]
_IDENTIFIERS = ["a", "t1", "s", "e", "E", "N", "x", '"Quoted Id"', '""', "`bq`", "é", "users"]
_LITERALS = [
    "0",
    "42",
    "1.5",
    ".5",
    "1e5",
    "1.",
    "'s'",
    "''",
    "'it''s'",
    "E'a\\'b'",
    "N'n'",
    "$$d$$",
    "$t$x$t$",
    "?",
    "$1",
    ":name",
    ":1",
    "%s",
    "%(n)s",
    "@p1",
    "'",
    "$$",
]
_OPERATORS = ["=", "<>", "+", "-", "*", "/", "::", "->>", "%", "@", "||", ":=", "#"]
_PUNCTUATION = ["(", ")", ",", ";", ".", "[", "]", ":", "$", "{", "\\"]
_SEPARATORS = ["", "", " ", "\n", "/**/", "/* c */", "-- c\n", "\t "]
_TOKENS = _KEYWORDS + _IDENTIFIERS + _LITERALS + _OPERATORS + _PUNCTUATION


@st.composite
def statements(draw: st.DrawFn) -> str:
    """Token soup, glued with or without separators: adjacency is where lexers disagree."""
    tokens = draw(st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=9))
    parts = []
    for token in tokens:
        parts.append(token)
        parts.append(draw(st.sampled_from(_SEPARATORS)))
    return "".join(parts)


@st.composite
def edited(draw: st.DrawFn, statement: str) -> str:
    """``statement`` with a few small edits: many keep its text, many change it."""
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(statement)))
        edit = draw(st.sampled_from(["insert", "delete", "separator", "case"]))
        if edit == "insert":
            statement = statement[:at] + draw(st.sampled_from(_TOKENS)) + statement[at:]
        elif edit == "delete":
            statement = statement[:at] + statement[at + draw(st.integers(1, 2)) :]
        elif edit == "separator":
            statement = statement[:at] + draw(st.sampled_from(_SEPARATORS)) + statement[at:]
        else:
            statement = statement.swapcase()
    return statement


SQL_DIALECTS = st.sampled_from([ANSI, MYSQL, MSSQL])


@settings(max_examples=150, deadline=None)
@given(st.data(), SQL_DIALECTS)
def test_regex_matches_exactly_the_statements_with_its_text(
    data: st.DataObject, dialect: SqlDialect
) -> None:
    statement = data.draw(statements())
    normalized = normalize_statement(statement, dialect)
    regex = re.compile(normalized.regex, re.DOTALL)
    assert regex.fullmatch(statement), (statement, normalized.text)
    for _ in range(3):
        other = data.draw(edited(statement))
        same = normalize_statement(other, dialect).text == normalized.text
        assert (regex.fullmatch(other) is not None) == same, (statement, other, normalized.text)


@settings(max_examples=80, deadline=None)
@given(statements(), statements(), SQL_DIALECTS)
def test_statements_with_different_texts_match_neither_regex(
    first: str, second: str, dialect: SqlDialect
) -> None:
    one, two = normalize_statement(first, dialect), normalize_statement(second, dialect)
    if one.text != two.text:
        assert not re.fullmatch(one.regex, second, re.DOTALL)
        assert not re.fullmatch(two.regex, first, re.DOTALL)


@settings(max_examples=100, deadline=None)
@given(statements(), SQL_DIALECTS)
def test_normalized_text_normalizes_to_itself(statement: str, dialect: SqlDialect) -> None:
    # so that a key, as text, stands for one normalized statement (and one regex)
    normalized = normalize_statement(statement, dialect)
    again = normalize_statement(normalized.text, dialect)
    assert again.text == normalized.text
    assert statement_regex(again) == statement_regex(normalized)


@settings(max_examples=100, deadline=None)
@given(statements(), SQL_DIALECTS)
def test_literal_blind_cache_key_keeps_the_normalized_text(
    statement: str, dialect: SqlDialect
) -> None:
    blind = literal_blind(statement, dialect)
    assert normalize_statement(blind, dialect).text == normalize_statement(statement, dialect).text


@settings(max_examples=50, deadline=None)
@given(statements())
def test_truncated_statements_normalize_and_match(statement: str) -> None:
    for end in range(0, len(statement) + 1, 3):
        cut = statement[:end]
        assert re.fullmatch(normalize_statement(cut).regex, cut, re.DOTALL)


_JSON_TOKENS = [
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    '"k"',
    '"v"',
    '"a\\"b"',
    "1",
    "-2",
    "1e-5",
    "true",
    "null",
    '"',
    "-",
    "?",
]


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_json_regex_matches_exactly_the_bodies_with_its_text(data: st.DataObject) -> None:
    tokens = data.draw(st.lists(st.sampled_from(_JSON_TOKENS), min_size=1, max_size=10))
    seps = data.draw(
        st.lists(st.sampled_from(["", "", " ", "\n"]), min_size=len(tokens), max_size=len(tokens))
    )
    body = "".join(t + s for t, s in zip(tokens, seps, strict=True))
    other = data.draw(st.lists(st.sampled_from(_JSON_TOKENS), min_size=1, max_size=10))
    normalized = normalize_statement(body, JSON)
    assert re.fullmatch(normalized.regex, body, re.DOTALL)
    for candidate in ("".join(other), body.replace(" ", ""), body + "1"):
        same = normalize_statement(candidate, JSON).text == normalized.text
        assert (re.fullmatch(normalized.regex, candidate, re.DOTALL) is not None) == same
