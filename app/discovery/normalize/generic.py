"""The fallback operation: a span's name with the tokens that are ids masked, Drain-style.

``process order 5512`` and ``process order 5513`` share the key ``process order {id}``;
``HTTP GET``, ``SELECT db.table`` and ``PaymentController.charge`` are keys as they are. The
name is cut coarse to fine: at whitespace, then at punctuation such as ``/ : , = #``, then at
``.`` and ``@``, then at ``-`` and ``_``. A piece is tested whole before it is cut any finer,
so a UUID, ``ch_3PqL9x`` or ``jane@example.com`` stays one placeholder, while
``product_8841.html`` becomes ``product_{id}.html``. Separators are kept as they are.

A piece that already is a placeholder, such as the ``{id}`` of
``/api/v1/contactservice/contacts/{id}`` that an instrumentation templated itself, counts as
that placeholder: the name keys as it reads, and the same operation named with a real id
(``/api/v1/contactservice/contacts/42``) gets the same key. Masking is idempotent, so the
template of a key is the key, and a key with a placeholder that discovery learned
(``{cart_id}``) templates the same way.

The matcher (``name``) is exact when the key has no placeholder, else a regex built from the
same pieces: literal text escaped, each placeholder a short class (``\\S+``: anything up to
whitespace, see ``ids.placeholder_class``). The class also accepts literal text, so a
literal sibling of a templated name is told apart by matching most-specific-first
(``app.discovery.exclusions``).

``mask_text``, ``mask_tokens`` and ``escape`` are shared with the HTTP normalizer, which cuts
URL paths and host names the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from app.discovery.normalize.ids import (
    IN_NAME,
    PLACEHOLDER_TOKEN,
    in_raw_text,
    is_placeholder,
    placeholder_class,
    placeholder_for,
)
from app.discovery.operation import Family, FieldType, Matcher, MatchType, Operation
from connectors.spans import Span


class Template(NamedTuple):
    """Text with ids masked, and the regex (for ``re.fullmatch``) of every text masked so."""

    text: str
    regex: str
    templated: bool
    """Whether ``text`` holds a placeholder (so a regex, not an exact match, is needed)."""


_ESCAPES = str.maketrans({char: "\\" + char for char in "\\.^$*+?()[]{}|"})


def escape(text: str) -> str:
    """``text`` as a regex that matches it literally, in Python ``re`` and RE2 alike.

    Unlike ``re.escape`` it leaves alone what is special only in verbose mode or inside a
    character class (space, ``#``, ``-``, ``&``, ``~``), so matchers stay readable:
    ``middleware - auth`` rather than ``middleware\\ \\-\\ auth``.
    """
    return text.translate(_ESCAPES)


NAME_SEPARATORS = (
    re.compile(r"(\s+)"),
    re.compile(r"""([/:,;=#|&?!*+~^$'"`()<>\[\]\\]+)"""),
    re.compile(r"([.@]+)"),
    re.compile(r"([-_]+)"),
)
"""How a span name is cut, coarse to fine; each keeps its separators (a capturing group)."""


def _mask(
    text: str,
    separators: Sequence[re.Pattern[str]],
    level: int,
    texts: list[str],
    regexes: list[str] | None,
    spans_not: str,
) -> bool:
    """Append the masked pieces of ``text`` (and their regexes); whether any is a placeholder.

    ``spans_not``: what a placeholder's class excludes (``ids.IN_PATH``...)."""
    placeholder = text if is_placeholder(text) else placeholder_for(text)
    if placeholder is not None:
        if regexes is None:  # span data, not a key: an instrumentation's {user_id} is {id}
            placeholder = in_raw_text(placeholder)
        texts.append(placeholder)
        if regexes is not None:
            regexes.append(placeholder_class(placeholder, spans_not))
        return True
    for finer in range(level, len(separators)):
        parts = separators[finer].split(text)
        if len(parts) > 1:
            break
    else:
        texts.append(text)
        if regexes is not None:
            regexes.append(escape(text))
        return False
    templated = False
    for index, part in enumerate(parts):
        if index % 2:  # a separator
            texts.append(part)
            if regexes is not None:
                regexes.append(escape(part))
        elif part and _mask(part, separators, finer + 1, texts, regexes, spans_not):
            templated = True
    return templated


def mask_text(text: str, separators: Sequence[re.Pattern[str]]) -> str:
    """Span data with every piece that is an id, e-mail or date replaced by its placeholder
    (a placeholder it already holds, such as ``{user_id}``, reads as ``{id}``: ``in_raw_text``).

    A piece is tested whole; when it is none, it is cut with the first of the (coarse to
    fine) ``separators`` that cuts it, and each part is masked the same way with the finer
    ones. Masking is idempotent, so ``mask_tokens`` of the result gives its regex.
    """
    if is_placeholder(text):
        return in_raw_text(text)
    placeholder = placeholder_for(text)
    if placeholder is not None:
        return placeholder
    texts: list[str] = []
    _mask(text, separators, 0, texts, None, "")
    return "".join(texts)


def mask_tokens(text: str, separators: Sequence[re.Pattern[str]], spans_not: str) -> Template:
    """``mask_text`` of ``text`` with a regex of every text masked to the same, in which a
    placeholder is a class of anything but ``spans_not``."""
    texts: list[str] = []
    regexes: list[str] = []
    templated = _mask(text, separators, 0, texts, regexes, spans_not)
    return Template("".join(texts), "".join(regexes), templated)


_PLACEHOLDER_TOKENS = re.compile(f"({PLACEHOLDER_TOKEN})")


def template_regex(text: str, spans_not: str) -> str:
    """The regex of a template whose placeholders never span ``spans_not``: literal text
    escaped, each placeholder its class (``ids.placeholder_class``)."""
    return "".join(
        placeholder_class(piece, spans_not) if index % 2 else escape(piece)
        for index, piece in enumerate(_PLACEHOLDER_TOKENS.split(text))
    )


def template_name(name: str) -> Template:
    """A span name with its ids masked (see the module docstring)."""
    return mask_tokens(name, NAME_SEPARATORS, IN_NAME)


@lru_cache(maxsize=65536)
def _key_operation(key: str) -> Operation:
    template = template_name(key)
    if template.templated:
        matcher = Matcher(FieldType.SPAN_FIELD, "name", MatchType.REGEX, template.regex)
    else:
        matcher = Matcher(FieldType.SPAN_FIELD, "name", MatchType.EXACT, key)
    return Operation(
        family=Family.GENERIC,
        key=key,
        matchers=(matcher,),
        hints=MappingProxyType({"operation": key}),
    )


@lru_cache(maxsize=65536)
def _operation(name: str) -> Operation:
    return _key_operation(mask_text(name, NAME_SEPARATORS))


def normalize_generic(span: Span) -> Operation:
    """The operation of a span no semantic-convention family claims: its masked name."""
    return _operation(span.name)


def retemplated(key: str) -> Operation:
    """The operation of span names whose template is ``key`` (a placeholder learned in it)."""
    return _key_operation(key)
