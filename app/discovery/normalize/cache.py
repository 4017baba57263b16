"""Cache operations (Redis, Memcached and their kin): the command and the keys it touches.

``HGETALL session:3f2a9c0e1b7d4a6f`` and ``HGETALL session:9b1e77c2d04a4f3e`` are one
operation, ``redis HGETALL session:{id}``. The key is read from the statement
(``db.query.text``, legacy ``db.statement``) as instrumentations write it, command first and
arguments after, and turned into a template: it is split on the separators keys are built
with (``:`` first, then ``/``, ``.``, and ``-``/``_`` inside a word), and every token that is
an id as a whole (``app.discovery.normalize.ids``) becomes its placeholder, so
``product:SKU-01401`` becomes ``product:SKU-{id}``. A token is tried whole before it is split
further, which keeps UUIDs, dates and e-mail addresses in one piece.

Values, TTLs and flags are dropped (``SETEX k 3600 v`` is ``SETEX k``); a command that takes
only keys (``DEL``, ``MGET``, ``EXISTS``...) keeps each distinct key template once, in order
of first appearance. The command is upper-cased in the key and matched case-insensitively,
as Redis reads it (ioredis writes ``hgetall``, most clients ``HGETALL``). A span with no
statement is keyed by its ``db.operation.name`` (legacy ``db.operation``) alone.

The statement matcher is built from the same tokens: the command, then each key template
with literal parts escaped and placeholders as ``PLACEHOLDER_REGEX``, then, where arguments
were dropped, anything after whitespace. Two limits of positive matchers remain: a span
without a statement is matched by its command alone, which a span of the same command with
a statement also satisfies; and a placeholder's expression can reach over a separator
(``ids`` lets base64 contain ``/`` and ``-``), so a key whose token happens to be an id
across a separator could satisfy a neighbouring template. Neither occurs in real key
schemes as far as we have seen.

``template_name`` is also how messaging destinations are templated.
"""

from __future__ import annotations

import re
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

from app.discovery.normalize.ids import DATE, PLACEHOLDER_REGEX, placeholder_for
from app.discovery.operation import Family, FieldType, Matcher, MatchType, Operation
from connectors.spans import Span

CACHE_SYSTEMS: frozenset[str] = frozenset(
    {
        "redis",
        "valkey",
        "keydb",
        "dragonfly",
        "dragonflydb",
        "garnet",
        "memcached",
        "memcache",
    }
)
"""``db.system`` values (lower-cased) whose spans are cache commands rather than queries."""

_MEMCACHED_SYSTEMS = frozenset({"memcached", "memcache"})

# --- Templates of names built from separated parts -------------------------------------------

# ``:`` is the separator of key schemes: a name is split on it first, then each part, tried
# whole, on the next level's separators, coarsest first.
_LEVELS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (chars, re.compile("([" + re.escape(chars) + "])")) for chars in ("|#", "/", ".", "-_{}=,")
)
_SEPARATORS = ":" + "".join(chars for chars, _ in _LEVELS)
# A date with a time of day holds colons, so it is found before the name is split on them.
_DATE_TIME = re.compile(
    f"(?<![^{re.escape(_SEPARATORS)}])"
    r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)"
    f"(?![^{re.escape(_SEPARATORS)}])"
)


class NameTemplate(NamedTuple):
    """A key or destination with its ids replaced by placeholders."""

    text: str
    """``cart:user:{id}``: what people read, and part of an operation key."""
    regex: str
    """Matches exactly the names whose template is ``text`` (with ``re.fullmatch``)."""
    has_placeholder: bool


_PLACEHOLDER_TEMPLATES = {
    placeholder: NameTemplate(placeholder, regex, True)
    for placeholder, regex in PLACEHOLDER_REGEX.items()
}


def _add_pieces(token: str, level: int, pieces: list[NameTemplate]) -> None:
    placeholder = placeholder_for(token)
    if placeholder is not None:
        pieces.append(_PLACEHOLDER_TEMPLATES[placeholder])
        return
    for index in range(level, len(_LEVELS)):
        chars, splitter = _LEVELS[index]
        if any(char in token for char in chars):
            for position, part in enumerate(splitter.split(token)):
                if position % 2:
                    pieces.append(NameTemplate(part, re.escape(part), False))
                elif part:
                    _add_pieces(part, index + 1, pieces)
            return
    pieces.append(NameTemplate(token, re.escape(token), False))


def _joined(templates: list[NameTemplate], separator: str = "") -> NameTemplate:
    return NameTemplate(
        separator.join(t.text for t in templates),
        separator.join(t.regex for t in templates),
        any(t.has_placeholder for t in templates),
    )


@lru_cache(maxsize=65536)
def _part_template(part: str) -> NameTemplate:
    """The template of a part between colons; parts (``cart``, ``user``) repeat a lot."""
    placeholder = placeholder_for(part)
    if placeholder is not None:
        return _PLACEHOLDER_TEMPLATES[placeholder]
    pieces: list[NameTemplate] = []
    _add_pieces(part, 0, pieces)
    return _joined(pieces)


@lru_cache(maxsize=65536)
def _interned(template: NameTemplate) -> NameTemplate:
    """One object per distinct template, so later hashing of its strings is free."""
    return template


@lru_cache(maxsize=65536)
def template_name(name: str) -> NameTemplate:
    """``cart:user:4821`` -> ``cart:user:{id}``, with the regex that recognises it."""
    if ":" not in name:
        return _part_template(name)
    if "-" in name and _DATE_TIME.search(name):
        segments: list[NameTemplate] = []
        for position, segment in enumerate(_DATE_TIME.split(name)):
            if position % 2:
                segments.append(_PLACEHOLDER_TEMPLATES[DATE])
            else:
                segments.append(_joined([_part_template(p) for p in segment.split(":")], ":"))
        return _interned(_joined(segments))
    return _interned(_joined([_part_template(part) for part in name.split(":")], ":"))


_PLACEHOLDERS = re.compile("|".join(re.escape(p) for p in PLACEHOLDER_REGEX))
_SEPARATOR_RUNS = re.compile(r"[:|#/.\-_{}=,]{2,}")


def naming_words(template: str) -> str:
    """A template without its placeholders, for names: ``cart:user:{id}`` -> ``cart:user``."""
    words = _PLACEHOLDERS.sub("", template)
    words = _SEPARATOR_RUNS.sub(lambda run: run.group()[0], words)
    return words.strip(":|#/.-_{}=, ")


def attribute_text(raw: Any) -> str | None:
    """An attribute value as ``Matcher.value_of`` renders it; None when absent or empty."""
    if raw is None:
        return None
    if raw.__class__ is not str:
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        elif isinstance(raw, list) and len(raw) == 1:
            raw = str(raw[0])
        else:
            raw = str(raw)
    return raw or None


# --- Commands ---------------------------------------------------------------------------------

_KEY_FIRST, _ALL_KEYS, _NO_KEY = 0, 1, 2

_REDIS_NO_KEY = frozenset(
    """
    ACL AUTH BGREWRITEAOF BGSAVE CLIENT CLUSTER COMMAND CONFIG DBSIZE DEBUG DISCARD ECHO EVAL
    EVALSHA EVALSHA_RO EVAL_RO EXEC FAILOVER FCALL FCALL_RO FLUSHALL FLUSHDB FUNCTION HELLO INFO
    KEYS LASTSAVE LATENCY LOLWUT MODULE MONITOR MULTI PING PSUBSCRIBE PSYNC PUBSUB PUNSUBSCRIBE
    QUIT RANDOMKEY READONLY READWRITE REPLICAOF RESET ROLE SAVE SCAN SCRIPT SELECT SHUTDOWN
    SLAVEOF SLOWLOG SSUBSCRIBE SUBSCRIBE SUNSUBSCRIBE SWAPDB SYNC TIME UNSUBSCRIBE UNWATCH WAIT
    WAITAOF
    """.split()
)
_REDIS_ALL_KEYS = frozenset(
    """
    DEL EXISTS MGET PFCOUNT PFMERGE RENAME RENAMENX RPOPLPUSH SDIFF SDIFFSTORE SINTER
    SINTERSTORE SUNION SUNIONSTORE TOUCH UNLINK WATCH
    """.split()
)
# Commands whose second word names what they do (``CLIENT SETNAME``, ``OBJECT ENCODING k``).
_REDIS_CONTAINERS = frozenset(
    """
    ACL CLIENT CLUSTER COMMAND CONFIG DEBUG FUNCTION LATENCY MEMORY MODULE OBJECT PUBSUB
    SCRIPT SLOWLOG XGROUP XINFO
    """.split()
)
_REDIS_KEYED_SUBCOMMANDS = frozenset(
    {
        "MEMORY USAGE",
        "OBJECT ENCODING",
        "OBJECT FREQ",
        "OBJECT IDLETIME",
        "OBJECT REFCOUNT",
        "XGROUP CREATE",
        "XGROUP CREATECONSUMER",
        "XGROUP DELCONSUMER",
        "XGROUP DESTROY",
        "XGROUP SETID",
        "XINFO CONSUMERS",
        "XINFO GROUPS",
        "XINFO STREAM",
    }
)
_MEMCACHED_NO_KEY = frozenset(
    "CACHE_MEMLIMIT FLUSH_ALL QUIT SHUTDOWN STATS VERBOSITY VERSION".split()
)
_MEMCACHED_ALL_KEYS = frozenset(
    "DELETE_MANY DELETE_MULTI GET GETS GETS_MANY GETS_MULTI GET_MANY GET_MULTI".split()
)


def _key_layout(command: str, memcached: bool) -> int:
    if memcached:
        if command in _MEMCACHED_ALL_KEYS:
            return _ALL_KEYS
        return _NO_KEY if command in _MEMCACHED_NO_KEY else _KEY_FIRST
    if command in _REDIS_ALL_KEYS:
        return _ALL_KEYS
    if command in _REDIS_KEYED_SUBCOMMANDS:
        return _KEY_FIRST
    if command in _REDIS_NO_KEY or command.partition(" ")[0] in _REDIS_CONTAINERS:
        return _NO_KEY
    return _KEY_FIRST


class CacheCommand(NamedTuple):
    """A statement reduced to what identifies its operation."""

    command: str
    """Upper-case, with the sub-command of a container: ``GET``, ``CLIENT SETNAME``."""
    keys: tuple[str, ...]
    """Templates of the keys it touches, each once: ``("cart:user:{id}",)``."""
    regex: str
    """Matches exactly the statements that reduce to this command and these keys."""


_ANY_ARGUMENTS = r"(?:\s(?s:.*))?"
_BARE = 3  # the command alone: nothing may follow it


@lru_cache(maxsize=4096)
def _command_word(token: str) -> tuple[str, str]:
    """A command word for the key, and its regex: case-insensitive, as Redis reads it."""
    if token.isascii():
        return token.upper(), "(?i:" + re.escape(token.upper()) + ")"
    return token, re.escape(token)


class _Shape(NamedTuple):
    """What a statement's operation depends on; one per operation, whatever the ids."""

    command: str
    head: str
    layout: int
    keys: tuple[NameTemplate, ...]


def _shape(statement: str, memcached: bool) -> _Shape | None:
    tokens = statement.split()
    if not tokens:
        return None
    command, head = _command_word(tokens[0])
    arguments = tokens[1:]
    if not memcached and command in _REDIS_CONTAINERS:
        if not arguments:  # without its sub-command; any word after it would be one
            return _Shape(command, head, _BARE, ())
        sub, sub_regex = _command_word(arguments[0])
        command = f"{command} {sub}"
        head = head + r"\s+" + sub_regex
        arguments = arguments[1:]
    layout = _key_layout(command, memcached)
    if layout == _NO_KEY:
        return _Shape(command, head, layout, ())
    if not arguments:
        return _Shape(command, head, _BARE, ())
    if layout == _KEY_FIRST:
        return _Shape(command, head, layout, (template_name(arguments[0]),))
    keys: dict[str, NameTemplate] = {}
    for argument in arguments:
        template = template_name(argument)
        keys.setdefault(template.text, template)
    return _Shape(command, head, layout, tuple(keys.values()))


@lru_cache(maxsize=16384)
def _command(shape: _Shape) -> CacheCommand:
    head = r"\s*" + shape.head
    keys = tuple(template.text for template in shape.keys)
    if shape.layout == _BARE:
        return CacheCommand(shape.command, keys, head + r"\s*")
    if shape.layout == _NO_KEY:
        return CacheCommand(shape.command, keys, head + _ANY_ARGUMENTS)
    if shape.layout == _KEY_FIRST:
        regex = head + r"\s+" + shape.keys[0].regex + _ANY_ARGUMENTS
        return CacheCommand(shape.command, keys, regex)
    # Only keys: each distinct template once, in order of first appearance. The regex lets
    # a template repeat once it has appeared, and no other.
    parts = [head]
    regexes: list[str] = []
    for template in shape.keys:
        regexes.append(template.regex)
        parts.append(r"\s+" + template.regex + r"(?:\s+(?:" + "|".join(regexes) + "))*")
    parts.append(r"\s*")
    return CacheCommand(shape.command, keys, "".join(parts))


def parse_statement(statement: str, memcached: bool = False) -> CacheCommand | None:
    """``SETEX cart:user:4821 3600 v`` -> ``SETEX``, ``cart:user:{id}``; None when empty.

    Arguments are whitespace-separated, as instrumentations join them; a pipeline written
    on several lines is keyed by its first command.
    """
    shape = _shape(statement, memcached)
    return None if shape is None else _command(shape)


# --- Operations -------------------------------------------------------------------------------


@lru_cache(maxsize=16384)
def _statement_operation(
    system_field: str, system: str, statement_field: str, shape: _Shape
) -> Operation:
    parsed = _command(shape)
    hints = {"system": system.lower(), "operation": parsed.command}
    if parsed.keys:
        target = naming_words(parsed.keys[0])
        if target:
            hints["target"] = target
    return Operation(
        family=Family.CACHE,
        key=" ".join((system, parsed.command, *parsed.keys)),
        matchers=(
            Matcher(FieldType.SPAN_ATTRIBUTE, system_field, MatchType.EXACT, system),
            Matcher(FieldType.SPAN_ATTRIBUTE, statement_field, MatchType.REGEX, parsed.regex),
        ),
        hints=MappingProxyType(hints),
    )


@lru_cache(maxsize=16384)
def _command_operation(
    system_field: str, system: str, command_field: str, command: str
) -> Operation:
    word, regex = _command_word(command)
    return Operation(
        family=Family.CACHE,
        key=f"{system} {word}",
        matchers=(
            Matcher(FieldType.SPAN_ATTRIBUTE, system_field, MatchType.EXACT, system),
            Matcher(FieldType.SPAN_ATTRIBUTE, command_field, MatchType.REGEX, regex),
        ),
        hints=MappingProxyType({"system": system.lower(), "operation": word}),
    )


def normalize_cache(span: Span) -> Operation | None:
    """``redis GET product:SKU-{id}``; None when the span names neither statement nor command."""
    attributes = span.attributes
    # The same choice as the dispatcher: the current name when it has a value.
    system_field = "db.system.name" if attributes.get("db.system.name") else "db.system"
    system = attribute_text(attributes.get(system_field))
    if system is None:
        return None
    memcached = system.lower() in _MEMCACHED_SYSTEMS
    for statement_field in ("db.query.text", "db.statement"):
        statement = attributes.get(statement_field)
        if statement.__class__ is str and statement:
            shape = _shape(statement, memcached)
            if shape is not None:
                return _statement_operation(system_field, system, statement_field, shape)
    for command_field in ("db.operation.name", "db.operation"):
        command = attribute_text(attributes.get(command_field))
        if command is not None:
            return _command_operation(system_field, system, command_field, command)
    return None
