"""An operation's key cut into fixed text and the positions whose values may vary.

Discovery learns variables at these positions (``app.discovery.variables``): a URL path
segment, a host name label, a part of a cache key between colons, a part of a messaging
destination, a word of a span name. Database statements (their literals are ``?`` already),
RPC methods and HTTP routes (templates the instrumentation wrote) have none.

``Positions.pieces`` alternates fixed text and positions, fixed first and last, and joins
back into the key; ``with_values`` writes new values (placeholders) at positions and
gives the operation of the new key, its matchers built from it by the family's normalizer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.discovery.normalize import cache, generic, http, messaging
from app.discovery.operation import Family, Operation

PATH, HOST, KEY, DESTINATION, NAME = "path", "host", "key", "destination", "name"
"""What a position is part of: a URL path, a host name, a cache key, a destination, a name."""

_PATH_CUT = re.compile(r"(/+)")
_HOST_CUT = re.compile(r"(\.+)")
_KEY_CUT = re.compile(r"(:+)")
_DESTINATION_CUT = re.compile(r"([.:/]+)")
_NAME_CUT = re.compile(r"""(\s+|[/:,;=#|&?!*+~^$'"`()<>\[\]\\.@]+)""")
_WORD_CUT = re.compile(r"([-_]+)")
_FIXED_TOKENS = frozenset({"{asset}", "{userinfo}"})
MAX_POSITIONS = 32
"""Keys cut into more positions are not learned from: such long names are prose or data,
and their groups would cost memory by the square of their length."""


@dataclass(frozen=True, slots=True)
class Positions:
    operation: Operation
    pieces: tuple[str, ...]
    """Fixed text, a position's value, fixed text, ..., fixed text: ``"".join`` is the key."""
    kinds: tuple[str, ...]
    """What each position is part of (``PATH``...), in order."""

    @property
    def values(self) -> tuple[str, ...]:
        return self.pieces[1::2]

    def with_values(self, values: Mapping[int, str]) -> Operation | None:
        """The operation whose key has these values (by position); None if it cannot be
        read."""
        pieces = list(self.pieces)
        for position, value in values.items():
            pieces[2 * position + 1] = value
        return operation_for_key(self.operation, "".join(pieces))


class _Cutter:
    def __init__(self) -> None:
        self.pieces: list[str] = [""]
        self.kinds: list[str] = []

    def fixed(self, text: str) -> None:
        self.pieces[-1] += text

    def host(self, host: str) -> None:
        """A host name's labels; an IPv6 address (``[2001:db8::1]``) stays whole."""
        if host.startswith("["):
            self.fixed(host)
        else:
            self.cut(host, _HOST_CUT, HOST)

    def cut(self, text: str, separators: re.Pattern[str], kind: str) -> None:
        for index, part in enumerate(separators.split(text)):
            if index % 2 or not part or part in _FIXED_TOKENS:
                self.fixed(part)
            else:
                self.pieces.append(part)
                self.kinds.append(kind)
                self.pieces.append("")


def positions_of(operation: Operation) -> Positions | None:
    """The positions of an operation's key; None for a family or key shape that has none."""
    cutter = _Cutter()
    family = operation.family
    if family in (Family.HTTP_SERVER, Family.HTTP_CLIENT):
        url = http.read_key(operation)
        if url is None:
            return None
        cutter.fixed(url.method_text + " ")
        if url.authority is not None:
            parts = url.authority
            if parts.scheme:
                cutter.fixed(parts.scheme + "://")
            if parts.userinfo:
                cutter.fixed("{userinfo}@")
            cutter.host(parts.host)
            cutter.fixed((":" + parts.port if parts.port else "") + " ")
        elif url.host:
            cutter.host(url.host)
            cutter.fixed(" ")
        cutter.cut(url.path, _PATH_CUT, PATH)
    elif family is Family.CACHE:
        read = cache.read_key(operation)
        if read is None:
            return None
        system, command, keys = read
        cutter.fixed(f"{system} {command} ")
        for index, key in enumerate(keys):
            if index:
                cutter.fixed(" ")
            cutter.cut(key, _KEY_CUT, KEY)
    elif family is Family.MESSAGING:
        read_destination = messaging.read_key(operation)
        if read_destination is None:
            return None
        head, destination = read_destination
        cutter.fixed(head)
        cutter.cut(destination, _DESTINATION_CUT, DESTINATION)
    elif family is Family.GENERIC and operation.matcher_fields == ("name",):
        # a name of one word is cut at its dashes and underscores: ``sync-tenant-{id}``
        one_word = _NAME_CUT.search(operation.key) is None
        cutter.cut(operation.key, _WORD_CUT if one_word else _NAME_CUT, NAME)
    else:
        return None
    if not cutter.kinds or len(cutter.kinds) > MAX_POSITIONS:
        return None
    if "".join(cutter.pieces) != operation.key:
        return None
    return Positions(operation, tuple(cutter.pieces), tuple(cutter.kinds))


def operation_for_key(operation: Operation, key: str) -> Operation | None:
    """The operation of the same family and fields as ``operation`` whose key is ``key``,
    with matchers built from ``key``; None when ``key`` does not read as such a key."""
    family = operation.family
    if family in (Family.HTTP_SERVER, Family.HTTP_CLIENT):
        url = http.read_key(_keyed(operation, key))
        return None if url is None else http.retemplated(operation, url)
    if family is Family.CACHE:
        read = cache.read_key(_keyed(operation, key))
        return None if read is None else cache.retemplated(operation, read[2])
    if family is Family.MESSAGING:
        read_destination = messaging.read_key(_keyed(operation, key))
        if read_destination is None:
            return None
        return messaging.retemplated(operation, read_destination[1])
    if family is Family.GENERIC and operation.matcher_fields == ("name",):
        return generic.retemplated(key)
    return None


def _keyed(operation: Operation, key: str) -> Operation:
    return Operation(operation.family, key, operation.matchers, operation.hints)
