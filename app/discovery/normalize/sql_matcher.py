"""A short regex for the raw statements of one normalized statement, for people and TraceQL.

``SELECT sku FROM inventory WHERE sku = ?`` is matched by::

    (?i:<comments>SELECT\\s+sku\\s+FROM\\s+inventory\\s+WHERE\\s+sku\\s*=\\s*<literal><comments>)

Keywords and identifiers are written as the statement has them (case-insensitively, as SQL
reads keywords), whitespace between two words is ``\\s+`` and elsewhere ``\\s*``, a collapsed
``IN`` list or ``VALUES`` row repeats, and every ``?`` is one short alternation that takes any
literal or bind parameter of the dialect (``42``, ``'it''s'``, ``$1``, ``:name``, ``%s``,
``%(name)s``, ``@p1``). Comments may come before and after the statement (sqlc's
``-- name: ...``, sqlcommenter's ``/*traceparent=...*/``), not between its tokens.

Every raw statement of the normalized text matches, except those with a comment inside them,
a dollar-quoted string or an E-string holding an escaped quote. Some other statements match
too (a literal's class also takes a word); discovery tells such siblings apart by matching
most-specific-first (``app.discovery.exclusions``). A statement whose regex would pass
``MAX_LENGTH`` characters is matched by the regex of its first tokens and ``.*``.
"""

from __future__ import annotations

from functools import lru_cache

from app.discovery.normalize.sql import (
    ID_OPEN,
    LIT,
    REPEAT,
    TAGGED,
    TAGGED_OPEN,
    Node,
    NormalizedStatement,
    SqlDialect,
)

MAX_LENGTH = 300
"""The longest regex a statement gets; longer ones are cut to a prefix."""

_LITERAL = {
    SqlDialect.ANSI: r"(?:'[^']*'|\(\w+\)|[^\s,()'])+",
    SqlDialect.MSSQL: r"(?:'[^']*'|\(\w+\)|[^\s,()'])+",
    SqlDialect.MYSQL: r"""(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\(\w+\)|[^\s,()'"])+""",
    SqlDialect.JSON: r'(?:"(?:[^"\\]|\\.)*"|[^\s,:{}\[\]"])+',
}
"""One literal or bind parameter (``%(name)s`` is ``%``, ``(name)``, ``s``)."""
_COMMENTS = {
    SqlDialect.MYSQL: r"(?:\s|/\*.*?\*/|--[^\n]*|#[^\n]*)*",
    SqlDialect.JSON: r"\s*",
}
_SQL_COMMENTS = r"(?:\s|/\*.*?\*/|--[^\n]*)*"
_SPECIAL = frozenset("\\.^$*+?()[]{}|")
_WORD_EDGE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")


def statement_matcher_regex(normalized: NormalizedStatement) -> str:
    """The regex (for ``re.fullmatch`` with ``re.DOTALL``, and RE2) of ``normalized``."""
    return _regex(normalized.nodes, normalized.dialect)


@lru_cache(maxsize=8192)
def _regex(nodes: tuple[Node, ...], dialect: SqlDialect) -> str:
    around = _COMMENTS.get(dialect, _SQL_COMMENTS)
    pieces = _pieces(nodes, dialect)
    body = "".join(pieces)
    whole = f"(?i:{around}{body}{around})"
    if len(whole) <= MAX_LENGTH:
        return whole
    budget = MAX_LENGTH - len(f"(?i:{around}.*)")
    kept: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) > budget:
            break
        kept.append(piece)
        used += len(piece)
    while kept and kept[-1] in (r"\s*", r"\s+"):
        kept.pop()
    return f"(?i:{around}{''.join(kept)}.*)"


def _pieces(nodes: tuple[Node, ...], dialect: SqlDialect) -> list[str]:
    """The regex of each token and of each gap between tokens, in order."""
    pieces: list[str] = []
    previous: Node | None = None
    for node in nodes:
        if previous is not None:
            pieces.append(r"\s+" if _words_touch(previous, node) else r"\s*")
        pieces.append(_node_regex(node, dialect))
        previous = node
    return pieces


def _node_regex(node: Node, dialect: SqlDialect) -> str:
    kind, text = node
    if kind == REPEAT:
        inner = "".join(_pieces(text, dialect))  # type: ignore[arg-type]
        return f"{inner}(?:\\s*,\\s*{inner})*"
    if kind == LIT:
        return _LITERAL[dialect]
    if kind == TAGGED:
        delimiter = _quote(f"${text}$")
        return f"{delimiter}.*?{delimiter}"
    if kind == TAGGED_OPEN:
        return _quote(f"${text}$") + ".*"
    if kind == ID_OPEN:
        return _quote(str(text)) + ".*"
    return _quote(str(text))


def _words_touch(left: Node, right: Node) -> bool:
    """Whether the two need whitespace between them: both end in a word character."""
    return (
        left[0] not in (LIT, REPEAT)
        and right[0] not in (LIT, REPEAT)
        and _edge(left, last=True) in _WORD_EDGE
        and _edge(right, last=False) in _WORD_EDGE
    )


def _edge(node: Node, *, last: bool) -> str:
    text = node[1]
    if not isinstance(text, str) or not text:
        return ""
    if node[0] in (TAGGED, TAGGED_OPEN):
        return "$"
    return text[-1] if last else text[0]


def _quote(text: str) -> str:
    """``text`` as a regex matching it literally, in Python ``re`` and RE2 alike."""
    out = []
    for char in text:
        if char in _SPECIAL:
            out.append("\\" + char)
        elif char == "\n":
            out.append(r"\n")
        elif char == "\t":
            out.append(r"\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)
