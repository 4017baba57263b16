"""SQL statements normalized as PostgreSQL's ``pg_stat_statements`` does, and regexes for them.

``normalize_statement`` turns a raw statement into the text spans are grouped by and people
read: literals and bind parameters of every driver style (``42``, ``'it''s'``, ``E'\\n'``,
``$$x$$``, ``$1``, ``?``, ``:name``, ``%s``, ``%(name)s``, ``@p1``) become ``?``; an ``IN``
or ``ARRAY`` list whose items normalize alike collapses to one item (``IN (?)``), as do the
rows of a ``VALUES`` list; comments go, whitespace folds and keywords are upper-cased, while
identifiers stay as written. It also reads the statement's operation and main table, for
naming. ``statement_regex`` gives an RE2-compatible expression that ``re.fullmatch``-es
exactly the raw statements that normalize to the same text, and no other.

Both come from one lexer, so they cannot disagree. The regex is built token by token: between
two tokens it allows whitespace and comments, and it allows *nothing* between them only when
the lexer, given the two tokens written back to back, reads them as those same two tokens
(``a1`` is one word and ``a 1`` two; ``1'x'`` is two literals; ``- -`` is not ``--``). That is
decided by running the lexer on the pair, so its rules carry over without being restated. A
``?`` stands for a run of adjacent literals (PostgreSQL reads ``'a' 'b'`` across a line break
as one constant): any mix of literals, written apart or together, is still one ``?``.

Deliberate differences from PostgreSQL, none of which merges two different statements:
``TRUE``, ``FALSE`` and ``NULL`` stay keywords; a minus sign stays an operator (``-5`` is
``- ?``, ``1e-5`` is ``? - ?``); block comments do not nest; a dollar-quoted string keeps its
tag (``$fn$?$fn$``: no regex can say "the same tag again" for every tag); a truncated
statement (instrumentations cut long SQL) is normalized as far as it goes, an unterminated
string or comment running to the end.

Dialects differ in quoting only: ``mysql`` reads ``"..."`` as a string and backslash escapes
in strings, and ``#`` starts a comment; ``mssql`` reads ``[...]`` as an identifier; ``json``
(Elasticsearch, MongoDB) keeps object keys and replaces values.

The price of exactness is length: every ``?`` admits every literal form and, next to a word,
only the forms that may touch it, so a regex runs to a few kilobytes. RE2 (TraceQL's ``=~``)
matches in linear time whatever the length; the forms are written so that Python's
backtracking engine has few ways to split a literal either.

Speed: results are cached by raw statement, by its literal-blind form (``literal_blind``:
strings emptied, integers zeroed) and by token sequence, so statements that differ only in
their values are seldom lexed again, and the rest of the work is done once per normalized
statement. The lexer is one compiled expression run by ``findall``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache


class SqlDialect(StrEnum):
    ANSI = "ansi"
    MYSQL = "mysql"
    MSSQL = "mssql"
    JSON = "json"


_DIALECT_OF_SYSTEM = {
    "mysql": SqlDialect.MYSQL,
    "mariadb": SqlDialect.MYSQL,
    "tidb": SqlDialect.MYSQL,
    "clickhouse": SqlDialect.MYSQL,
    "neo4j": SqlDialect.MYSQL,
    "mssql": SqlDialect.MSSQL,
    "microsoft.sql_server": SqlDialect.MSSQL,
    "sqlserver": SqlDialect.MSSQL,
    "elasticsearch": SqlDialect.JSON,
    "opensearch": SqlDialect.JSON,
    "mongodb": SqlDialect.JSON,
    "couchdb": SqlDialect.JSON,
    "cosmosdb": SqlDialect.JSON,
    "azure.cosmosdb": SqlDialect.JSON,
}


@lru_cache(maxsize=256)
def dialect_for_system(system: str) -> SqlDialect:
    """The dialect of ``db.system`` / ``db.system.name``: ANSI unless known otherwise."""
    return _DIALECT_OF_SYSTEM.get(system.lower(), SqlDialect.ANSI)


# --- character classes, written as negated ASCII classes so that Python and RE2 agree -------

_WORD = r"[^\x00-#%-/:-@\[-^`{-\x7f]"  # letter, digit, _, $ or non-ASCII
_NUM_CHAR = r"[^\x00-,\-/:-@\[-^`{-\x7f]"  # letter, digit, _, non-ASCII or "."
_JSON_NUM_CHAR = r"[^\x00-*,/:-@\[-^`{-\x7f]"  # letter, digit, _, non-ASCII, ".", "+", "-"
_IDENT_START = r"[^\x00-@\[-^`{-\x7f]"  # letter, _ or non-ASCII
_IDENT_CHAR = r"[^\x00-/:-@\[-^`{-\x7f]"  # letter, digit, _ or non-ASCII
_WS = r"[\t\n\v\f\r ]"
_ANY = r"[\s\S]"
_PY_NAME = r"[A-Za-z_][0-9A-Za-z_]*"
_BLOCK_COMMENT = r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/"
_OPEN_BLOCK_COMMENT = r"/\*[^*]*(?:\*+[^*/][^*]*)*\**"  # a truncated one: no */ up to the end
_PY_PARAM = rf"%(?:[Ss]|\({_PY_NAME}\)[Ss])"

_STR = r"'[^']*(?:''[^']*)*'"
_STR_OPEN = r"'[^']*(?:''[^']*)*"
_BACKSLASH_STR = r"'(?:[^'\\]|\\[\s\S]|'')*'"
_BACKSLASH_STR_OPEN = r"'(?:[^'\\]|\\[\s\S]|'')*\\?"
_BACKSLASH_DSTR = r'"(?:[^"\\]|\\[\s\S]|"")*"'
_BACKSLASH_DSTR_OPEN = r'"(?:[^"\\]|\\[\s\S]|"")*\\?'
_JSON_STR = r'"(?:[^"\\]|\\[\s\S])*"'
_JSON_STR_OPEN = r'"(?:[^"\\]|\\[\s\S])*\\?'


@dataclass(frozen=True, slots=True)
class _LitClass:
    """Literal forms that behave alike next to any other token (checked by the tests)."""

    name: str
    regex: str  # no top-level alternation
    reps: tuple[str, ...]  # samples the lexer is run on to decide adjacency
    number: bool = False  # follows another literal directly only as its tail (see _Form)
    escape: bool = False  # an E-string: likewise
    before_number: bool = False  # the lexer may put a number right after it: 'a'1, ?1
    before_escape: bool = False  # ... or an E-string: 'a'E'b', $1E'b' (but 1E'b' is 1E, 'b')
    open: bool = False  # unterminated: only at the very end of a statement


_AFTER_QUOTE = {"before_number": True, "before_escape": True}
_NUMBER = _LitClass("number", rf"[0-9]{_NUM_CHAR}*", ("1", "1.", "1e5"), number=True)
_DOT_NUMBER = _LitClass("dot_number", rf"\.[0-9]{_NUM_CHAR}*", (".5", ".5e3"))
_QMARK = _LitClass("qmark", r"\?", ("?",), **_AFTER_QUOTE)
_DOLLAR_QUOTE = _LitClass(
    "dollar_quote", r"\$\$[^$]*(?:\$[^$]+)*\$\$", ("$$x$$", "$$$$"), **_AFTER_QUOTE
)
_DOLLAR_QUOTE_OPEN = _LitClass(
    "dollar_quote_open", r"\$\$[^$]*(?:\$[^$]+)*(?:\$[^$]*)?", ("$$x", "$$x$"), open=True
)
_PARAMETERS = (
    _LitClass("colon_param", rf":{_IDENT_CHAR}+", (":a", ":1")),
    _LitClass("at_param", rf"@{_IDENT_START}{_IDENT_CHAR}*", ("@p1", "@a")),
    _LitClass("py_param", _PY_PARAM, ("%s", "%(a)s"), **_AFTER_QUOTE),
    _LitClass("dollar_param", r"\$[0-9]+", ("$1", "$12"), before_escape=True),
)
_E_STRING = r"[Ee]'(?:[^'\\]|\\[\s\S]|'')*'"
_ANSI_STRINGS = (
    _LitClass("string", _STR, ("'a'", "''", "''''"), **_AFTER_QUOTE),
    # E-strings side by side make one form: E'a'E'b'
    _LitClass(
        "e_string", f"(?:{_E_STRING})+", ("E'a'", "e'\\''", "E'a'e'b'"), escape=True, **_AFTER_QUOTE
    ),
    _LitClass("x_string", r"[BbNnXx]" + _STR, ("N'a'", "x'1f'"), **_AFTER_QUOTE),
)
_ANSI_OPEN_STRINGS = (
    _LitClass("string_open", _STR_OPEN, ("'a", "'a''"), open=True),
    _LitClass(
        "e_string_open",
        f"(?:{_E_STRING})*" + r"[Ee]'(?:[^'\\]|\\[\s\S]|'')*\\?",
        ("E'a", "E'a\\", "E'a'E'b"),
        escape=True,
        open=True,
    ),
    _LitClass("x_string_open", r"[BbNnXx]" + _STR_OPEN, ("N'a",), open=True),
)
_MYSQL_STRINGS = (
    _LitClass("string", _BACKSLASH_STR, ("'a'", "'\\''", "''"), **_AFTER_QUOTE),
    _LitClass("dstring", _BACKSLASH_DSTR, ('"a"', '"\\""', '""'), **_AFTER_QUOTE),
    _LitClass("x_string", r"[BbNnXx]" + _BACKSLASH_STR, ("N'a'",), **_AFTER_QUOTE),
)
_MYSQL_OPEN_STRINGS = (
    _LitClass("string_open", _BACKSLASH_STR_OPEN, ("'a", "'a\\"), open=True),
    _LitClass("dstring_open", _BACKSLASH_DSTR_OPEN, ('"a', '"a\\'), open=True),
    _LitClass("x_string_open", r"[BbNnXx]" + _BACKSLASH_STR_OPEN, ("N'a",), open=True),
)
_JSON_CLASSES = (
    _LitClass("jstring", _JSON_STR, ('"a"', '"\\""', '""'), **_AFTER_QUOTE),
    _LitClass("jnumber", rf"[0-9]{_JSON_NUM_CHAR}*", ("1", "1e-5", "1-"), number=True),
    _LitClass("jnegative", rf"-[0-9]{_JSON_NUM_CHAR}*", ("-1", "-1e-5"), number=True),
    _QMARK,
)
_MERGES = {
    (_NUMBER.regex, _DOT_NUMBER.regex): rf"\.?[0-9]{_NUM_CHAR}*",
    (_STR, r"[BbNnXx]" + _STR): r"[BbNnXx]?" + _STR,
    (_BACKSLASH_STR, r"[BbNnXx]" + _BACKSLASH_STR): r"[BbNnXx]?" + _BACKSLASH_STR,
    (_STR_OPEN, r"[BbNnXx]" + _STR_OPEN): r"[BbNnXx]?" + _STR_OPEN,
    (_BACKSLASH_STR_OPEN, r"[BbNnXx]" + _BACKSLASH_STR_OPEN): r"[BbNnXx]?" + _BACKSLASH_STR_OPEN,
    (_PARAMETERS[0].regex, _PARAMETERS[1].regex): (
        rf"(?::{_IDENT_CHAR}|@{_IDENT_START}){_IDENT_CHAR}*"
    ),
}
_JSON_OPEN = (_LitClass("jstring_open", _JSON_STR_OPEN, ('"a', '"a\\'), open=True),)


# --- keywords ---------------------------------------------------------------------------------

_FUNCTION_KEYWORDS = frozenset(
    """ANY AVG CAST CHAR COALESCE COUNT DECIMAL EXTRACT GREATEST LEAST LOWER MAX MIN NOW NULLIF
    NUMERIC SOME SUM TIMESTAMP UPPER VARCHAR""".split()
)
"""Keywords written like functions, with no space before their ``(``."""

_KEYWORDS = _FUNCTION_KEYWORDS | frozenset(
    """ABORT ADD ALL ALTER ANALYZE AND ARRAY AS ASC ASYMMETRIC BEGIN BETWEEN BIGINT BOOLEAN BOTH
    BY CALL CASCADE CASE CHARACTER CHECK COLLATE COLUMN COMMIT CONCURRENTLY CONFLICT CONSTRAINT
    COPY CREATE CROSS CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER DATABASE
    DEALLOCATE DECLARE DEFAULT DELETE DESC DISTINCT DO DOUBLE DROP DUPLICATE ELSE END ESCAPE
    EXCEPT EXCLUSIVE EXEC EXECUTE EXISTS EXPLAIN FALSE FETCH FILTER FIRST FLOAT FOLLOWING FOR
    FOREIGN FROM FULL FUNCTION GRANT GROUP HAVING IF IGNORE ILIKE IN INDEX INNER INSERT INT
    INTEGER INTERSECT INTERVAL INTO IS ISNULL JOIN JSON JSONB KEY LAST LATERAL LEADING LEFT LIKE
    LIMIT LOCK LOCKED MATCHED MATERIALIZED MERGE MODE NATURAL NEXT NO NOT NOTHING NOTNULL NOWAIT
    NULL NULLS OF OFFSET ON ONLY OR ORDER OUTER OVER PARTITION PRECEDING PRECISION PREPARE
    PRIMARY PROCEDURE RANGE REAL RECURSIVE REFERENCES RELEASE REPLACE RETURNING REVOKE RIGHT
    ROLLBACK ROW ROWS SAVEPOINT SCHEMA SELECT SEQUENCE SET SHARE SHOW SIMILAR SKIP SMALLINT START
    SYMMETRIC TABLE TABLESAMPLE TEMPORARY THEN TIES TIMESTAMPTZ TO TOP TRAILING TRANSACTION
    TRIGGER TRUE TRUNCATE UNBOUNDED UNION UNIQUE UNLOGGED UPDATE UPSERT USING UUID VACUUM VALUES
    VARYING VIEW WHEN WHERE WINDOW WITH WITHIN WITHOUT WORK ZONE""".split()
)


# --- the lexer ----------------------------------------------------------------------------------

# The lexer's groups: the kinds of raw token. A literal, a word, an identifier in quotes (or
# one cut off by the end), a dollar-quoted string with a tag (likewise), an operator, any other
# character; separators. JSON strings have a group of their own, for telling keys apart.
_SKIP, _WORD_TOKEN, _OPERATOR, _PUNCTUATION = "skip", "word", "op", "punct"
_QUOTED, _QUOTED_OPEN, _TAGGED, _TAGGED_OPEN = "quoted", "quoted_open", "tagged", "tagged_open"


def _sql_lexer(dialect: SqlDialect) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The lexer, and the same lexer for ``findall``: ``(literal, other, _, _)`` per token,
    separators folded into the token after them (the fast path of ``_sql_tokens``)."""
    mysql = dialect is SqlDialect.MYSQL
    not_param = rf"(?!{_PY_PARAM})"
    op_chars = r"[+*<>=~!^&|]" if mysql else r"[+*<>=~!^&|#]"
    if mysql:
        strings = (
            rf"[BbNnXx]?'(?:[^'\\]|\\{_ANY}|'')*(?:'|\\?\Z)"
            rf'|"(?:[^"\\]|\\{_ANY}|"")*(?:"|\\?\Z)'
        )
        quoted = r"(?P<quoted>`(?:[^`]|``)*`)|(?P<quoted_open>`(?:[^`]|``)*)"
    else:
        strings = rf"[Ee]'(?:[^'\\]|\\{_ANY}|'')*(?:'|\\?\Z)|[BbNnXx]?'(?:[^']|'')*'?"
        quoted = (
            r'(?P<quoted>"(?:[^"]|"")*"|`(?:[^`]|``)*`'
            + (r"|\[(?:[^\]]|\]\])*\]" if dialect is SqlDialect.MSSQL else "")
            + r')|(?P<quoted_open>"(?:[^"]|"")*|`(?:[^`]|``)*'
            + (r"|\[(?:[^\]]|\]\])*" if dialect is SqlDialect.MSSQL else "")
            + ")"
        )
    skip = rf"{_WS}+|--[^\n]*|{_BLOCK_COMMENT}|/\*{_ANY}*" + (r"|#[^\n]*" if mysql else "")
    literal = (
        rf"{strings}|(?:[0-9]|\.[0-9]){_NUM_CHAR}*|\$[0-9]+|\$\$(?:{_ANY}*?\$\$|{_ANY}*)|\?"
        rf"|:{_IDENT_CHAR}+|{_PY_PARAM}|@{_IDENT_START}{_IDENT_CHAR}*"
    )
    tag = rf"{_IDENT_START}{_IDENT_CHAR}*"
    other = "|".join(
        (
            rf"(?P<word>{_IDENT_START}{_WORD}*)",
            quoted,
            rf"(?P<tagged>\$(?P<tag>{tag})\$(?:{_ANY}*?)\$(?P=tag)\$)",
            rf"(?P<tagged_open>\$(?P<tag2>{tag})\${_ANY}*)",
            rf"(?P<op>::|:=|(?:{op_chars}|-(?!-)|/(?!\*)|{not_param}%|@(?!{_IDENT_START}))+)",
            rf"(?P<punct>{_ANY})",
        )
    )
    lexer = re.compile(rf"(?P<skip>{skip})|(?P<lit>{literal})|{other}")
    unnamed = re.sub(r"\(\?P<(?!tag\b|tag2\b)\w+>", "(?:", other)
    # words first, as the commonest token (but not the E of E'...', a literal)
    word = rf"(?![BbEeNnXx]'){_IDENT_START}{_WORD}*"
    fast = re.compile(rf"(?:{skip})*(?:({word})|({literal})|({unnamed})|\Z)")
    return lexer, fast


def _json_lexer() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """As ``_sql_lexer``, for JSON; ``findall`` gives ``(string, literal, other)``."""
    string = rf'"(?:[^"\\]|\\{_ANY})*(?:"|\\?\Z)'
    literal = rf"-?[0-9]{_JSON_NUM_CHAR}*|\?"
    word = rf"{_IDENT_START}{_WORD}*"
    lexer = re.compile(
        rf"(?P<skip>{_WS}+)|(?P<lit>{string}|{literal})|(?P<word>{word})|(?P<punct>{_ANY})"
    )
    fast = re.compile(rf"{_WS}*(?:({string})|({literal})|({word}|{_ANY})|\Z)")
    return lexer, fast


@dataclass(frozen=True)
class _Dialect:
    name: SqlDialect
    lexer: re.Pattern[str]
    fast_lexer: re.Pattern[str]  # the lexer for ``findall``, separators folded into tokens
    keywords: frozenset[str]
    classes: tuple[_LitClass, ...]
    open_classes: tuple[_LitClass, ...]
    sep: str  # one separator: whitespace or a comment
    sep_after_dash: str  # one separator that may follow a token ending in "-" (no "--")
    open_end: str  # what may end a statement after its separators: a cut-off comment
    open_end_after_dash: str  # the same, right after a token ending in "-"
    json: bool = False


def _sql_dialect(name: SqlDialect) -> _Dialect:
    mysql = name is SqlDialect.MYSQL
    hash_comment = r"|#[^\n]*\n" if mysql else ""
    strings = _MYSQL_STRINGS if mysql else _ANSI_STRINGS
    open_strings = _MYSQL_OPEN_STRINGS if mysql else _ANSI_OPEN_STRINGS
    lexer, fast_lexer = _sql_lexer(name)
    return _Dialect(
        name=name,
        lexer=lexer,
        fast_lexer=fast_lexer,
        keywords=_KEYWORDS,
        classes=(_NUMBER, _DOT_NUMBER, *strings, _DOLLAR_QUOTE, _QMARK, *_PARAMETERS),
        open_classes=(*open_strings, _DOLLAR_QUOTE_OPEN),
        sep=rf"(?:{_WS}|--[^\n]*\n|{_BLOCK_COMMENT}{hash_comment})",
        sep_after_dash=rf"(?:{_WS}|{_BLOCK_COMMENT}{hash_comment})",
        open_end=rf"--[^\n]*|{_OPEN_BLOCK_COMMENT}" + (r"|#[^\n]*" if mysql else ""),
        open_end_after_dash=_OPEN_BLOCK_COMMENT + (r"|#[^\n]*" if mysql else ""),
    )


_DIALECTS = {
    SqlDialect.ANSI: _sql_dialect(SqlDialect.ANSI),
    SqlDialect.MYSQL: _sql_dialect(SqlDialect.MYSQL),
    SqlDialect.MSSQL: _sql_dialect(SqlDialect.MSSQL),
    SqlDialect.JSON: _Dialect(
        SqlDialect.JSON,
        *_json_lexer(),
        keywords=frozenset(),
        classes=_JSON_CLASSES,
        open_classes=_JSON_OPEN,
        sep=_WS,
        sep_after_dash=_WS,
        open_end="",
        open_end_after_dash="",
        json=True,
    ),
}


@lru_cache(maxsize=8192)
def _raw_tokens(text: str, dialect: SqlDialect) -> tuple[tuple[str, str], ...]:
    """The lexer's tokens of ``text`` as (group, text), separators left out."""
    out = []
    for match in _DIALECTS[dialect].lexer.finditer(text):
        group = match.lastgroup
        if group == _SKIP:
            continue
        out.append((group or _PUNCTUATION, match.group()))
    return tuple(out)


@lru_cache(maxsize=65536)
def _adjacent_ok(left: str, right: str, dialect: SqlDialect) -> bool:
    """Whether ``left`` and ``right`` written with nothing between lex as themselves."""
    return _raw_tokens(left + right, dialect) == _raw_tokens(left, dialect) + _raw_tokens(
        right, dialect
    )


# --- normalized tokens and nodes ------------------------------------------------------------------

KW, ID, LIT, TAGGED, TAGGED_OPEN, OP, PUNCT, REPEAT, ID_OPEN = range(9)
"""Kinds of normalized tokens. A node is a token ``(kind, text)`` or ``(REPEAT, nodes)``: one
item of a collapsed list, standing for one or more items separated by commas."""

Node = tuple[int, "str | tuple[Node, ...]"]

_LIT_TOKEN: Node = (LIT, "?")
_COMMA: Node = (PUNCT, ",")
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_NO_COLLAPSE = frozenset({"SELECT", "WITH", "VALUES"})


@dataclass(frozen=True, slots=True)
class NormalizedStatement:
    """A statement as ``pg_stat_statements`` would show it, with its operation and table."""

    text: str
    """``SELECT id FROM orders WHERE id IN (?)``; empty when the statement is all comments."""
    operation: str
    """``SELECT``, ``INSERT``, ``UPSERT``, ``SELECT FOR UPDATE``, ``CALL``...; may be empty."""
    table: str
    """The main table: after FROM, INTO or UPDATE (the first of a join); may be empty."""
    dialect: SqlDialect = SqlDialect.ANSI
    nodes: tuple[Node, ...] = field(default=(), repr=False, compare=False)

    @property
    def regex(self) -> str:
        return statement_regex(self)


_CACHED_CHARS = 4096
"""Longer statements (bulk inserts of literal rows) are normalized every time rather than
kept in the caches, whose memory stays bounded: some 200 MB at worst, a few MB in practice."""


def normalize_statement(
    statement: str, dialect: SqlDialect = SqlDialect.ANSI
) -> NormalizedStatement:
    """The normalized statement; cached, since instrumented code repeats its statements."""
    if len(statement) > _CACHED_CHARS:
        return _normalize(statement, dialect)
    return _normalize_raw(statement, dialect)


@lru_cache(maxsize=32768)
def _normalize_raw(statement: str, dialect: SqlDialect) -> NormalizedStatement:
    return _normalize_cached(literal_blind(statement, dialect), dialect)


_UNSAFE_FOR_BLIND = re.compile(r"""["`\\$#\[]|--|/\*""")
_STRING_LITERAL = re.compile(r"'[^']*'")
_JSON_STRING = re.compile(rf'("(?:[^"\\]|\\{_ANY})*")(?={_WS}*:)|"(?:[^"\\]|\\{_ANY})*"')
_LEADING_LINE_COMMENTS = re.compile(rf"\A(?:{_WS}*--[^\n]*\n)+")
_TRAILING_BLOCK_COMMENT = re.compile(rf"{_BLOCK_COMMENT}{_WS}*\Z")
_INTEGER = re.compile(r"(?<![0-9A-Za-z_$.\x80-\U0010ffff])[0-9]+(?![0-9A-Za-z_$.\x80-\U0010ffff])")


def _blank_value(match: re.Match[str]) -> str:
    return match.group(1) or '""'


def literal_blind(statement: str, dialect: SqlDialect = SqlDialect.ANSI) -> str:
    """``statement`` with its strings emptied and integers zeroed, when that is sure not to
    change its normalized form: a cache key that statements differing in values share.

    Only plain SQL qualifies: no comments, quoted identifiers, dollar quotes or backslashes,
    so every quote starts or ends a string and every digit run stands alone or in a word.
    """
    if dialect is SqlDialect.JSON:
        return _JSON_STRING.sub(_blank_value, statement)
    if _UNSAFE_FOR_BLIND.search(statement):
        # sqlc's leading "-- name: ..." and sqlcommenter's trailing "/*traceparent=...*/"
        # are comments for sure when the rest is plain: they go (the comment between
        # tokens never matters, as the separator it is)
        plain = _LEADING_LINE_COMMENTS.sub("", statement, count=1)
        comment = _TRAILING_BLOCK_COMMENT.search(plain)
        if comment is not None and plain[: comment.start()].count("'") % 2 == 0:
            plain = plain[: comment.start()]
        if plain is statement or _UNSAFE_FOR_BLIND.search(plain):
            return statement
        statement = plain
    return _INTEGER.sub("0", _STRING_LITERAL.sub("''", statement))


def _normalize(statement: str, dialect: SqlDialect) -> NormalizedStatement:
    d = _DIALECTS[dialect]
    tokens = _json_tokens(statement, d) if d.json else _sql_tokens(statement, d)
    return _from_tokens(tuple(tokens), dialect)


_normalize_cached = lru_cache(maxsize=16384)(_normalize)


@lru_cache(maxsize=16384)
def _from_tokens(tokens: tuple[Node, ...], dialect: SqlDialect) -> NormalizedStatement:
    """The rest of the work depends on the tokens only, and statements that differ only in
    their literals share them: it is done once for all of them."""
    listed = list(tokens)
    nodes = tuple(_collapse(listed, 0, len(listed), _matches(listed), dialect))
    operation, table = ("", "") if dialect is SqlDialect.JSON else _describe(listed)
    return NormalizedStatement(_render(nodes, dialect), operation, table, dialect, nodes)


_KNOWN_TOKENS: dict[SqlDialect, dict[str, Node]] = {dialect: {} for dialect in _DIALECTS}
"""Tokens other than literals by text, as the lexer read them: their vocabulary is small."""


def _sql_tokens(statement: str, d: _Dialect) -> list[Node]:
    """Normalized tokens: keywords upper-cased, each run of adjacent literals one ``?``."""
    out: list[Node] = []
    append = out.append
    known = _KNOWN_TOKENS[d.name]
    last_lit = False
    for word, literal, other, _, _ in d.fast_lexer.findall(statement):
        if literal:
            if not last_lit:
                append(_LIT_TOKEN)
                last_lit = True
            continue
        other = word or other
        if other:
            last_lit = False
            node = known.get(other)
            append(_token_of(other, d, known) if node is None else node)
    return out


def _token_of(text: str, d: _Dialect, known: dict[str, Node]) -> Node:
    """The token ``text`` lexes as (first seen: the lexer's own word on it)."""
    match = d.lexer.match(text)
    assert match is not None and match.end() == len(text), text
    group = match.lastgroup
    node: Node
    if group == _WORD_TOKEN:
        upper = text.upper()
        node = (KW, upper) if upper in d.keywords and text.isascii() else (ID, text)
    elif group == _OPERATOR:
        node = (OP, text)
    elif group == _PUNCTUATION:
        node = (PUNCT, text)
    elif group == _QUOTED:
        node = (ID, text)
    elif group == _QUOTED_OPEN:
        node = (ID_OPEN, text)
    elif group == _TAGGED:
        node = (TAGGED, match.group("tag"))
    else:
        node = (TAGGED_OPEN, match.group("tag2"))
    if len(known) > 65536:
        known.clear()
    known[text] = node
    return node


def _json_tokens(statement: str, d: _Dialect) -> list[Node]:
    """As ``_sql_tokens``; a string standing alone before ``:`` is a key, kept as written."""
    out: list[Node] = []
    append = out.append
    known = _KNOWN_TOKENS[d.name]
    last_lit = False
    key = ""
    for string, literal, other in d.fast_lexer.findall(statement):
        if string or literal:
            key = "" if last_lit else string
            if not last_lit:
                append(_LIT_TOKEN)
                last_lit = True
        elif other:
            if key and other == ":":
                out[-1] = (ID, key)
            last_lit = False
            key = ""
            node = known.get(other)
            append(_token_of(other, d, known) if node is None else node)
    return out


def _matches(tokens: list[Node]) -> list[int]:
    """For each opening bracket, the index of its closing one (-1: none, or not an opener)."""
    match = [-1] * len(tokens)
    stack: list[int] = []
    for index, (kind, text) in enumerate(tokens):
        if kind != PUNCT:
            continue
        if text in _OPENERS:
            stack.append(index)
        elif stack and _OPENERS.get(str(tokens[stack[-1]][1])) == text:
            match[stack.pop()] = index
    return match


def _collapse(
    tokens: list[Node], start: int, end: int, match: list[int], dialect: SqlDialect
) -> list[Node]:
    """Nodes of ``tokens[start:end]`` with IN, ARRAY and VALUES lists collapsed."""
    out: list[Node] = []
    json = dialect is SqlDialect.JSON
    index = start
    while index < end:
        token = tokens[index]
        kind, text = token
        list_open = -1
        if kind == KW and (text == "IN" or text == "ARRAY") and index + 1 < end:
            if tokens[index + 1] == (PUNCT, "(" if text == "IN" else "["):
                list_open = index + 1
        elif json and token == (PUNCT, "["):
            list_open = index
        if list_open >= 0 and 0 <= match[list_open] < end:
            close = match[list_open]
            if list_open > index:
                out.append(token)
            out.append(tokens[list_open])
            out.extend(_list_items(tokens, list_open + 1, close, match, dialect))
            out.append(tokens[close])
            index = close + 1
            continue
        if kind == KW and text == "VALUES":
            rows, after = _values_rows(tokens, index + 1, end, match)
            if rows:
                out.append(token)
                row_nodes = [tuple(_collapse(tokens, a, b + 1, match, dialect)) for a, b in rows]
                if all(row == row_nodes[0] for row in row_nodes):
                    out.append((REPEAT, row_nodes[0]))
                else:
                    for number, row in enumerate(row_nodes):
                        if number:
                            out.append(_COMMA)
                        out.extend(row)
                index = after
                continue
        out.append(token)
        index += 1
    return out


def _values_rows(
    tokens: list[Node], start: int, end: int, match: list[int]
) -> tuple[list[tuple[int, int]], int]:
    """The ``(...)`` rows after VALUES as (open, close) indexes, and the index after them."""
    rows: list[tuple[int, int]] = []
    index = start
    while index < end and tokens[index] == (PUNCT, "(") and 0 <= match[index] < end:
        rows.append((index, match[index]))
        index = match[index] + 1
        if index + 1 < end and tokens[index] == _COMMA and tokens[index + 1] == (PUNCT, "("):
            if 0 <= match[index + 1] < end:
                index += 1
                continue
        break
    return rows, index


def _list_items(
    tokens: list[Node], start: int, end: int, match: list[int], dialect: SqlDialect
) -> list[Node]:
    """The items of a bracketed list: one REPEAT node when they all normalize alike."""
    if any(kind == KW and text in _NO_COLLAPSE for kind, text in tokens[start:end]):
        return _collapse(tokens, start, end, match, dialect)  # a subquery stays as it is
    bounds = []
    item_start = index = start
    while index < end:
        if match[index] >= 0:  # a bracketed group: its commas are not the list's
            index = match[index] + 1
            continue
        if tokens[index] == _COMMA:
            bounds.append((item_start, index))
            item_start = index + 1
        index += 1
    bounds.append((item_start, end))
    if all(a < b for a, b in bounds):
        items = [tuple(_collapse(tokens, a, b, match, dialect)) for a, b in bounds]
        if all(item == items[0] for item in items):
            return [(REPEAT, items[0])]
    return _collapse(tokens, start, end, match, dialect)


# --- rendering ----------------------------------------------------------------------------------


def _flat(nodes: tuple[Node, ...], out: list[Node]) -> list[Node]:
    for node in nodes:
        if node[0] == REPEAT:
            _flat(node[1], out)  # type: ignore[arg-type]
        else:
            out.append(node)
    return out


def _token_text(node: Node) -> str:
    kind, text = node
    if kind == LIT:
        return "?"
    if kind == TAGGED:
        return f"${text}$?${text}$"
    if kind == TAGGED_OPEN:
        return f"${text}$?"
    return str(text)


_NAME_INTRODUCERS = frozenset({"INTO", "TABLE", "UPDATE", "JOIN", "FROM", "ONLY", "EXISTS"})


def _render(nodes: tuple[Node, ...], dialect: SqlDialect) -> str:
    flat = _flat(nodes, [])
    parts: list[str] = []
    for index, node in enumerate(flat):
        text = _token_text(node)
        if index:
            previous = flat[index - 1]
            tight = _tight(previous, node)
            if tight and node == (PUNCT, "(") and previous[0] == ID:
                # "INSERT INTO orders (a, b)" but "lower(name)": look before the name
                before = index - 2
                while before >= 1 and flat[before] == (PUNCT, ".") and flat[before - 1][0] == ID:
                    before -= 2
                if before >= 0 and flat[before][0] == KW and flat[before][1] in _NAME_INTRODUCERS:
                    tight = False
            if not tight or not _adjacent_ok(parts[-1], text, dialect):
                parts.append(" ")
            parts.append(text)
        else:
            parts.append(text)
    return "".join(parts)


def _tight(left: Node, right: Node) -> bool:
    """Whether the house style writes ``left`` and ``right`` with no space between them."""
    lkind, ltext = left
    rkind, rtext = right
    if rkind == PUNCT and rtext in (")", "]", "}", ",", ";", ":", "."):
        return True
    if lkind == PUNCT and ltext in ("(", "[", "{", "."):
        return True
    if (lkind == OP and ltext == "::") or (rkind == OP and rtext == "::"):
        return True
    if rkind == PUNCT and rtext == "(":
        return lkind == ID or (lkind == KW and ltext in _FUNCTION_KEYWORDS)
    if rkind == PUNCT and rtext == "[":  # a subscript, an array type or ARRAY[...]
        return lkind in (ID, KW) or ltext in ("]", ")")
    return False


# --- operation and table ------------------------------------------------------------------------

_VERBS = frozenset(
    """SELECT INSERT UPDATE DELETE MERGE UPSERT REPLACE CALL EXEC EXECUTE BEGIN START COMMIT END
    ROLLBACK SAVEPOINT RELEASE SET SHOW CREATE ALTER DROP TRUNCATE COPY VACUUM ANALYZE EXPLAIN
    LOCK GRANT REVOKE DECLARE FETCH PREPARE DEALLOCATE VALUES TABLE DO ABORT""".split()
)
_MAIN_VERBS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLACE"})
_SCHEMA_OBJECTS = frozenset(
    {"TABLE", "INDEX", "VIEW", "SEQUENCE", "SCHEMA", "DATABASE", "FUNCTION", "PROCEDURE"}
)
_CANONICAL_VERB = {"START": "BEGIN", "END": "COMMIT", "ABORT": "ROLLBACK", "EXEC": "EXECUTE"}


def _describe(tokens: list[Node]) -> tuple[str, str]:
    """The operation and main table of a statement, from its normalized tokens."""
    index = 0
    while index < len(tokens) and tokens[index] == (PUNCT, "("):
        index += 1
    if index == len(tokens):
        return "", ""
    kind, text = tokens[index]
    if kind == ID and str(text).isalpha():  # a verb this module does not know: PRAGMA
        return str(text).upper(), ""
    if kind != KW:
        return "", ""
    verb = str(text)
    if verb == "WITH":
        depth = 0
        for position in range(index + 1, len(tokens)):
            kind, text = tokens[position]
            if kind == PUNCT:
                depth += text == "("
                depth -= text == ")"
            elif kind == KW and depth == 0 and text in _MAIN_VERBS:
                verb, index = str(text), position
                break
        else:
            return "WITH", ""
    if verb not in _VERBS:
        return verb, ""
    verb = _CANONICAL_VERB.get(verb, verb)
    after = index + 1
    if verb in ("SELECT", "DELETE"):
        table = _table_after_keyword(tokens, after, "FROM")
        if verb == "SELECT":
            lock = _top_level_lock(tokens, after)
            if lock:
                verb = f"SELECT FOR {lock}"
        return verb, table
    if verb in ("INSERT", "UPSERT", "REPLACE", "MERGE"):
        table = _table_after_keyword(tokens, after, "INTO")
        if verb == "INSERT" and _is_upsert(tokens, after):
            verb = "UPSERT"
        return verb, table
    if verb in ("UPDATE", "CALL", "EXECUTE", "TRUNCATE", "COPY", "LOCK"):
        return verb, _name_at(tokens, after)
    if verb in ("CREATE", "ALTER", "DROP"):
        position = after
        while position < len(tokens) and tokens[position][0] == KW:
            if tokens[position][1] in _SCHEMA_OBJECTS:
                return f"{verb} {tokens[position][1]}", _name_at(tokens, position + 1)
            position += 1
    return verb, ""


def _name_at(tokens: list[Node], index: int) -> str:
    """The (qualified) name starting at ``index``, after words such as ONLY or IF EXISTS."""
    while index < len(tokens) and tokens[index][0] == KW and tokens[index][1] in (
        "ONLY", "TABLE", "IF", "NOT", "EXISTS", "INTO", "CONCURRENTLY", "LATERAL",
    ):  # fmt: skip
        index += 1
    parts = []
    while index < len(tokens) and tokens[index][0] in (ID, ID_OPEN):
        parts.append(str(tokens[index][1]).strip('"`[]'))
        if index + 2 < len(tokens) and tokens[index + 1] == (PUNCT, "."):
            index += 2
        else:
            break
    return ".".join(parts)


def _table_after_keyword(tokens: list[Node], start: int, keyword: str) -> str:
    """The name after the first ``keyword`` outside brackets; inside a subquery when need be."""
    depth = 0
    for index in range(start, len(tokens)):
        kind, text = tokens[index]
        if kind == PUNCT:
            depth += text in _OPENERS
            depth -= text in (")", "]", "}")
        elif kind == KW and text == keyword and depth <= 0:
            name = _name_at(tokens, index + 1)
            if name or index + 1 >= len(tokens) or tokens[index + 1] != (PUNCT, "("):
                return name
            return _table_after_keyword(tokens, index + 2, "FROM")
    return ""


def _top_level_lock(tokens: list[Node], start: int) -> str:
    depth = 0
    for index in range(start, len(tokens) - 1):
        kind, text = tokens[index]
        if kind == PUNCT:
            depth += text == "("
            depth -= text == ")"
        elif kind == KW and text == "FOR" and depth == 0:
            words = [str(t) for k, t in tokens[index + 1 : index + 4] if k == KW]
            if words[:1] == ["UPDATE"] or words[:3] == ["NO", "KEY", "UPDATE"]:
                return "UPDATE"
            if words[:1] == ["SHARE"] or words[:2] == ["KEY", "SHARE"]:
                return "SHARE"
    return ""


def _is_upsert(tokens: list[Node], start: int) -> bool:
    words = [text for kind, text in tokens[start:] if kind == KW]
    for index, word in enumerate(words):
        if word == "CONFLICT" and "UPDATE" in words[index:]:
            return True
        if word == "DUPLICATE" and words[index + 1 : index + 3] == ["KEY", "UPDATE"]:
            return True
    return False


# --- the regex of a normalized statement -------------------------------------------------------

_LIT_EDGE = "\x00lit"  # the edge of a literal run (the run owns its separators)


def statement_regex(normalized: NormalizedStatement) -> str:
    """The regex that fully matches exactly the raw statements normalizing to ``normalized``."""
    return _statement_regex(normalized.nodes, normalized.dialect)


@lru_cache(maxsize=4096)
def _statement_regex(nodes: tuple[Node, ...], dialect: SqlDialect) -> str:
    d = _DIALECTS[dialect]
    body = _sequence(nodes, None, None, d)
    last = nodes[-1] if nodes else None
    if last is not None and last[0] in (ID_OPEN, TAGGED_OPEN, LIT):
        return f"{d.sep}*{body}"  # an open token ran to the very end; a literal run ends itself
    after_dash = last is not None and _edge(last, right=True).endswith("-")
    return f"{d.sep}*{body}{_tail(d, after_dash)}"


def _tail(d: _Dialect, after_dash: bool) -> str:
    """What may follow the last token: separators, then perhaps a comment cut off unclosed."""
    if not d.open_end:
        return _separators(d, after_dash, plus=False)
    if not after_dash:
        return f"{d.sep}*(?:{d.open_end})?"
    # "-" then "--": the lexer reads "---" as a comment, so "--" may not come first
    return f"(?:{d.sep_after_dash}{d.sep}*(?:{d.open_end})?|(?:{d.open_end_after_dash})?)"


def _separators(d: _Dialect, after_dash: bool, *, plus: bool) -> str:
    if not after_dash or d.sep_after_dash == d.sep:
        return f"{d.sep}+" if plus else f"{d.sep}*"
    first = f"{d.sep_after_dash}{d.sep}*"
    return first if plus else f"(?:{first})?"


def _edge(node: Node, *, right: bool) -> str:
    """A raw text of ``node``'s first (or last) token, for deciding adjacency."""
    kind, text = node
    if kind == REPEAT:
        inner: tuple[Node, ...] = text  # type: ignore[assignment]
        return _edge(inner[-1] if right else inner[0], right=right)
    if kind == LIT:
        return _LIT_EDGE
    if kind == TAGGED:
        return f"${text}$x${text}$"
    if kind == TAGGED_OPEN:
        return f"${text}$x"
    return str(text)


def _sequence(nodes: tuple[Node, ...], left: str | None, right: str | None, d: _Dialect) -> str:
    """The regex of ``nodes`` between neighbours whose edge texts are ``left`` and ``right``
    (None: the start or end of the statement). Separators at the outer edges are the caller's,
    except a literal run's, which the run always writes itself."""
    parts: list[str] = []
    count = len(nodes)
    index = 0
    while index < count:
        node = nodes[index]
        before = _edge(nodes[index - 1], right=True) if index else left
        if index and before != _LIT_EDGE and node[0] != LIT:
            first = _edge(node, right=False)
            if first != _LIT_EDGE:
                parts.append(_separator(before, first, d))  # type: ignore[arg-type]
        if _is_py_param_lookalike(nodes, index):
            parts.append(_py_param_lookalike(nodes, index, d))
            index += 5
            continue
        if node[0] == LIT:
            after = _edge(nodes[index + 1], right=False) if index + 1 < count else right
            if _LIT_EDGE in (before, after):  # pragma: no cover - runs are merged
                raise AssertionError("two literal runs side by side")
            parts.append(_literal_run(before, after, d))
        elif node[0] == REPEAT:
            parts.append(_repeat(node[1], d))  # type: ignore[arg-type]
        else:
            parts.append(_token_regex(node))
        index += 1
    return "".join(parts)


def _separator(left: str, right: str, d: _Dialect) -> str:
    return _separators(d, left.endswith("-"), plus=not _adjacent_ok(left, right, d.name))


def _repeat(inner: tuple[Node, ...], d: _Dialect) -> str:
    """One or more copies of ``inner``, separated by commas."""
    body = _sequence(inner, ",", ",", d)
    first, last = _edge(inner[0], right=False), _edge(inner[-1], right=True)
    before_comma = "" if last == _LIT_EDGE else _separator(last, ",", d)
    after_comma = "" if first == _LIT_EDGE else _separator(",", first, d)
    return f"{body}(?:{before_comma},{after_comma}{body})*"


def _is_py_param_lookalike(nodes: tuple[Node, ...], index: int) -> bool:
    """``% ( name ) s``: written without spaces it is one ``%(name)s`` parameter."""
    node = nodes[index]
    return (
        node[0] == OP
        and str(node[1]).endswith("%")
        and index + 4 < len(nodes)
        and nodes[index + 1] == (PUNCT, "(")
        and nodes[index + 2][0] == ID
        and re.fullmatch(_PY_NAME, str(nodes[index + 2][1])) is not None
        and nodes[index + 3] == (PUNCT, ")")
        and nodes[index + 4] == (ID, "s")
    )


def _py_param_lookalike(nodes: tuple[Node, ...], index: int, d: _Dialect) -> str:
    """The five tokens with at least one separator somewhere between them."""
    some, plus = f"{d.sep}*", f"{d.sep}+"
    pieces = [_token_regex(nodes[index + offset]) for offset in range(5)]
    options = []
    for gap in range(4):
        seps = [some] * 4
        seps[gap] = plus
        for earlier in range(gap):
            seps[earlier] = ""
        options.append("".join(p + s for p, s in zip(pieces[:4], seps, strict=True)) + pieces[4])
    return pieces[0] + "(?:" + "|".join(option[len(pieces[0]) :] for option in options) + ")"


def _token_regex(node: Node) -> str:
    kind, text = node
    text = str(text)
    if kind == KW:
        return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else _escape(c) for c in text)
    if kind == TAGGED:
        delimiter = _escape(f"${text}$")
        return f"{delimiter}[^$]*(?:\\${_not_tag(text)})*{delimiter}"
    if kind == TAGGED_OPEN:
        delimiter = _escape(f"${text}$")
        return f"{delimiter}[^$]*(?:\\${_not_tag(text)})*(?:\\$[^$]*)?"
    return _escape(text)


def _not_tag(tag: str) -> str:
    """Any run of non-``$`` characters except ``tag`` itself."""
    options = [_escape(tag) + "[^$]+"]
    for length in range(len(tag)):
        options.append(f"{_escape(tag[:length])}[^${_escape(tag[length])}][^$]*")
    prefixes = ""
    for char in reversed(tag[:-1]):
        prefixes = f"(?:{_escape(char)}{prefixes})?"
    options.append(prefixes)
    return "(?:" + "|".join(options) + ")"


_ESCAPES = {"\t": r"\t", "\n": r"\n", "\r": r"\r", "\f": r"\f", "\v": r"\v"}


def _escape(text: str) -> str:
    """``re.escape`` for Python and RE2 alike: controls as ``\\xNN``, no escaped letters."""
    out = []
    for char in text:
        if char.isalnum() or char == "_" or char == " " or ord(char) > 0x7F:
            out.append(char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append("\\" + char)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Form:
    """One literal of a run, with the literals the lexer lets stick to it without a separator:
    E-strings after a quote, ``?``, ``$$``, ``%s`` or ``$1`` (``'a'E'b'``), then a number
    after any of these but ``$1`` (``'a'1``). Numbers and E-strings touch a literal before
    them only so: after a number or ``:name`` the lexer would read them into it (``1E'b'`` is
    ``1E`` and ``'b'``), and ``1234`` must not match as ``1`` then ``234``."""

    head: _LitClass
    escape: _LitClass | None = None
    number: _LitClass | None = None

    @property
    def last(self) -> _LitClass:
        return self.number or self.escape or self.head

    @property
    def touches(self) -> bool:
        """Whether it may directly follow another literal of the run."""
        return not (self.head.number or self.head.escape)


def _forms(d: _Dialect) -> tuple[list[_Form], list[_Form]]:
    """The forms of a literal, and those of an unterminated one (which ends a statement)."""
    numbers = [c for c in d.classes if c.number]
    escapes = [c for c in d.classes if c.escape]
    open_escapes = [c for c in d.open_classes if c.escape]
    forms: list[_Form] = []
    opens: list[_Form] = []
    for head in d.classes:
        stuck = [None, *escapes] if head.before_escape and not head.escape else [None]
        for escape in stuck:
            forms.append(_Form(head, escape))
            if (escape or head).before_number:
                forms += [_Form(head, escape, number) for number in numbers]
        if head.before_escape and not head.escape:
            opens += [_Form(head, escape) for escape in open_escapes]
    opens += [_Form(head) for head in d.open_classes]
    return forms, opens


@lru_cache(maxsize=4096)
def _literal_run(left: str | None, right: str | None, d: _Dialect) -> str:
    """A run of adjacent literals with its separators toward ``left`` and ``right``.

    The run is one or more literals. Between two of them: separators, or none at all unless
    the second is a number (the lexer only puts a number straight after a literal that ends
    in a quote or ``?``: those pairs are forms of their own); this keeps ``1234`` from
    matching as ``1`` ``234`` and so on, which a backtracking engine would try one by one.
    The first literal may touch ``left`` only if that pair lexes apart, the last likewise
    ``right``; an unterminated string may only end the statement. Each position lists every
    form once, split by the separator it needs, so the regex stays a few times one list long.
    """
    forms, opens = _forms(d)
    dash = left is not None and left.endswith("-")
    plus, star = f"{d.sep}+", f"{d.sep}*"

    def left_ok(form: _Form) -> bool:
        return left is None or all(_adjacent_ok(left, r, d.name) for r in form.head.reps)

    def right_ok(form: _Form) -> bool:
        return right is None or all(_adjacent_ok(r, right, d.name) for r in form.last.reps)

    def first(chosen: list[_Form]) -> str | None:
        """The first literal, with what may stand between it and ``left``."""
        if left is None:
            return _alternation(chosen)
        return _split(
            chosen, left_ok, _separators(d, dash, plus=False), _separators(d, dash, plus=True)
        )

    def following(chosen: list[_Form]) -> str | None:
        """A further literal, with the separators before it."""
        return _split(chosen, lambda f: f.touches, star, plus)

    def run(*pieces: str | None) -> str | None:
        return None if any(p is None for p in pieces) else "".join(p or "" for p in pieces)

    anything = following(forms)
    repeat = f"(?:{anything})*"
    if right is None:
        # an unterminated string runs to the very end: no separators may follow it
        ending = f"(?:{_tail(d, False)}|{following(opens)})"
        options = [f"{first(forms)}{repeat}{ending}", run(first(opens))]
    else:
        touching = [f for f in forms if right_ok(f)]
        if d.json and right == ":":
            # a string standing alone before ":" is a key, not a literal; in a run it is not
            alone = [f for f in forms if f != _Form(f.head) or f.head.name != "jstring"]
            last = f"(?:{following(forms)}{plus}|{following(touching)})"
            options = [
                run(first(alone), plus),
                run(first([f for f in alone if right_ok(f)])),
                run(first(forms), repeat, last),
            ]
        elif len(touching) == len(forms):
            return f"{first(forms)}{repeat}{star}"
        else:
            ending = f"(?:{plus}|{following(touching)})"
            options = [run(first(touching)), run(first(forms), repeat, ending)]
    chosen = [o for o in options if o is not None]
    return chosen[0] if len(chosen) == 1 else "(?:" + "|".join(chosen) + ")"


def _split(forms: list[_Form], close: Callable[[_Form], bool], star: str, plus: str) -> str | None:
    """``forms``, each after ``star`` separators if ``close(form)`` else after ``plus``."""
    near = _alternation([f for f in forms if close(f)])
    far = _alternation([f for f in forms if not close(f)])
    options = ([star + near] if near else []) + ([plus + far] if far else [])
    if not options:
        return None
    return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"


def _spelled(classes: list[_LitClass]) -> list[str]:
    """The classes' regexes, with shorter spellings for those that often come together:
    ``\\.?[0-9]...`` for both kinds of number, ``[BbNnXx]?'...'`` for plain and prefixed
    strings."""
    regexes = [c.regex for c in classes]
    for (one, two), merged in _MERGES.items():
        if one in regexes and two in regexes:
            regexes = [merged if r == one else r for r in regexes if r != two]
    return regexes


def _alternation(forms: list[_Form]) -> str | None:
    """The forms as one alternation, heads that take the same tails sharing them:
    ``(?:'...'|\\?)(?:E'...')?(?:[0-9]...)?``."""
    tails_of: dict[_LitClass, list[tuple[str, str]]] = {}
    for form in forms:
        escape = form.escape.regex if form.escape else ""
        number = form.number.regex if form.number else ""
        tails_of.setdefault(form.head, []).append((escape, number))
    heads_of: dict[str, list[_LitClass]] = {}
    for head, tails in tails_of.items():
        heads_of.setdefault(_tails(tails), []).append(head)
    options = []
    for tail, heads in heads_of.items():
        spelled = _spelled(heads)
        if not tail:
            options += spelled
        else:
            options.append((spelled[0] if len(spelled) == 1 else _group(spelled)) + tail)
    if not options:
        return None
    return options[0] if len(options) == 1 else _group(options)


def _tails(tails: list[tuple[str, str]]) -> str:
    """What may follow a head: ``(?:E)?(?:N)?`` when every mix is allowed, else each mix."""
    escapes = list(dict.fromkeys(escape for escape, _ in tails))
    numbers = list(dict.fromkeys(number for _, number in tails))
    if set(tails) == {(e, n) for e in escapes for n in numbers}:
        return _optional(escapes) + _optional(numbers)
    return "(?:" + "|".join(escape + number for escape, number in tails) + ")"


def _optional(parts: list[str]) -> str:
    present = [part for part in parts if part]
    if not present:
        return ""
    return _group(present) + ("?" if "" in parts else "")


def _group(options: list[str]) -> str:
    return "(?:" + "|".join(options) + ")"
