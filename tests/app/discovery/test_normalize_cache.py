"""Cache spans: command and key template, and matchers that tell them apart."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from app.discovery.normalize.cache import (
    CACHE_SYSTEMS,
    naming_words,
    normalize_cache,
    parse_statement,
    template_name,
)
from app.discovery.operation import Family
from app.sample import FaultName, faults_by_name
from connectors.spans import Span, SpanKind

TEMPLATES = [
    ("cart:user:4821", "cart:user:{id}"),
    ("session:f202bdc895fe6dcea23ea55c2a1df372", "session:{id}"),
    ("search:v2:b8abf4db", "search:v2:{id}"),  # 8 hex: a hash; v2 stays
    ("product:SKU-01401", "product:SKU-{id}"),  # split on "-" once the whole part is no id
    ("cart:c_vxgjh339vg", "cart:{id}"),  # provider-style id, kept whole
    ("lock:order:550e8400-e29b-41d4-a716-446655440000", "lock:order:{id}"),
    ("user:john.doe@example.com:prefs", "user:{email}:prefs"),
    ("stats:2024-01-15:views", "stats:{date}:views"),
    ("ratelimit:user:42:2024-01-15T10:05", "ratelimit:user:{id}:{date}"),  # colons of a time
    ("views/products/17-20240101", "views/products/{id}-{id}"),  # Rails fragment cache
    ("rate:192.168.1.20", "rate:{id}.{id}.{id}.{id}"),
    ("bull:email-queue:1042", "bull:email-queue:{id}"),
    ("tenant_4821_events", "tenant_{id}_events"),
    ("refund-ch_3PqL9xAB", "refund-{id}"),  # words that are an id together stay one
    ("lock:order=550e8400-e29b-41d4-a716-446655440000", "lock:order={id}"),  # a UUID, not 5
    ("customer-notification-preferences", "customer-notification-preferences"),
    ("{user1000}.following", "{user1000}.following"),  # a cluster hash tag, no id in it
    ("page=2,size=20", "page={id},size={id}"),
    ("a::b", "a::b"),  # empty parts keep their separators
    ("features", "features"),
    ("", ""),
]


@pytest.mark.parametrize(("name", "expected"), TEMPLATES)
def test_key_ids_become_placeholders(name: str, expected: str) -> None:
    template = template_name(name)
    assert template.text == expected
    assert template.has_placeholder == ("{" in expected and expected != name)
    assert re.fullmatch(template.regex, name)


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("cart:user:{id}", "cart:user"),
        ("product:SKU-{id}", "product:SKU"),
        ("{id}:profile", "profile"),
        ("cart:{id}:items", "cart:items"),
        ("{id}", ""),
    ],
)
def test_naming_words_drop_placeholders(template: str, words: str) -> None:
    assert naming_words(template) == words


STATEMENTS = [
    ("GET cart:user:4821", False, "GET", ("cart:user:{id}",)),
    ("HGETALL session:3f2a9c0e1b7d4a6f", False, "HGETALL", ("session:{id}",)),
    ("hgetall session:3f2a9c0e1b7d4a6f", False, "HGETALL", ("session:{id}",)),  # ioredis
    ("SETEX cart:user:4821 3600 {json}", False, "SETEX", ("cart:user:{id}",)),  # TTL, value go
    ("SETEX product:SKU-10225 300 ?", False, "SETEX", ("product:SKU-{id}",)),  # sanitized
    ("set cart:user:1 [1 other arguments]", False, "SET", ("cart:user:{id}",)),  # Node serializer
    ("SET notified:order:694349 1 NX EX 86400", False, "SET", ("notified:order:{id}",)),
    ("HINCRBY cart:user:2880 SKU-02457 4", False, "HINCRBY", ("cart:user:{id}",)),  # field goes
    ("EXPIRE cart:user:2880 2592000", False, "EXPIRE", ("cart:user:{id}",)),
    ("MGET product:SKU-1 product:SKU-2 product:SKU-3", False, "MGET", ("product:SKU-{id}",)),
    ("MGET product:SKU-1", False, "MGET", ("product:SKU-{id}",)),  # one key or many: same
    (
        "DEL cart:user:1 session:ab12cd34ef cart:user:2",
        False,
        "DEL",
        ("cart:user:{id}", "session:{id}"),
    ),
    ("DEL session:ab12cd34ef cart:user:1", False, "DEL", ("session:{id}", "cart:user:{id}")),
    ("PING", False, "PING", ()),
    ("  PING  ", False, "PING", ()),
    ("SELECT 3", False, "SELECT", ()),  # a database number is no key
    ("CLIENT SETNAME checkout-7f9c", False, "CLIENT SETNAME", ()),
    ("CONFIG GET maxmemory", False, "CONFIG GET", ()),
    ("OBJECT ENCODING cart:user:9", False, "OBJECT ENCODING", ("cart:user:{id}",)),
    ("EVALSHA 3f2a9c0e1b7d4a6f3f2a9c0e1b7d4a6f3f2a9c0e 1 lock:9 tok", False, "EVALSHA", ()),
    ("JSON.GET doc:77 $.items", False, "JSON.GET", ("doc:{id}",)),  # module command
    ("GET", False, "GET", ()),  # key missing
    ("GET\tcart:user:1\n", False, "GET", ("cart:user:{id}",)),
    ("SET a:1 v\nGET b:2", False, "SET", ("a:{id}",)),  # a pipeline: its first command
    ("get user:4821", True, "GET", ("user:{id}",)),
    ("get_many user:1 user:2 team:3", True, "GET_MANY", ("user:{id}", "team:{id}")),
    ("set user:4821 0 3600 128", True, "SET", ("user:{id}",)),
    ("stats", True, "STATS", ()),
]


@pytest.mark.parametrize(("statement", "memcached", "command", "keys"), STATEMENTS)
def test_statement_reduces_to_command_and_key_templates(
    statement: str, memcached: bool, command: str, keys: tuple[str, ...]
) -> None:
    parsed = parse_statement(statement, memcached)
    assert parsed is not None
    assert (parsed.command, parsed.keys) == (command, keys)
    assert re.fullmatch(parsed.regex, statement, re.DOTALL)


@pytest.mark.parametrize("statement", ["", "   ", "\n"])
def test_empty_statement_is_nothing(statement: str) -> None:
    assert parse_statement(statement) is None


CROSS_CHECKED = [row[0] for row in STATEMENTS if not row[1]] + [
    "GET cart:user:4821:items",
    "GET cart:user",
    "GET cart:user:",
    "GETSET cart:user:1 x",
    "MGET product:SKU-1 related:SKU-2",
    "MGET related:SKU-2 product:SKU-1",
    "DEL cart:user:1 session:ab12cd34ef cart:user:2 lock:1",
    "CLIENT SETINFO lib-name redis-py",
    "CLIENT",
    "GET product:SKU-x1",
    "GET product:SKU-",
]


def test_each_statement_matches_its_own_regex_and_no_other_keys() -> None:
    parsed = {s: parse_statement(s) for s in CROSS_CHECKED}
    for statement, mine in parsed.items():
        assert mine is not None
        for other, theirs in parsed.items():
            assert theirs is not None
            same = (mine.command, mine.keys) == (theirs.command, theirs.keys)
            matches = re.fullmatch(theirs.regex, statement, re.DOTALL) is not None
            assert matches == same, (statement, other)


def _span(attributes: dict, name: str = "GET") -> Span:
    return Span(
        trace_id="0" * 32,
        span_id="1" * 16,
        parent_span_id=None,
        name=name,
        kind=SpanKind.CLIENT,
        start_unix_nano=0,
        end_unix_nano=1,
        attributes=attributes,
    )


@pytest.mark.parametrize(
    ("attributes", "key", "fields"),
    [
        (
            {"db.system": "redis", "db.statement": "HGETALL cart:user:4724"},
            "redis HGETALL cart:user:{id}",
            ("db.system", "db.statement"),
        ),
        (  # current names win over legacy ones carried alongside
            {
                "db.system.name": "redis",
                "db.system": "redis",
                "db.operation.name": "GET",
                "db.query.text": "GET product:SKU-03310",
                "db.statement": "GET product:SKU-03310",
            },
            "redis GET product:SKU-{id}",
            ("db.system.name", "db.query.text"),
        ),
        (  # no statement: the command alone
            {"db.system": "memcached", "db.operation": "get"},
            "memcached GET",
            ("db.system", "db.operation"),
        ),
        (
            {"db.system": "valkey", "db.operation.name": "PING", "db.query.text": "  "},
            "valkey PING",
            ("db.system", "db.operation.name"),
        ),
        (  # the system as carried: its matcher is exact
            {"db.system": "Redis", "db.statement": "GET a:1"},
            "Redis GET a:{id}",
            ("db.system", "db.statement"),
        ),
    ],
)
def test_span_operation(attributes: dict, key: str, fields: tuple[str, ...]) -> None:
    span = _span(attributes)
    operation = normalize_cache(span)
    assert operation is not None
    assert operation.family is Family.CACHE
    assert operation.key == key
    assert tuple(m.field_name for m in operation.matchers) == fields
    assert all(m.matches(span) for m in operation.matchers)


def test_hints_name_system_command_and_key_prefix() -> None:
    operation = normalize_cache(_span({"db.system": "redis", "db.statement": "GET cart:user:9"}))
    assert operation is not None
    assert dict(operation.hints) == {"system": "redis", "operation": "GET", "target": "cart:user"}


@pytest.mark.parametrize(
    "attributes",
    [
        {"db.system": "redis"},  # nothing to key on
        {"db.system": "redis", "db.statement": ""},
        {"db.system": "", "db.statement": "GET a"},
    ],
)
def test_span_without_statement_or_command_is_left_to_the_fallback(attributes: dict) -> None:
    assert normalize_cache(_span(attributes)) is None


def test_known_cache_systems_are_lower_case() -> None:
    assert {"redis", "memcached"} <= CACHE_SYSTEMS
    assert all(system == system.lower() for system in CACHE_SYSTEMS)


# --- The sample shop ------------------------------------------------------------------------

ALL_FAULTS = faults_by_name([f.value for f in FaultName])


def _is_cache(span: Span) -> bool:
    system = span.attributes.get("db.system.name") or span.attributes.get("db.system")
    return bool(system) and str(system).lower() in CACHE_SYSTEMS


@pytest.mark.parametrize(
    ("seed", "faults"), [(1, ()), (42, ()), (42, ALL_FAULTS)], ids=["1", "42", "42 faults"]
)
def test_sample_cache_spans_key_by_true_operation_and_matchers_keep_them_apart(
    seed: int, faults: tuple, check_family_on_sample: Callable[..., None]
) -> None:
    check_family_on_sample(_is_cache, normalize_cache, seed, faults)
