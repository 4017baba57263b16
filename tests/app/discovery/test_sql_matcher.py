"""The short regex of a normalized statement: every way its statements are written matches it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.discovery.normalize.sql import SqlDialect, normalize_statement
from app.discovery.normalize.sql_matcher import MAX_LENGTH, statement_matcher_regex

ANSI, MYSQL, JSON = SqlDialect.ANSI, SqlDialect.MYSQL, SqlDialect.JSON

# Statements as applications write them, ``{}`` where a literal or parameter goes.
TEMPLATES = [
    "SELECT id, sku, name FROM products WHERE category_id = {} ORDER BY created_at LIMIT {}",
    "SELECT sku, available FROM inventory WHERE sku IN ({}, {}, {})",
    "SELECT * FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = {} FOR UPDATE",
    "INSERT INTO order_items (order_id, sku, quantity) VALUES ({}, {}, {}), ({}, {}, {})",
    "UPDATE inventory SET available = available - {}, reserved = reserved + {} WHERE sku = {}",
    "DELETE FROM carts WHERE user_id = {} AND updated_at < NOW() - INTERVAL {}",
    'SELECT count(*) FROM "Orders" WHERE status = {} AND total > {}',
    "WITH recent AS (SELECT id FROM orders WHERE created_at > {}) SELECT * FROM recent",
    "BEGIN",
    "SELECT lower(email) FROM users WHERE id = ANY({})",
]
PARAMETERS = ["42", "-7", "1.5e3", "'it''s'", "'a, (b)'", "$1", "?", ":name", "%s", "%(p_1)s"]
PARAMETERS += ["@p1"]
MYSQL_PARAMETERS = ["42", "'it\\'s'", '"double, (quoted)"', "?", "%s"]
AROUND = [
    ("", ""),
    ("  ", ";"),
    ("-- name: GetOrder :one\n", ""),
    ("/* load com.shop.Order */ ", ""),
    ("", " /*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/"),
]


def _regex(statement: str, dialect: SqlDialect = ANSI) -> re.Pattern[str]:
    regex = statement_matcher_regex(normalize_statement(statement, dialect))
    return re.compile(regex, re.DOTALL | re.ASCII)  # as matchers read it


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(TEMPLATES),
    st.lists(st.sampled_from(PARAMETERS), min_size=6, max_size=6),
    st.sampled_from([" ", "\n  ", "\t"]),
    st.booleans(),
    st.sampled_from(AROUND),
)
def test_every_way_of_writing_a_statement_matches_its_regex(
    template: str, values: list[str], space: str, lower: bool, around: tuple[str, str]
) -> None:
    first = template.format(*values[: template.count("{}")])
    other_values = list(reversed(values))
    written = template.format(*other_values[: template.count("{}")]).replace(" ", space)
    if lower:
        keywords = r"\b(SELECT|FROM|WHERE|AND|ORDER BY|LIMIT|IN)\b"
        written = re.sub(keywords, lambda m: m[0].lower(), written)
    written = around[0] + written + around[1]
    if normalize_statement(written).text != normalize_statement(first).text:
        return  # a semicolon or an IN list of another shape: another statement
    assert _regex(first).fullmatch(written), (first, written)


@pytest.mark.parametrize("value", MYSQL_PARAMETERS)
def test_mysql_strings_with_backslashes_and_double_quotes_match(value: str) -> None:
    statement = f"SELECT * FROM t WHERE a = {value} AND b IN ({value}, {value})"
    assert _regex("SELECT * FROM t WHERE a = 1 AND b IN (2)", MYSQL).fullmatch(statement)


def test_the_regex_reads_as_the_statement() -> None:
    statement = "SELECT sku FROM inventory WHERE sku = 'x'"
    regex = statement_matcher_regex(normalize_statement(statement))
    assert r"(?i:SELECT)(?:\s*/\*.*?\*/)?\s+sku\s+(?i:FROM)\s+inventory\s+(?i:WHERE)" in regex
    assert len(regex) < 200


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("SELECT id FROM orders WHERE id = 1", "SELECT id FROM orders WHERE user_id = 1"),
        ("SELECT id FROM orders", "SELECT id FROM orders_archive"),
        ("SELECT a FROM t WHERE a IN (1)", "SELECT a FROM t WHERE a NOT IN (1)"),
        ("UPDATE t SET a = 1", "UPDATE t SET a = 1 WHERE b = 2"),
        ("SELECT 1", "SELECT 1, 2"),
    ],
)
def test_statements_of_other_texts_do_not_match(one: str, other: str) -> None:
    assert not _regex(one).fullmatch(other)
    assert not _regex(other).fullmatch(one)


def test_keywords_take_any_case_and_identifiers_their_own() -> None:
    regex = _regex('SELECT id FROM "Users" WHERE Id = 1')
    assert regex.fullmatch('select id from "Users" where Id = 2')
    assert not regex.fullmatch('SELECT id FROM "users" WHERE Id = 1')
    assert not regex.fullmatch('SELECT id FROM "Users" WHERE ID = 1')


def test_an_optimizer_hint_after_the_first_keyword_matches() -> None:
    hinted = "SELECT /*+ INDEX(t i) */ a FROM t WHERE b = 2"
    assert _regex("SELECT a FROM t WHERE b = 1").fullmatch(hinted)


def test_long_statements_that_differ_at_their_end_are_told_apart() -> None:
    columns = ", ".join(f'"users"."column_{i}"' for i in range(12))
    by_id = f'SELECT {columns} FROM "users" WHERE "users"."id" = $1 LIMIT $2'
    by_email = by_id.replace('"users"."id"', '"users"."email"')
    assert len(by_id) > 250
    assert _regex(by_id).pattern != _regex(by_email).pattern
    assert _regex(by_id).fullmatch(by_id) and not _regex(by_id).fullmatch(by_email)
    assert len(_regex(by_id).pattern) <= MAX_LENGTH


def test_a_long_statement_is_matched_by_its_beginning() -> None:
    columns = ", ".join(f"column_number_{i}" for i in range(60))
    statement = f"INSERT INTO wide_table ({columns}) VALUES ({{}})"
    regex = statement_matcher_regex(normalize_statement(statement.format(", ".join("1" * 60))))
    assert len(regex) <= MAX_LENGTH and ".*" in regex
    for values in (["1"] * 60, ["'x'"] * 60, ["$1"] * 60):
        assert re.fullmatch(regex, statement.format(", ".join(values)), re.DOTALL)


def test_a_megabyte_statement_gets_a_short_regex_quickly() -> None:
    rows = ", ".join(f"({i}, 'row {i}')" for i in range(60_000))
    statement = f"INSERT INTO big (id, label) VALUES {rows}"
    assert len(statement) > 1_000_000
    regex = statement_matcher_regex(normalize_statement(statement))
    assert len(regex) <= MAX_LENGTH
    assert re.fullmatch(regex, statement, re.DOTALL)


def test_json_queries_match_with_other_values() -> None:
    body = '{"query": {"match": {"name": "red tea"}}, "size": 10}'
    other = '{"query":{"match":{"name":"green \\"tea\\""}},"size":25}'
    assert _regex(body, JSON).fullmatch(other)
    assert not _regex(body, JSON).fullmatch(other.replace('"size"', '"from"'))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_any_text_gives_a_regex_that_compiles_and_is_short(text: str) -> None:
    normalized = normalize_statement(text)
    regex = statement_matcher_regex(normalized)
    assert len(regex) <= MAX_LENGTH
    re.compile(regex)
