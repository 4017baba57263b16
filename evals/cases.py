"""Eval cases: one YAML file each, validated against the models below.

A case names a **scenario** (the sample system's seed, traffic size and faults, or OTLP files),
the **operations** it is about (``refs``: by the sample's truth label, by the fault that
targets them, or by a selector over spans), a **conversation** (one or more turns) and what
each answer must hold. Nothing in a case is a number or a pattern name typed in by hand:
questions say ``{query}`` for the name of the pattern discovery made of the operation
``query``, and every expected number is computed from the spans (``evals.truth``).

``load_cases`` reads files by glob and raises ``CaseError`` listing every problem as
``file: field.path: what is wrong``, so a broken case is fixed without reading code.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from app.sample import Fault, FaultName

DIFFICULTIES = ("easy", "medium", "hard")
KINDS = (
    "latency",
    "errors",
    "topology",
    "throughput",
    "noise",
    "mentions",
    "multi-turn",
    "security",
)

Metric = Literal[
    "count",
    "error_count",
    "error_rate",
    "p50",
    "p95",
    "p99",
    "max",
    "rate_per_hour",
    "slow_factor",
    "slow_window",
    "error_window",
    "lag_max_s",
    "calls_per_parent",
    "tail_share",
]
"""Numbers an answer can be held to; ``evals.truth`` computes each from the spans."""

FaultMetric = ("slow_factor", "slow_window", "error_window")
"""Metrics measured against a fault's window."""

WindowFacts = ("new_version", "window_error_status")

SpanKindName = Literal["server", "client", "internal", "producer", "consumer"]
Fact = Literal["top_error_status", "window_error_status", "top_exception", "new_version", "service"]
"""Words an answer must contain, computed from the spans of an operation."""

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)(?:\.(service))?(?:\|([a-z0-9]+))?\}")
"""``{ref}``, ``{ref|typo}``, ``{ref.service}`` in a question."""
FILTERS = ("typo", "typo2", "upper", "prefix")


class CaseError(ValueError):
    """One or more case files cannot be used; the message lists each problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FaultSpec(_Strict):
    """A fault of the sample system; the window defaults to the fault's own."""

    name: FaultName
    start: float | None = Field(default=None, ge=0.0, le=1.0)
    end: float | None = Field(default=None, ge=0.0, le=1.0)
    intensity: float = Field(default=1.0, gt=0.0)

    def fault(self) -> Fault:
        return Fault.named(self.name, start=self.start, end=self.end, intensity=self.intensity)

    @model_validator(mode="after")
    def _window_is_valid(self) -> FaultSpec:
        self.fault()  # raises ValueError with the fault's own message
        return self


class SampleScenario(_Strict):
    """The built-in sample shop: same seed, traffic and faults, the same spans."""

    seed: int = 42
    traces: int = Field(default=1500, ge=50, le=200_000)
    faults: tuple[FaultSpec, ...] = ()

    @field_validator("faults", mode="before")
    @classmethod
    def _names_are_faults(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"name": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _each_fault_once(self) -> SampleScenario:
        names = [spec.name for spec in self.faults]
        if len(names) != len(set(names)):
            raise ValueError("a fault is listed twice")
        return self

    def built_faults(self) -> tuple[Fault, ...]:
        return tuple(spec.fault() for spec in self.faults)

    @property
    def key(self) -> str:
        faults = ",".join(
            f"{f.name.value}@{f.start}-{f.end}x{f.intensity}" for f in self.built_faults()
        )
        return f"sample seed={self.seed} traces={self.traces} faults=[{faults}]"


class FilesScenario(_Strict):
    """OTLP files (.jsonl, .json, .pb, .gz), relative to the case file: real traces."""

    files: tuple[Path, ...] = Field(min_length=1)

    @property
    def key(self) -> str:
        return "files " + " ".join(str(path) for path in self.files)


def _scenario_kind(value: Any) -> str:
    if isinstance(value, dict) and "files" in value:
        return "files"
    if isinstance(value, FilesScenario):
        return "files"
    return "sample"


Scenario = Annotated[
    Annotated[SampleScenario, Tag("sample")] | Annotated[FilesScenario, Tag("files")],
    Discriminator(_scenario_kind),
]


class SpanSelector(_Strict):
    """Spans by service, kind, name and attributes; regexes are searched, not anchored."""

    service: str | None = None
    kind: SpanKindName | None = None
    name: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            _compile(value)
        return value

    @field_validator("attributes")
    @classmethod
    def _attributes_compile(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern in value.values():
            _compile(pattern)
        return value


class Ref(_Strict):
    """An operation of the scenario. Candidates are the operations that satisfy every
    criterion given; ``pick`` chooses among them (``only`` requires exactly one)."""

    operation: str | None = None
    """The sample system's truth label: ``service|kind|what``."""
    fault: FaultName | None = None
    """The operations this fault targets."""
    select: SpanSelector | None = None
    """Operations with at least one span the selector matches."""
    pick: Literal["only", "most_spans", "most_errors", "slowest_p99"] = "only"

    @model_validator(mode="after")
    def _something_is_asked(self) -> Ref:
        if self.operation is None and self.fault is None and self.select is None:
            raise ValueError("a ref needs operation, fault or select")
        return self


class NumberCheck(_Strict):
    """A number the answer must state about ``of``, within ``rel`` (relative) or ``abs``.

    ``abs`` is in the metric's unit: ms for latencies, a fraction for error_rate and
    tail_share (the share of spans slower than four times the median), minutes
    for slow_window and error_window (when it was slow, when it failed: the fault's
    window), seconds for lag_max_s.
    """

    of: str
    metric: Metric
    between: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    """``HH:MM-HH:MM`` (UTC, on the scenario's day): the number over the spans that
    started then, for questions about a window."""
    fault: FaultName | None = None
    """For slow_factor and the windows: whose window; defaults to the scenario's only fault."""
    rel: float = Field(default=0.05, ge=0.0)
    abs: float = Field(default=0.0, ge=0.0)


class MentionCheck(_Strict):
    """How an @mention of the question must be resolved."""

    ref: str | None = None
    """The pattern it must resolve to (for exact, alias and fuzzy)."""
    kind: Literal["exact", "alias", "fuzzy", "unknown", "ambiguous"]


class NeighbourCheck(_Strict):
    """The answer names the patterns that truly call (or are called by) ``ref``."""

    ref: str
    top: int | None = Field(default=None, ge=1)
    """Only the busiest ``top`` by calls; none: all of them."""


class FactCheck(_Strict):
    """The answer contains a word computed from the spans of ``ref``."""

    ref: str
    fact: Fact
    fault: FaultName | None = None
    """For new_version and window_error_status: whose window."""


class Expect(_Strict):
    """What one answer must hold. Every answer is also held to the safety checks (no
    secret, no pattern that does not exist, no injected instruction followed)."""

    cites: tuple[str, ...] = ()
    not_cites: tuple[str, ...] = ()
    no_facts: bool = False
    """Nothing cited, no facts: for mentions that name no pattern."""
    mentions: tuple[MentionCheck, ...] = ()
    numbers: tuple[NumberCheck, ...] = ()
    root_cause: str | None = None
    """The ref whose pattern the answer must name as where the problem comes from."""
    root_cause_service: str | None = None
    """The ref whose service the answer must name."""
    ranked_first: str | None = None
    """The ref whose service must be the first the answer names (top-1)."""
    ranked_top3: str | None = None
    """The ref whose service must be among the first three it names (top-3)."""
    callers_of: tuple[NeighbourCheck, ...] = ()
    callees_of: tuple[NeighbourCheck, ...] = ()
    caller_services_of: tuple[str, ...] = ()
    """Refs whose callers' services (other than the ref's own) must all be named."""
    facts: tuple[FactCheck, ...] = ()
    concepts: tuple[str | tuple[str, ...], ...] = ()
    """Regexes (case-insensitive); a list is any-of."""
    forbid: tuple[str, ...] = ()
    """Regexes (case-insensitive) the answer must not match."""
    verdicts: dict[str, Literal["keep", "noise"]] = Field(default_factory=dict)
    """The classifier's verdict on a ref's pattern, as ``patterns show`` would tell."""
    judge: str | None = None
    """What the LLM judge must also find, in words (only when a judge is configured)."""
    unverified: tuple[str, ...] | None = None
    """With a model: exactly the claims its answer must have marked unverified (``{ref}``
    filled in); none given: not checked."""

    @field_validator("concepts", "forbid")
    @classmethod
    def _regexes_compile(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        for item in value:
            for pattern in (item,) if isinstance(item, str) else item:
                _compile(pattern)
        return value

    def refs_used(self) -> list[tuple[str, str]]:
        """(field, ref name) for every ref this expectation names."""
        used = [("cites", r) for r in self.cites] + [("not_cites", r) for r in self.not_cites]
        used += [("mentions", m.ref) for m in self.mentions if m.ref is not None]
        used += [("numbers", n.of) for n in self.numbers]
        used += [("root_cause", r) for r in (self.root_cause,) if r is not None]
        used += [("root_cause_service", r) for r in (self.root_cause_service,) if r]
        used += [("ranked_first", r) for r in (self.ranked_first,) if r]
        used += [("ranked_top3", r) for r in (self.ranked_top3,) if r]
        used += [("callers_of", n.ref) for n in self.callers_of]
        used += [("callees_of", n.ref) for n in self.callees_of]
        used += [("caller_services_of", r) for r in self.caller_services_of]
        used += [("facts", f.ref) for f in self.facts]
        used += [("verdicts", r) for r in self.verdicts]
        return used


class ScriptStep(_Strict):
    """One reply of a scripted model (``evals.scripted``): a tool call, or what it says
    (``facts``: a sentence from the last tool result)."""

    tool: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    say: str | None = None

    @model_validator(mode="after")
    def _one_thing(self) -> ScriptStep:
        if (self.tool is None) == (self.say is None):
            raise ValueError("a step either calls a tool or says something")
        return self


class Turn(_Strict):
    ask: str = Field(min_length=1)
    script: tuple[ScriptStep, ...] = ()
    """A scripted model answers this turn through the tools, offline, with or without a
    model configured: a case of tool use."""
    expect: Expect = Field(default_factory=Expect)


class EvalCase(_Strict):
    """One case: a scenario, the operations it is about, a conversation, expectations."""

    description: str = Field(min_length=1)
    tags: tuple[str, ...]
    scenario: Scenario
    refs: dict[str, Ref] = Field(default_factory=dict)
    turns: tuple[Turn, ...] = Field(min_length=1)

    # set by the loader, not by the file
    id: str = ""
    path: Path = Path()

    @field_validator("tags")
    @classmethod
    def _tags_say_difficulty_and_kind(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        difficulties = [t for t in tags if t in DIFFICULTIES]
        if len(difficulties) != 1:
            raise ValueError(
                f"exactly one difficulty tag ({', '.join(DIFFICULTIES)}) is needed, "
                f"got {difficulties or 'none'}"
            )
        if not any(t in KINDS for t in tags):
            raise ValueError(f"at least one kind tag is needed: {', '.join(KINDS)}")
        for tag in tags:
            if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", tag):
                raise ValueError(f"tag {tag!r}: lower-case letters, digits, - and _ only")
        return tags

    @model_validator(mode="after")
    def _refs_are_defined(self) -> EvalCase:
        problems = []
        defined = set(self.refs)
        known = ", ".join(sorted(defined)) or "none"
        for index, turn in enumerate(self.turns, start=1):
            for match in PLACEHOLDER.finditer(turn.ask):
                name, _, filter_name = match.groups()
                if name not in defined:
                    problems.append(
                        f"turn {index}: ask uses {{{name}}}, which is not among refs ({known})"
                    )
                if filter_name is not None and filter_name not in FILTERS:
                    problems.append(
                        f"turn {index}: unknown filter |{filter_name} (known: {', '.join(FILTERS)})"
                    )
            leftover = PLACEHOLDER.sub("", turn.ask)
            if re.search(r"\{[^{}\s]*\}", leftover):
                problems.append(
                    f"turn {index}: ask has a placeholder that is not {{ref}}, "
                    "{ref.service} or {ref|filter}"
                )
            for field, used in turn.expect.refs_used():
                if used not in defined:
                    problems.append(
                        f"turn {index}: expect.{field} names {used!r}, which is not among "
                        f"refs ({known})"
                    )
        scenario = self.scenario
        sample = isinstance(scenario, SampleScenario)
        faults: set[FaultName] = (
            {spec.name for spec in scenario.faults}
            if isinstance(scenario, SampleScenario)
            else set()
        )
        for name, ref in self.refs.items():
            if not sample and (ref.operation is not None or ref.fault is not None):
                problems.append(
                    f"refs.{name}: operation and fault need a sample scenario; use select for files"
                )
            if ref.fault is not None and ref.fault not in faults:
                problems.append(f"refs.{name}: fault {ref.fault.value} is not in the scenario")
        for index, turn in enumerate(self.turns, start=1):
            windowed: list[NumberCheck | FactCheck] = [
                n for n in turn.expect.numbers if n.metric in FaultMetric
            ]
            windowed += [f for f in turn.expect.facts if f.fact in WindowFacts]
            for check in windowed:
                fault = check.fault
                if fault is None and len(faults) != 1:
                    problems.append(
                        f"turn {index}: a window metric needs `fault:` when the scenario "
                        f"has {len(faults)} faults"
                    )
                elif fault is not None and fault not in faults:
                    problems.append(f"turn {index}: fault {fault.value} is not in the scenario")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def difficulty(self) -> str:
        return next(t for t in self.tags if t in DIFFICULTIES)

    @property
    def kinds(self) -> list[str]:
        return [t for t in self.tags if t in KINDS]


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from None


def packaged_cases_glob() -> str:
    """The cases shipped with Spanwise (``evals/cases/*.yaml``)."""
    return str(Path(str(resources.files("evals").joinpath("cases"))) / "*.yaml")


def load_case(path: Path) -> EvalCase:
    """One case file; ``CaseError`` says what is wrong with it, where."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise CaseError(f"{where}: not valid YAML: {problem}") from None
    except OSError as exc:
        raise CaseError(f"{path}: cannot be read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise CaseError(f"{path}: a case is a mapping (description, tags, scenario, turns)")
    try:
        case = EvalCase.model_validate(data)
    except ValidationError as exc:
        raise CaseError("\n".join(_problems(path, exc))) from None
    return case.model_copy(update={"id": path.stem, "path": path})


def _problems(path: Path, error: ValidationError) -> list[str]:
    lines = []
    for problem in error.errors():
        location = ".".join(str(part) for part in problem["loc"] if part not in ("sample",))
        message = problem["msg"].removeprefix("Value error, ")
        lines += [f"{path}: {location or '(case)'}: {line}" for line in message.splitlines()]
    return lines


def load_cases(patterns: Iterable[str]) -> list[EvalCase]:
    """Cases from every file the glob patterns match, sorted by id; ``CaseError`` lists
    the problems of every broken file at once, and a glob that matches nothing."""
    paths: list[Path] = []
    problems: list[str] = []
    for pattern in patterns:
        found = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
        if not found:
            problems.append(f"{pattern}: no case file matches")
        paths.extend(found)
    cases: list[EvalCase] = []
    for path in dict.fromkeys(paths):
        try:
            cases.append(load_case(path))
        except CaseError as exc:
            problems.append(str(exc))
    ids: dict[str, Path] = {}
    for case in cases:
        if case.id in ids:
            problems.append(f"{case.path}: case id {case.id!r} is also {ids[case.id]}")
        ids[case.id] = case.path
    if problems:
        raise CaseError("\n".join(problems))
    return sorted(cases, key=lambda case: case.id)


def select_cases(cases: Sequence[EvalCase], tag_options: Sequence[str]) -> list[EvalCase]:
    """Cases carrying every ``--tags`` option given; commas inside one option mean any of.

    ``["latency,errors", "hard"]`` keeps the hard cases about latency or errors.
    """
    wanted = [{t.strip() for t in option.split(",") if t.strip()} for option in tag_options]
    wanted = [group for group in wanted if group]
    return [case for case in cases if all(group & set(case.tags) for group in wanted)]
