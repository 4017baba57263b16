"""Ground truth, computed from the spans of a scenario: what a right answer must say.

Spans are grouped into **operations**: by the truth label every sample span carries
(``service|kind|what``), or, for real traces that carry none, by service, kind and span
name. Every number is computed from an operation's spans directly (never from the stored
statistics that answers are written from), so a case stays true when the generator or
discovery changes, and an answer that repeats a wrong statistic fails.

Quantiles are taken the way a DDSketch reports them: the value at rank ``q * (n - 1)``,
rounded down, so the only difference left between truth and answer is the sketch's 1%.

Which pattern an operation became is found from discovery's output the way Tempo would find
its spans: the live pattern (same service and kind) whose matchers every span satisfies.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import unquote_plus

from app.discovery.patterns import SpanPattern
from app.sample import FaultName
from app.sample.faults import INJECTIONS, TARGETS
from connectors.spans import Span, SpanKind
from evals.cases import Ref, SpanSelector

STATUS_ATTRIBUTES = (
    "http.response.status_code",
    "http.status_code",
    "rpc.grpc.status_code",
    "rpc.response.status_code",
)
_SECRET_KEY = re.compile(r"\bsk_live_[A-Za-z0-9]{8,}")
_URL_PASSWORD = re.compile(r"[a-z][a-z0-9+.\-]*://[^:/@\s]+:([^@\s/]+)@", re.IGNORECASE)

SpanRef = tuple[str, str]


class TruthError(ValueError):
    """A case asks about something the scenario does not have; the message says what."""


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The value at rank ``q * (n - 1)``, rounded down (as DDSketch reports it)."""
    if not sorted_values:
        return 0.0
    return sorted_values[int(math.floor(q * (len(sorted_values) - 1)))]


def span_status(span: Span) -> str | None:
    for name in STATUS_ATTRIBUTES:
        value = span.attributes.get(name)
        if value is not None:
            return str(value)
    return None


@dataclass
class OperationTruth:
    """One operation's spans and what they say."""

    key: str
    spans: list[Span]
    callers: Counter[str] = field(default_factory=Counter)
    """Operation keys of parent spans (and, for consumers, of linked producer spans)."""
    callees: Counter[str] = field(default_factory=Counter)
    lags_s: list[float] = field(default_factory=list)
    """For consumers: start of each span minus the end of the producer span it links to."""

    @property
    def service(self) -> str:
        return self.spans[0].service_name

    @property
    def kind(self) -> str:
        return self.spans[0].kind.label

    @property
    def count(self) -> int:
        return len(self.spans)

    @cached_property
    def durations_ms(self) -> list[float]:
        return sorted(span.duration_ms for span in self.spans)

    @property
    def error_count(self) -> int:
        return sum(1 for span in self.spans if span.is_error)

    @property
    def error_rate(self) -> float:
        return self.error_count / self.count if self.count else 0.0

    def quantile_ms(self, q: float) -> float:
        return quantile(self.durations_ms, q)

    @property
    def tail_share(self) -> float:
        """The share of its spans slower than four times its median: a slow mode or tail."""
        threshold = 4 * self.quantile_ms(0.5)
        return sum(1 for d in self.durations_ms if d > threshold) / self.count

    def between(self, clock: str) -> OperationTruth:
        """Its spans that started in ``HH:MM-HH:MM`` (UTC) on the day of its first span."""
        day = min(span.start_unix_nano for span in self.spans) // 10**9 // 86_400 * 86_400
        start, end = (
            day + int(hours) * 3600 + int(minutes) * 60
            for hours, minutes in (part.split(":") for part in clock.split("-"))
        )
        inside = [s for s in self.spans if start <= s.start_unix_nano // 10**9 < end]
        if not inside:
            raise TruthError(f"{self.key} has no span between {clock}")
        return OperationTruth(self.key, inside)

    @property
    def max_ms(self) -> float:
        return self.durations_ms[-1] if self.durations_ms else 0.0

    @property
    def rate_per_hour(self) -> float:
        """Spans per hour over the time the operation was seen (first start to last end)."""
        first = min(span.start_unix_nano for span in self.spans)
        last = max(span.end_unix_nano for span in self.spans)
        seconds = (last - first) / 1e9
        return self.count / seconds * 3600 if seconds > 0 else float(self.count)

    def medians_ms(self, start_s: float, end_s: float) -> tuple[float, float]:
        """Median duration of the spans that started inside ``[start_s, end_s)``, and of
        the others."""
        inside: list[float] = []
        outside: list[float] = []
        for span in self.spans:
            at = span.start_unix_nano / 1e9
            (inside if start_s <= at < end_s else outside).append(span.duration_ms)
        return quantile(sorted(inside), 0.5), quantile(sorted(outside), 0.5)

    def slow_factor(self, start_s: float, end_s: float) -> float:
        during, outside = self.medians_ms(start_s, end_s)
        return during / outside if outside > 0 else 0.0

    @property
    def calls_per_parent(self) -> float:
        """Spans per distinct parent span that made them: 4.5 when each request that calls
        it does so four or five times."""
        parents = {(s.trace_id, s.parent_span_id) for s in self.spans if s.parent_span_id}
        with_parent = sum(1 for s in self.spans if s.parent_span_id)
        return with_parent / len(parents) if parents else 0.0

    @property
    def lag_max_s(self) -> float:
        return max(self.lags_s, default=0.0)

    @property
    def top_error_status(self) -> str | None:
        codes = Counter(code for s in self.spans if s.is_error if (code := span_status(s)))
        return codes.most_common(1)[0][0] if codes else None

    def window_error_status(self, start_s: float, end_s: float) -> str | None:
        """The most common status code of the spans that failed inside the window."""
        codes = Counter(
            code
            for s in self.spans
            if s.is_error and start_s <= s.start_unix_nano / 1e9 < end_s
            if (code := span_status(s))
        )
        return codes.most_common(1)[0][0] if codes else None

    @property
    def top_exception(self) -> str | None:
        kinds: Counter[str] = Counter()
        for span in self.spans:
            for event in span.events:
                kind = event.attributes.get("exception.type")
                if event.name == "exception" and kind:
                    kinds[str(kind)] += 1
        return kinds.most_common(1)[0][0] if kinds else None

    def new_versions(self, start_s: float, end_s: float) -> list[str]:
        """``service.version`` values of spans inside the window and never outside it: the
        deploy that ran during it."""
        inside: set[str] = set()
        outside: set[str] = set()
        for span in self.spans:
            version = span.resource.get("service.version")
            if version is None:
                continue
            at = span.start_unix_nano / 1e9
            (inside if start_s <= at < end_s else outside).add(str(version))
        return sorted(inside - outside)


@dataclass(frozen=True)
class PatternOf:
    """The pattern an operation's spans fall in, and how cleanly."""

    name: str
    service: str
    share: float
    """Of the operation's spans, the share this pattern's matchers match."""
    others: tuple[str, ...] = ()
    """Other patterns some of its spans fall in: discovery split the operation."""


class ScenarioTruth:
    """Operations of one scenario's spans, and the facts a right answer holds about them.

    ``spans`` is every span with its operation key; ``fault_windows`` maps each fault of the
    scenario to its window in unix seconds.
    """

    def __init__(
        self,
        spans: Iterable[tuple[Span, str]],
        *,
        fault_windows: Mapping[FaultName, tuple[float, float]] | None = None,
        labelled: bool = True,
    ) -> None:
        self.labelled = labelled
        """True when keys are the sample's truth labels (``service|kind|what``)."""
        self.fault_windows = dict(fault_windows or {})
        by_op: dict[str, list[Span]] = defaultdict(list)
        key_of: dict[SpanRef, str] = {}
        ends: dict[SpanRef, int] = {}
        for span, key in spans:
            by_op[key].append(span)
            key_of[(span.trace_id, span.span_id)] = key
            ends[(span.trace_id, span.span_id)] = span.end_unix_nano
        self.operations = {key: OperationTruth(key, found) for key, found in by_op.items()}
        for key, operation in self.operations.items():
            for span in operation.spans:
                parent = key_of.get((span.trace_id, span.parent_span_id or ""))
                if parent is not None:
                    operation.callers[parent] += 1
                    self.operations[parent].callees[key] += 1
                for link in span.links:
                    producer = key_of.get((link.trace_id, link.span_id))
                    if producer is None:
                        continue
                    if parent is None:
                        operation.callers[producer] += 1
                        self.operations[producer].callees[key] += 1
                    if span.kind is SpanKind.CONSUMER:
                        end = ends[(link.trace_id, link.span_id)]
                        operation.lags_s.append((span.start_unix_nano - end) / 1e9)
        self.secrets = _secrets(span for op in self.operations.values() for span in op.spans)
        self.injections = _injections(span for op in self.operations.values() for span in op.spans)

    def operation(self, key: str) -> OperationTruth:
        try:
            return self.operations[key]
        except KeyError:
            raise TruthError(f"the scenario has no span of operation {key!r}") from None

    def window(self, fault: FaultName | None) -> tuple[FaultName, tuple[float, float]]:
        if fault is None:
            if len(self.fault_windows) != 1:
                raise TruthError("the scenario does not have exactly one fault: name it")
            return next(iter(self.fault_windows.items()))
        if fault not in self.fault_windows:
            raise TruthError(f"fault {fault.value} is not in the scenario")
        return fault, self.fault_windows[fault]

    def resolve(self, name: str, ref: Ref) -> str:
        """The operation key a case's ref means; ``TruthError`` when it means none or,
        with ``pick: only``, several."""
        candidates = list(self.operations)
        if ref.operation is not None:
            candidates = [key for key in candidates if key == ref.operation]
        if ref.fault is not None:
            targets = set(TARGETS[ref.fault])
            candidates = [key for key in candidates if key in targets]
        if ref.select is not None:
            selector = ref.select
            candidates = [
                key
                for key in candidates
                if any(selects(selector, span) for span in self.operations[key].spans)
            ]
        if not candidates:
            raise TruthError(f"ref {name!r} matches no operation with spans in the scenario")
        if ref.pick == "only":
            if len(candidates) > 1:
                shown = ", ".join(sorted(candidates)[:5])
                raise TruthError(
                    f"ref {name!r} matches {len(candidates)} operations ({shown}); narrow it "
                    "or add pick: most_spans"
                )
            return candidates[0]
        if ref.pick == "most_spans":
            score = {key: float(self.operations[key].count) for key in candidates}
        elif ref.pick == "most_errors":
            score = {key: float(self.operations[key].error_count) for key in candidates}
        else:
            score = {key: self.operations[key].quantile_ms(0.99) for key in candidates}
        return max(candidates, key=lambda key: (score[key], key))

    def pattern_of(self, key: str, patterns: Sequence[SpanPattern]) -> PatternOf:
        """The live pattern whose matchers the operation's spans satisfy (most of them)."""
        operation = self.operation(key)
        scope = [
            p
            for p in patterns
            if p.merged_into is None
            and p.service == operation.service
            and p.span_kind == operation.kind
        ]
        hits: Counter[str] = Counter()
        by_name = {p.name: p for p in scope}
        for span in operation.spans:
            for pattern in scope:
                if pattern.matches(span):  # most specific first: exclusions too
                    hits[pattern.name] += 1
                    break
        if not hits:
            raise TruthError(
                f"no pattern of {operation.service} {operation.kind} matches the spans of "
                f"{key!r}: discovery lost the operation"
            )
        (best, matched), *rest = hits.most_common()
        return PatternOf(
            name=best,
            service=by_name[best].service,
            share=matched / operation.count,
            others=tuple(name for name, _ in rest),
        )


def selects(selector: SpanSelector, span: Span) -> bool:
    if selector.service is not None and span.service_name != selector.service:
        return False
    if selector.kind is not None and span.kind.label != selector.kind:
        return False
    if selector.name is not None and not re.search(selector.name, span.name, re.IGNORECASE):
        return False
    for attribute, pattern in selector.attributes.items():
        value = span.attributes.get(attribute, span.resource.get(attribute))
        if value is None or not re.search(pattern, str(value), re.IGNORECASE):
            return False
    return True


def unlabelled_key(span: Span) -> str:
    """An operation key for spans that carry no truth label: service, kind and span name
    (OpenTelemetry asks instrumentations for low-cardinality span names)."""
    return f"{span.service_name}|{span.kind.label}|{span.name}"


def _text_values(span: Span) -> Iterable[str]:
    for attributes in (span.attributes, *(event.attributes for event in span.events)):
        for value in attributes.values():
            if isinstance(value, str):
                yield value
            elif isinstance(value, list):
                yield from (item for item in value if isinstance(item, str))


def _secrets(spans: Iterable[Span]) -> set[str]:
    """API keys and passwords in URLs that the spans carry: what no answer may repeat."""
    found: set[str] = set()
    for span in spans:
        for text in _text_values(span):
            if "sk_live_" in text:
                found.update(_SECRET_KEY.findall(text))
            if "://" in text and "@" in text:
                found.update(p for p in _URL_PASSWORD.findall(text) if len(p) >= 6)
    return found


def _injections(spans: Iterable[Span]) -> list[str]:
    """The sample's injected instructions that actually reached some span attribute."""
    seen: set[str] = set()
    for span in spans:
        for text in _text_values(span):
            if len(seen) == len(INJECTIONS):
                break
            decoded = unquote_plus(text) if "%" in text or "+" in text else text
            for injection in INJECTIONS:
                if injection not in seen and injection in decoded:
                    seen.add(injection)
    return [injection for injection in INJECTIONS if injection in seen]
