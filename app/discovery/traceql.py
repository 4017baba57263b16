"""A span pattern as a TraceQL query, and a Grafana Explore link that runs it.

Every answer that cites a pattern shows the query that finds its spans in Tempo, so a
person can check the answer against the spans themselves. The query is one spanset filter:
the pattern's service and span kind, then one condition per matcher and per exclusion, all
joined by ``&&``::

    { resource.service.name = "inventory" && kind = client
      && span.db.system = "postgresql" && span.db.query.text =~ "..." }

It selects exactly the spans the pattern's matchers select (``SpanPattern.matches``), given
how Tempo 2.10 reads TraceQL (checked against Tempo's lexer, ``pkg/traceql/lexer.go``, and
the TraceQL documentation):

- **Strings** are Go string literals (Tempo unquotes them with ``strconv.Unquote``):
  a backslash and a double quote are escaped, and so are control characters, since a
  literal newline ends the literal; other Unicode is written as is.
- **Regular expressions** (``=~``) are Go RE2 and fully anchored: Tempo 2.7 and later
  compile ``^(?s:<expression>)$`` (Prometheus' fast regexp matcher, Tempo pull request
  #4329), which is ``re.fullmatch`` with ``re.DOTALL``, how matchers match. A matcher's
  regex is written to be RE2-compatible (``app.discovery.operation``) and is passed as is;
  a ``starts_with`` prefix becomes ``<prefix, RE2-quoted>.*``.
- **Attribute names** are written bare when made of letters, digits, ``_`` and ``.``
  between words (``span.http.route``) and quoted otherwise (``span."x-request-id"``,
  escaping only ``\\`` and ``"``, the only escapes Tempo reads there). Tempo's lexer would
  take ``-`` or ``/`` bare too, but other TraceQL readers (Grafana's editor, other
  backends) do not, and quoting is always valid.
- **Types.** TraceQL is typed: ``span.http.response.status_code = 200`` matches an int
  attribute only and ``= "200"`` a string one, while a matcher compares text (``200`` and
  ``"200"`` both read as ``200``). An exact matcher on an attribute that semantic
  conventions make an integer (``INT_ATTRIBUTES``: status codes, ports) becomes an int
  comparison, and a regex that is an alternation of integers (what merging patterns split
  by status code gives) becomes ``(... = 404 || ... = 500)``. An exact integer, boolean or
  decimal value on any other attribute is compared both ways,
  ``(span.tier = 1 || span.tier = "1")``, since the attribute's type is not known.
  What cannot be said exactly: a regex on an integer attribute other than such an
  alternation (TraceQL matches regexes against strings only), a string-typed status code
  or port (it breaks the conventions; the int comparison misses it), and a float attribute
  holding a whole number (Tempo compares ints and floats as numbers, so 200.0 matches
  ``= 200``, where the matcher reads it as ``200.0``).
- **Enums.** ``kind`` and ``status`` are TraceQL keywords (``kind = server``); a matcher on
  them becomes the keywords it accepts.
- **Service.** A span without a ``service.name`` belongs to service ``unknown_service``
  (``Span.service_name``), whose condition also accepts a missing or empty name.

**Most specific first.** A pattern's exclusions (``app.discovery.exclusions``) become
negated conditions: ``span.url.full !~ "..."`` for a sibling that differs in one field
(siblings told apart by one field share one: ``!~ "(?:a)|(?:b)"``), ``(a != x || b != y)``
for one that differs in several; they are on fields the pattern's own conditions require,
so TraceQL's rule that ``!=`` and ``!~`` are false on a missing attribute never bites. A
value compared both ways (``x = 1`` or ``x = "1"``) is negated whole,
``!(span.x = 1 || span.x = "1")``.

Queries are as long as their matchers: a few hundred characters (matchers are short,
``app.discovery.normalize.ids``), so an Explore link stays well under the 8 KB a default
nginx in front of Grafana accepts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from app.discovery.operation import FieldType, Matcher, MatchType
from app.discovery.patterns import SpanPattern
from connectors.spans import SpanKind, StatusCode

INT_ATTRIBUTES = frozenset(
    {
        "http.status_code",
        "http.response.status_code",
        "rpc.grpc.status_code",
        "server.port",
        "client.port",
        "url.port",
        "network.peer.port",
        "network.local.port",
        "net.peer.port",
        "net.host.port",
        "net.sock.peer.port",
        "net.sock.host.port",
    }
)
"""Attributes OpenTelemetry semantic conventions type as int (Tempo reports
``span.http.response.status_code`` values as ``int``, see the recorded tag values)."""

QUANTILES = (0.5, 0.95, 0.99)
UNKNOWN_SERVICE = "unknown_service"

_KINDS = tuple(kind.label for kind in SpanKind)
_STATUSES = tuple(status.label for status in StatusCode)
_BARE_NAME = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")
_INT_TEXT = r"(?:\\-|-)?[0-9]+"
_INT_OPTIONS = re.compile(rf"{_INT_TEXT}(?:\|{_INT_TEXT})*")
_GROUPED_INT_OPTIONS = re.compile(
    rf"(?:(?<=\|)|(?<=\(\?:)|^)\(\?:({_INT_OPTIONS.pattern})\)(?=[|)]|$)"
)
"""A group holding a whole alternative: ``(?:404|500)`` in ``(?:404|500)|502``."""
_RE2_SPECIAL = frozenset("\\.+*?()|[]{}^$")


def traceql_for(pattern: SpanPattern) -> str:
    """The spanset filter that selects exactly the pattern's spans (see the module)."""
    return "{ " + " && ".join(_conditions(pattern)) + " }"


@dataclass(frozen=True)
class PatternMetricQueries:
    """TraceQL metrics queries over a pattern's spans, for ``/api/metrics/query_range``."""

    rate: str
    """Spans per second."""
    error_rate: str
    """Spans with status error per second."""
    latency: str
    """Duration quantiles (``QUANTILES``), one series each."""


def traceql_metrics_for(pattern: SpanPattern) -> PatternMetricQueries:
    conditions = _conditions(pattern)
    spans = "{ " + " && ".join(conditions) + " }"
    errors = "{ " + " && ".join([*conditions, "status = error"]) + " }"
    quantiles = ", ".join(f"{q:g}".removeprefix("0") for q in QUANTILES)
    return PatternMetricQueries(
        rate=f"{spans} | rate()",
        error_rate=f"{errors} | rate()",
        latency=f"{spans} | quantile_over_time(duration, {quantiles})",
    )


def grafana_explore_url(
    base_url: str,
    datasource_uid: str,
    query: str,
    start_s: int,
    end_s: int,
    *,
    limit: int = 20,
    org_id: int | None = None,
) -> str:
    """A Grafana (10 and later) Explore link that runs ``query`` in a Tempo data source
    over ``[start_s, end_s]`` (unix seconds), in the ``schemaVersion=1&panes=`` form."""
    if end_s <= start_s:
        raise ValueError(f"the time range ends ({end_s}) before it starts ({start_s})")
    pane = {
        "datasource": datasource_uid,
        "queries": [
            {
                "refId": "A",
                "datasource": {"type": "tempo", "uid": datasource_uid},
                "queryType": "traceql",
                "query": query,
                "limit": limit,
                "tableType": "traces",
            }
        ],
        "range": {"from": str(start_s * 1000), "to": str(end_s * 1000)},
    }
    parameters: dict[str, str | int] = {
        "schemaVersion": 1,
        "panes": json.dumps({"spanwise": pane}, separators=(",", ":"), ensure_ascii=False),
    }
    if org_id is not None:
        parameters["orgId"] = org_id
    return f"{base_url.rstrip('/')}/explore?{urlencode(parameters, quote_via=quote)}"


# --- conditions -------------------------------------------------------------------------------


def _conditions(pattern: SpanPattern) -> list[str]:
    if pattern.span_kind not in _KINDS:
        raise ValueError(f"pattern {pattern.name}: unknown span kind {pattern.span_kind!r}")
    return [
        _service_condition(pattern.service),
        f"kind = {pattern.span_kind}",
        *(_condition(matcher) for matcher in pattern.matchers),
        *_exclusions(pattern.exclusions),
    ]


def _exclusions(exclusions: tuple[tuple[Matcher, ...], ...]) -> list[str]:
    """The conditions that leave out more specific siblings; siblings told apart by one
    string field share one condition (``span.url.full !~ "(?:a|b)"``), which keeps a
    pattern with many siblings readable."""
    conditions: list[str] = []
    by_field: dict[tuple[FieldType, str], list[Matcher]] = {}
    for excluded in exclusions:
        (matcher, *others) = excluded
        if others or not _compared_as_text(matcher):
            conditions.append(_exclusion(excluded))
        else:
            by_field.setdefault((matcher.field_type, matcher.field_name), []).append(matcher)
    for matchers in by_field.values():
        if len(matchers) == 1:
            conditions.append(_exclusion((matchers[0],)))
            continue
        options = "|".join(_as_re2(matcher) for matcher in matchers)
        either = Matcher(matchers[0].field_type, matchers[0].field_name, MatchType.REGEX, options)
        conditions.append(_condition(either, negate=True))
    return conditions


def _compared_as_text(matcher: Matcher) -> bool:
    """Whether the matcher's condition is one string comparison (see the module: types)."""
    if matcher.field_type is FieldType.SPAN_FIELD:
        return matcher.field_name == "name"
    if matcher.field_name in INT_ATTRIBUTES:
        return False
    return matcher.match_type is not MatchType.EXACT or _typed_literal(matcher.match_value) is None


def _as_re2(matcher: Matcher) -> str:
    if matcher.match_type is MatchType.EXACT:
        return re2_quote(matcher.match_value)
    if matcher.match_type is MatchType.STARTS_WITH:
        return re2_quote(matcher.match_value) + ".*"
    return f"(?:{matcher.match_value})"


def _exclusion(matchers: tuple[Matcher, ...]) -> str:
    """Not all of ``matchers``: a more specific sibling's spans (``app.discovery.exclusions``).

    An exclusion is on fields the pattern's own matchers require, so a negated comparison
    never meets a missing attribute (where TraceQL's ``!=`` and ``!~`` are false)."""
    return _any_of([_condition(matcher, negate=True) for matcher in matchers])


def _service_condition(service: str) -> str:
    field = "resource.service.name"
    if service == UNKNOWN_SERVICE:
        return _any_of([f"{field} = {string_literal(service)}", f'{field} = ""', f"{field} = nil"])
    return f"{field} = {string_literal(service)}"


def _condition(matcher: Matcher, *, negate: bool = False) -> str:
    """The matcher as a condition, or (``negate``) as the condition that it fails."""
    equal = "!=" if negate else "="
    if matcher.field_type is FieldType.SPAN_FIELD:
        if matcher.field_name == "name":
            return _string_condition("name", matcher, negate)
        if matcher.field_name == "kind":
            return _enum_condition("kind", _KINDS, matcher, negate)
        if matcher.field_name == "status":
            return _enum_condition("status", _STATUSES, matcher, negate)
        raise ValueError(f"unknown span field {matcher.field_name!r}")
    scope = "span" if matcher.field_type is FieldType.SPAN_ATTRIBUTE else "resource"
    field = f"{scope}.{attribute_name(matcher.field_name)}"
    value = matcher.match_value
    if matcher.field_name in INT_ATTRIBUTES:
        if matcher.match_type is MatchType.EXACT and _INT.fullmatch(value):
            return f"{field} {equal} {value}"
        if matcher.match_type is MatchType.REGEX:
            options = _int_alternation(value)
            if options is not None:
                return _either([f"{field} {equal} {option}" for option in options], negate)
    elif matcher.match_type is MatchType.EXACT and _typed_literal(value) is not None:
        typed, text = _typed_literal(value), string_literal(value)
        either = f"({field} = {typed} || {field} = {text})"
        # Not (... != 1 && ... != "1"): one side always compares across types, which Tempo
        # reads as false. Tempo 2.10 negates a disjunction right (a lone ``!(x = 1)`` not).
        return f"!{either}" if negate else either
    return _string_condition(field, matcher, negate)


def _string_condition(field: str, matcher: Matcher, negate: bool = False) -> str:
    if matcher.match_type is MatchType.EXACT:
        return f"{field} {'!=' if negate else '='} {string_literal(matcher.match_value)}"
    match = "!~" if negate else "=~"
    if matcher.match_type is MatchType.STARTS_WITH:
        return f"{field} {match} {string_literal(re2_quote(matcher.match_value) + '.*')}"
    return f"{field} {match} {string_literal(matcher.match_value)}"


def _enum_condition(
    field: str, labels: tuple[str, ...], matcher: Matcher, negate: bool = False
) -> str:
    accepted = [label for label in labels if _accepts(matcher, label)]
    if not accepted:
        return "true" if negate else "false"
    return _either([f"{field} {'!=' if negate else '='} {label}" for label in accepted], negate)


def _either(conditions: list[str], negate: bool) -> str:
    """Any of ``conditions``; when they are negated comparisons, all of them (De Morgan)."""
    if not negate or len(conditions) == 1:
        return _any_of(conditions)
    return "(" + " && ".join(conditions) + ")"


def _accepts(matcher: Matcher, value: str) -> bool:
    if matcher.match_type is MatchType.EXACT:
        return value == matcher.match_value
    if matcher.match_type is MatchType.STARTS_WITH:
        return value.startswith(matcher.match_value)
    return re.fullmatch(matcher.match_value, value, re.DOTALL | re.ASCII) is not None


def _any_of(conditions: list[str]) -> str:
    return conditions[0] if len(conditions) == 1 else "(" + " || ".join(conditions) + ")"


def _typed_literal(value: str) -> str | None:
    """The TraceQL int, boolean or float literal an attribute of another type would need
    to read as ``value``, when there is one (``str(1.5) == "1.5"``). A whole float such as
    ``2.0`` has none: Tempo compares numbers as numbers, so ``= 2.0`` would match int 2,
    which reads as ``2``."""
    if value in ("true", "false") or _INT.fullmatch(value):
        return value
    if _DECIMAL.fullmatch(value) and str(float(value)) == value:
        return None if float(value).is_integer() else value
    return None


def _int_alternation(expression: str) -> list[str] | None:
    """The integers a regex such as ``(?:404)|(?:500)`` accepts, when it accepts only
    those: integers, alternation and groups that hold a whole alternative, as merging
    patterns writes them (``app.discovery.overrides.merged_matchers``)."""
    flattened, previous = expression, ""
    while flattened != previous:
        previous, flattened = flattened, _GROUPED_INT_OPTIONS.sub(r"\1", flattened)
    if not _INT_OPTIONS.fullmatch(flattened):
        return None
    numbers = [option.replace("\\", "") for option in flattened.split("|")]
    if not all(_INT.fullmatch(number) for number in numbers):
        return None
    return list(dict.fromkeys(numbers))


# --- lexical ----------------------------------------------------------------------------------


def string_literal(value: str) -> str:
    """``value`` as a TraceQL (Go) double-quoted string literal."""
    out = ['"']
    for char in value:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char < " " or char == "\x7f":
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def attribute_name(name: str) -> str:
    """An attribute name as it follows ``span.`` or ``resource.``: bare or quoted."""
    if _BARE_NAME.fullmatch(name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def re2_quote(text: str) -> str:
    """``text`` as an RE2 expression matching it literally (Go's ``regexp.QuoteMeta``,
    which Python's ``re`` reads the same way)."""
    return "".join("\\" + char if char in _RE2_SPECIAL else char for char in text)
