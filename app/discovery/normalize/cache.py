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
with literal parts escaped and each placeholder a short class (``[^:\\s]+``, anything up to
the next colon or space: ``ids.placeholder_class``), then, where arguments were dropped,
anything after whitespace. A placeholder that discovery learned (``cart:{cart_id}``) reads
as a placeholder too, so the template of a key template is itself. The classes accept
literal text as well, so a literal sibling (``product:featured`` beside ``product:{id}``) is
told apart by matching most-specific-first (``app.discovery.exclusions``). Matchers cannot
require an attribute to be absent, so a span without a statement, matched by its command
alone, has matchers that a span of the same command with a statement also satisfies.

``template_name`` is also how messaging destinations are templated.
"""

from __future__ import annotations

import re
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

from app.discovery.normalize.ids import (
    DATE,
    DATE_REGEX,
    EMAIL,
    ID,
    IN_KEY,
    PLACEHOLDER_TOKEN,
    in_raw_text,
    is_placeholder,
    placeholder_class,
    placeholder_for,
)
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
# whole, on the separators of the next level, coarsest first.
_LEVEL_SEPARATORS = ("|#", "/", ".", "-_{}=,")
_SPLITTERS = tuple(re.compile("([" + re.escape(chars) + "])") for chars in _LEVEL_SEPARATORS)
_SEPARATORS = ":" + "".join(_LEVEL_SEPARATORS)
_ESCAPED_SEPARATORS = {char: re.escape(char) for char in _SEPARATORS}
# A date is found before the name is split on colons: its time of day holds some.
_DATE_TIME = re.compile(
    f"(?<![^{re.escape(_SEPARATORS)}])({DATE_REGEX})(?![^{re.escape(_SEPARATORS)}])"
)


def _may_hold_date_time(name: str) -> bool:
    """Cheaper than the search: a time of day follows the date after ``T`` or a space."""
    return "-" in name and ("T" in name or " " in name)


class NameTemplate(NamedTuple):
    """A key or destination with its ids replaced by placeholders."""

    text: str
    """``cart:user:{id}``: what people read, and part of an operation key."""
    regex: str
    """Matches (``re.fullmatch``) every name whose template is ``text``."""
    has_placeholder: bool


def _placeholder_template(placeholder: str) -> NameTemplate:
    return NameTemplate(placeholder, placeholder_class(placeholder, IN_KEY), True)


_PLACEHOLDER_TEMPLATES = {p: _placeholder_template(p) for p in (ID, EMAIL, DATE)}
_ID_TEMPLATE = _PLACEHOLDER_TEMPLATES[ID]
_PLACEHOLDERS = re.compile(f"({PLACEHOLDER_TOKEN})")
"""Placeholders in a template (one group, so that ``split`` keeps them)."""

# Bounded memories of what repeats; each is emptied when full (its entries are cheap to redo).
_MAX_REMEMBERED = 65536
_LEAVES: dict[str, str] = {}
"""Tokens found to be literal and free of separators, with their regex."""
_PARTS: dict[str, NameTemplate] = {}
"""Parts between colons found to be literal, with their template."""


def _add_pieces(token: str, level: int, texts: list[str], regexes: list[str]) -> None:
    """Appends the template of a token that is no placeholder as a whole, split on the
    separators of ``level`` or finer, to ``texts`` and its regex to ``regexes``."""
    last = len(_SPLITTERS) - 1
    for index in range(level, last):
        parts = _SPLITTERS[index].split(token)
        if len(parts) > 1:
            for position, part in enumerate(parts):
                if position % 2:
                    texts.append(part)
                    regexes.append(_ESCAPED_SEPARATORS[part])
                elif part and not _add_known(part, texts, regexes):
                    _add_pieces(part, index + 1, texts, regexes)
            return
    if "{" in token:  # placeholders a key template holds (``SKU-{id}``) stay whole
        for position, piece in enumerate(_PLACEHOLDERS.split(token)):
            if position % 2:
                template = _placeholder_template(piece)
                texts.append(template.text)
                regexes.append(template.regex)
            elif piece:
                _add_words(_SPLITTERS[last].split(piece), texts, regexes)
        return
    _add_words(_SPLITTERS[last].split(token), texts, regexes)


def _add_known(token: str, texts: list[str], regexes: list[str]) -> bool:
    """Appends a token that is a placeholder or a remembered literal; False for others."""
    regex = _LEAVES.get(token)
    if regex is not None:
        texts.append(token)
        regexes.append(regex)
        return True
    if token.isdigit() and token.isascii():
        placeholder: str | None = ID
    elif is_placeholder(token):
        placeholder = token
    else:
        placeholder = placeholder_for(token)
    if placeholder is None:
        return False
    template = _PLACEHOLDER_TEMPLATES.get(placeholder) or _placeholder_template(placeholder)
    texts.append(template.text)
    regexes.append(template.regex)
    return True


def _add_words(parts: list[str], texts: list[str], regexes: list[str]) -> None:
    """The finest level: words joined by ``-``, ``_``... (``parts`` as ``re.split`` with a
    group gives them, words at even positions). The longest run of words from the left that
    is an id as a whole stays one: ``ch_3PqL9xAB`` in ``refund-ch_3PqL9xAB``, a UUID in
    ``order_<uuid>``. The caller has found the whole run to be no id."""
    end = len(parts) - 1
    start = 0
    while start <= end:
        if start % 2:
            texts.append(parts[start])
            regexes.append(_ESCAPED_SEPARATORS[parts[start]])
            start += 1
            continue
        stop = end if start else end - 2
        while stop > start:
            placeholder = placeholder_for("".join(parts[start : stop + 1]))
            if placeholder is not None:
                texts.append(placeholder)
                regexes.append(_PLACEHOLDER_TEMPLATES[placeholder].regex)
                break
            stop -= 2
        else:
            word = parts[start]
            if word and not _add_known(word, texts, regexes):
                # Free of separators: a literal wherever it appears, worth remembering.
                regex = re.escape(word)
                if len(_LEAVES) >= _MAX_REMEMBERED:
                    _LEAVES.clear()
                _LEAVES[word] = regex
                texts.append(word)
                regexes.append(regex)
            stop = start
        start = stop + 1


def _joined(templates: list[NameTemplate], separator: str = "") -> NameTemplate:
    return NameTemplate(
        separator.join(t.text for t in templates),
        separator.join(t.regex for t in templates),
        any(t.has_placeholder for t in templates),
    )


def _part_template(part: str) -> NameTemplate:
    """The template of a part between colons.

    Literal parts (``cart``, ``user``) repeat a lot and are kept, up to a bound; parts with
    an id in them (``4821``, ``SKU-01401``) seldom do and are not.
    """
    template = _PARTS.get(part)
    if template is not None:
        return template
    if part.isdigit() and part.isascii():
        return _ID_TEMPLATE
    if is_placeholder(part):
        return _placeholder_template(part)
    placeholder = placeholder_for(part)
    if placeholder is not None:
        return _PLACEHOLDER_TEMPLATES[placeholder]
    texts: list[str] = []
    regexes: list[str] = []
    _add_pieces(part, 0, texts, regexes)
    text = "".join(texts)
    has_placeholder = text != part or ("{" in text and bool(_PLACEHOLDERS.search(text)))
    template = NameTemplate(text, "".join(regexes), has_placeholder)
    if not template.has_placeholder:
        if len(_PARTS) >= _MAX_REMEMBERED:
            _PARTS.clear()
        _PARTS[part] = template
    return template


@lru_cache(maxsize=65536)
def template_name(name: str) -> NameTemplate:
    """``cart:user:4821`` -> ``cart:user:{id}``, with the regex that recognises it."""
    if ":" not in name:
        return _part_template(name)
    if _may_hold_date_time(name) and _DATE_TIME.search(name):
        segments: list[NameTemplate] = []
        for position, segment in enumerate(_DATE_TIME.split(name)):
            if position % 2:
                segments.append(_PLACEHOLDER_TEMPLATES[DATE])
            else:
                segments.append(_joined([_part_template(p) for p in segment.split(":")], ":"))
        return _joined(segments)
    return _joined([_part_template(part) for part in name.split(":")], ":")


def _name_parts(name: str) -> tuple[NameTemplate, ...]:
    """A name's template as the templates of its parts between colons, which are cached
    objects: cheaper than ``template_name`` for a name never seen, and as telling."""
    if ":" not in name:
        return (_part_template(name),)
    if _may_hold_date_time(name) and _DATE_TIME.search(name):
        return (template_name(name),)
    return tuple(map(_part_template, name.split(":")))


_SEPARATOR_RUNS = re.compile(f"[{re.escape(_SEPARATORS)}]{{2,}}")


def naming_words(template: str) -> str:
    """A template without its placeholders, for names: ``cart:user:{id}`` -> ``cart:user``."""
    words = _PLACEHOLDERS.sub("", template)
    words = _SEPARATOR_RUNS.sub(lambda run: run.group()[0], words)
    return words.strip(_SEPARATORS + " ")


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


@lru_cache(maxsize=4096)
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


_Shape = tuple[str, int, tuple[tuple[NameTemplate, ...], ...]]
"""What a statement's operation depends on: the command, how its keys are laid out, and
each key as ``_name_parts`` gives it. A plain tuple: one is made for every new statement."""


_ASCII_SPACE = re.compile(r"[\t\n\v\f\r ]+")


def _spaced(statement: str) -> list[str]:
    """``str.split(None, 2)`` at ASCII whitespace alone."""
    return [word for word in _ASCII_SPACE.split(statement.strip("\t\n\v\f\r "), 2) if word]


def _shape(statement: str, memcached: bool) -> _Shape | None:
    # Split off no more than needed: values (a cached JSON document) can be long. Only
    # ASCII whitespace separates, as in the matcher's ``\s`` (RE2's is ASCII).
    words = statement.split(None, 2) if statement.isascii() else _spaced(statement)
    if len(words) > 1:
        words[1] = in_raw_text(words[1])
    if len(words) > 2 and "_id}" in words[2]:
        words[2] = in_raw_text(words[2])
    if not words:
        return None
    command = _command_word(words[0])[0]
    rest = words[1:]  # the first argument, and everything after it
    if not memcached and command in _REDIS_CONTAINERS:
        if not rest:  # without its sub-command; any word after it would be one
            return command, _BARE, ()
        command = f"{command} {_command_word(rest[0])[0]}"
        rest = rest[1].split(None, 1) if len(rest) > 1 else []
    layout = _key_layout(command, memcached)
    if layout == _NO_KEY:
        return command, layout, ()
    if not rest:
        return command, _BARE, ()
    if layout == _KEY_FIRST:
        return command, layout, (_name_parts(rest[0]),)
    arguments = [rest[0], *rest[1].split()] if len(rest) > 1 else rest
    # Each distinct key once, first appearance first (``_command`` merges any two part
    # tuples of one template).
    return command, layout, tuple(dict.fromkeys(map(_name_parts, arguments)))


@lru_cache(maxsize=16384)
def _command(shape: _Shape) -> CacheCommand:
    command, layout, parts_of_keys = shape
    head = r"\s*" + r"\s+".join(_command_word(word)[1] for word in command.split(" "))
    templates = list({t.text: t for t in (_joined(list(p), ":") for p in parts_of_keys)}.values())
    keys = tuple(template.text for template in templates)
    if layout == _BARE:
        return CacheCommand(command, keys, head + r"\s*")
    if layout == _NO_KEY:
        return CacheCommand(command, keys, head + _ANY_ARGUMENTS)
    if layout == _KEY_FIRST:
        return CacheCommand(command, keys, head + r"\s+" + templates[0].regex + _ANY_ARGUMENTS)
    # Only keys: each distinct template once, in order of first appearance. The regex lets
    # a template repeat once it has appeared, and no other.
    parts = [head]
    regexes: list[str] = []
    for template in templates:
        regexes.append(template.regex)
        parts.append(r"\s+" + template.regex + r"(?:\s+(?:" + "|".join(regexes) + "))*")
    parts.append(r"\s*")
    return CacheCommand(command, keys, "".join(parts))


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


@lru_cache(maxsize=65536)
def _operation_of_statement(
    system_field: str, system: str, statement_field: str, statement: str
) -> Operation | None:
    """Popular keys and keyless commands repeat: their statements are looked up once."""
    shape = _shape(statement, system.lower() in _MEMCACHED_SYSTEMS)
    if shape is None:
        return None
    return _statement_operation(system_field, system, statement_field, shape)


def normalize_cache(span: Span) -> Operation | None:
    """``redis GET product:SKU-{id}``; None when the span names neither statement nor command."""
    attributes = span.attributes
    # The same choice as the dispatcher: the current name when it has a value.
    system_field = "db.system.name" if attributes.get("db.system.name") else "db.system"
    system = attribute_text(attributes.get(system_field))
    if system is None:
        return None
    for statement_field in ("db.query.text", "db.statement"):
        statement = attributes.get(statement_field)
        if statement.__class__ is str and statement:
            operation = _operation_of_statement(system_field, system, statement_field, statement)
            if operation is not None:
                return operation
    for command_field in ("db.operation.name", "db.operation"):
        command = attribute_text(attributes.get(command_field))
        if command is not None:
            return _command_operation(system_field, system, command_field, command)
    return None


def read_key(operation: Operation) -> tuple[str, str, list[str]] | None:
    """A cache operation keyed by its statement, read back: its system, command and key
    templates; None for one keyed by its command alone, or with no key."""
    fields = operation.matcher_fields
    if len(fields) != 2 or fields[1] not in ("db.query.text", "db.statement"):
        return None
    system = operation.matchers[0].match_value
    command = operation.hints.get("operation", "")
    head = f"{system} {command} "
    if not command or not operation.key.startswith(head):
        return None
    keys = operation.key[len(head) :].split(" ")
    return (system, command, keys) if all(keys) else None


def retemplated(operation: Operation, keys: list[str]) -> Operation:
    """The operation with ``keys`` as its key templates (placeholders learned in them)."""
    system = operation.matchers[0].match_value
    command = operation.hints["operation"]
    layout = _key_layout(command, system.lower() in _MEMCACHED_SYSTEMS)
    shape = (command, layout, tuple(_name_parts(key) for key in keys))
    fields = operation.matcher_fields
    return _statement_operation(fields[0], system, fields[1], shape)
