"""A short regex for the raw statements of one normalized statement, for people and TraceQL.

``SELECT sku FROM inventory WHERE sku = ?`` is matched by::

    <comments>(?i:SELECT)<hint>\\s+sku\\s+(?i:FROM)\\s+inventory\\s+(?i:WHERE)\\s+sku\\s*=\\s*<literal><comments>

Keywords are matched case-insensitively (``(?i:ORDER\\s+BY)``), as SQL reads them, and
identifiers as written; whitespace between two words is ``\\s+``, none around the dot of
a qualified name and elsewhere ``\\s*``; a collapsed ``IN`` list or ``VALUES`` row repeats,
and every ``?`` is one short alternation that takes any literal or bind parameter of the
dialect (``42``, ``'it''s'``, ``$1``, ``:name``, ``%s``, ``%(name)s``, ``@p1``). Comments may
come before and after the statement (sqlc's ``-- name: ...``, sqlcommenter's
``/*traceparent=...*/``), and an optimizer hint after its first keyword
(``SELECT /*+ INDEX(t) */``), not elsewhere between its tokens.

Every raw statement of the normalized text matches, except those with another comment inside,
a dollar-quoted string or an E-string holding an escaped quote. Some other statements match
too (a literal's class also takes a word); discovery tells such siblings apart by matching
most-specific-first (``app.discovery.exclusions``). A statement whose regex would pass
``MAX_LENGTH`` characters is matched by the regex of its first tokens, ``.*``, and that of
its last ones: statements that share a long beginning mostly differ at their end.
"""

from __future__ import annotations

from functools import lru_cache

from app.discovery.normalize.sql import (
    ID_OPEN,
    KW,
    LIT,
    PUNCT,
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
_DOT: Node = (PUNCT, ".")
_WORD_EDGE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")


def statement_matcher_regex(normalized: NormalizedStatement) -> str:
    """The regex (for ``re.fullmatch`` with ``re.DOTALL``, and RE2) of ``normalized``."""
    return _regex(normalized.nodes, normalized.dialect)


@lru_cache(maxsize=8192)
def _regex(nodes: tuple[Node, ...], dialect: SqlDialect) -> str:
    around = _COMMENTS.get(dialect, _SQL_COMMENTS)
    pieces = _pieces(nodes, dialect)
    whole = f"{around}{''.join(pieces)}{around}"
    if len(whole) <= MAX_LENGTH:
        return whole
    # Its beginning and its end, with anything between: statements that share a long
    # beginning (an ORM's column list) most often differ at their end (the WHERE clause).
    budget = MAX_LENGTH - 2 * len(around) - len(".*")
    head = _taken(pieces, int(budget * HEAD_SHARE))
    tail = _taken(pieces[len(head) :][::-1], budget - len("".join(head)))[::-1]
    return f"{around}{''.join(head)}.*{''.join(tail)}{around}"


HEAD_SHARE = 0.6
"""Of a long statement's regex, the share its beginning takes; its end has the rest."""


def _taken(pieces: list[str], budget: int) -> list[str]:
    """The pieces from the first that fit in ``budget`` characters, ending with a token."""
    taken: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) > budget:
            break
        taken.append(piece)
        used += len(piece)
    while taken and taken[-1] in _GAPS:
        taken.pop()
    return taken


_GAPS = frozenset({r"\s*", r"\s+", ""})
_HINT = r"(?:\s*/\*.*?\*/)?"
"""An optimizer hint after the statement's first keyword: ``SELECT /*+ INDEX(t) */``."""


def _pieces(nodes: tuple[Node, ...], dialect: SqlDialect, *, top: bool = True) -> list[str]:
    """The regex of each token and of each gap between tokens, in order. Keywords are
    matched case-insensitively, a run of them in one group (``(?i:ORDER\\s+BY)``), and
    identifiers as written."""
    pieces: list[str] = []
    previous: Node | None = None
    keywords: list[str] = []

    def close_keywords() -> None:
        if keywords:
            pieces.append("(?i:" + "".join(keywords) + ")")
            keywords.clear()

    for node in nodes:
        gap = ""
        if previous is not None:
            gap = _gap(previous, node)
        if node[0] == KW:
            if keywords:
                keywords.append(gap)
            else:
                if previous is not None:
                    pieces.append(gap)
            keywords.append(_quote(str(node[1])))
        else:
            close_keywords()
            if previous is not None:
                pieces.append(gap)
            pieces.append(_node_regex(node, dialect))
        if top and previous is None and node[0] == KW:
            close_keywords()
            pieces.append(_HINT)
        previous = node
    close_keywords()
    return pieces


def _gap(left: Node, right: Node) -> str:
    """What may stand between two tokens: whitespace, required between two words; none
    around the dot of a qualified name (``"users"."id"``)."""
    if left == _DOT or right == _DOT:
        return ""
    return r"\s+" if _words_touch(left, right) else r"\s*"


def _node_regex(node: Node, dialect: SqlDialect) -> str:
    kind, text = node
    if kind == REPEAT:
        inner = "".join(_pieces(text, dialect, top=False))  # type: ignore[arg-type]
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
