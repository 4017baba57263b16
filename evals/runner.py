"""Running cases: each scenario built once, each conversation asked as a user asks it, each
answer scored by the deterministic checks and, when one is configured, the judge.

A case whose refs the scenario cannot satisfy, or whose chat turn raises, is reported as an
error with the reason: it counts as not passed, and the report says why.
"""

from __future__ import annotations

import hashlib
import importlib
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from app.chat.model_answer import TEMPLATE as ANSWER_TEMPLATE
from app.chat.service import ChatService
from app.settings import Settings
from evals.cases import EvalCase, Ref, ScriptStep
from evals.judge import Exchange, Judge
from evals.pricing import Price, price_of
from evals.questions import render_question
from evals.report import (
    CaseResult,
    CaseRun,
    Report,
    ScenarioSummary,
    Tokens,
    TurnResult,
    Versions,
    summarize,
)
from evals.scenario import BuiltScenario, Scenarios
from evals.scoring import AnswerView, CheckResult, Subject, TurnContext, score_turn
from evals.truth import PatternOf
from prompts import prompt_environment, template_version

OFFLINE = "offline"
OFFLINE_ANSWER_PACKAGES = ("app.chat", "app.facts")
"""The code that answers when no model is configured: the hash of every module of these
packages versions offline answers, so that a change anywhere in them shows in ``compare``."""

Progress = Callable[[str, int, int], None]
"""``(what is running, case runs done, case runs in all)``."""


@dataclass(frozen=True)
class RunOptions:
    model: str | None = None
    """The chat model under evaluation; None: offline."""
    judge: Judge | None = None
    repeat: int = 1
    answer_price: Price | None = None
    judge_price: Price | None = None


def offline_answer_version() -> str:
    digest = hashlib.sha256()
    for name in OFFLINE_ANSWER_PACKAGES:
        package = importlib.import_module(name)
        folder = Path(str(package.__file__)).parent
        for source in sorted(folder.glob("*.py")):
            digest.update(source.name.encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


def answer_system_prompt() -> str:
    """The system part of the answer prompt, which no answer may print."""
    module = (
        prompt_environment()
        .get_template(ANSWER_TEMPLATE)
        .make_module({"question": "", "history": [], "facts": [], "unresolved": []})
    )
    return str(module.system()).strip()  # type: ignore[attr-defined]  # a macro


def cases_version(cases: Sequence[EvalCase]) -> str:
    digest = hashlib.sha256()
    for case in sorted(cases, key=lambda c: c.id):
        digest.update(case.id.encode())
        digest.update(case.path.read_bytes() if case.path.is_file() else b"")
    return digest.hexdigest()[:12]


def run_cases(
    cases: Sequence[EvalCase],
    settings: Settings,
    options: RunOptions,
    *,
    cases_glob: Sequence[str] = (),
    tags: Sequence[str] = (),
    on_progress: Progress | None = None,
    work_dir: Path | None = None,
) -> Report:
    """Run every case ``options.repeat`` times and report. Scenarios are built in
    ``work_dir`` (a temporary directory, removed afterwards, when None)."""
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    system_prompt = answer_system_prompt()
    total = len(cases) * options.repeat
    with tempfile.TemporaryDirectory(prefix="spanwise-eval-") as temporary:
        scenarios = Scenarios(settings, work_dir or Path(temporary), model=options.model)
        results: list[CaseResult] = []
        done = 0
        try:
            for case in cases:
                if on_progress is not None:
                    on_progress(case.id, done, total)
                runs = _run_case(case, scenarios, options, system_prompt, on_progress, done, total)
                done += len(runs)
                results.append(
                    CaseResult(
                        id=case.id,
                        description=case.description,
                        tags=list(case.tags),
                        file=str(case.path),
                        scenario=case.scenario.key,
                        runs=runs,
                    )
                )
            if on_progress is not None:
                on_progress("done", done, total)
            built = scenarios.built()
        finally:
            scenarios.close()
    summaries = [_scenario_summary(b, options) for b in built]
    first = built[0].classify_usage if built else None
    answerer = next((b.answerer for b in built if b.answerer is not None), None)
    versions = Versions(
        spanwise=metadata.version("spanwise"),
        answer_model=answerer.model if answerer else OFFLINE,
        answer_prompt=(
            template_version(ANSWER_TEMPLATE) if answerer else f"offline-{offline_answer_version()}"
        ),
        offline_answer_code=offline_answer_version(),
        classify_model=first.model if first else OFFLINE,
        classify_prompt=first.prompt_version if first else "",
        judge_model=options.judge.model if options.judge else None,
        judge_prompt=options.judge.prompt_version if options.judge else None,
        cases=cases_version(cases),
    )
    return Report(
        started_at=started_at,
        seconds=round(time.perf_counter() - started, 3),
        repeat=options.repeat,
        cases_glob=list(cases_glob),
        tags=list(tags),
        versions=versions,
        summary=summarize(results, summaries),
        scenarios=summaries,
        cases=results,
    )


def _scenario_summary(built: BuiltScenario, options: RunOptions) -> ScenarioSummary:
    usage = built.classify_usage
    tokens = Tokens(prompt=usage.prompt_tokens, completion=usage.completion_tokens)
    cost: float | None = 0.0
    if tokens.total:
        cost = (
            options.answer_price.cost_usd(tokens.prompt, tokens.completion)
            if options.answer_price
            else None
        )
    return ScenarioSummary(
        key=built.key,
        spans=built.spans,
        patterns=len(built.patterns),
        seconds=round(built.seconds, 3),
        classify_tokens=tokens,
        classify_cost_usd=cost,
        problems=list(built.problems),
    )


def _run_case(
    case: EvalCase,
    scenarios: Scenarios,
    options: RunOptions,
    system_prompt: str,
    on_progress: Progress | None,
    done: int,
    total: int,
) -> list[CaseRun]:
    try:
        built = scenarios.get(case)
        subjects = {name: _subject(built, name, ref) for name, ref in case.refs.items()}
        questions = [
            render_question(turn.ask, {n: s.pattern for n, s in subjects.items()})
            for turn in case.turns
        ]
    except Exception as exc:  # a scenario that cannot be built fails its cases, not the run
        error = f"{type(exc).__name__}: {exc}"
        return [CaseRun(run=n, passed=False, error=error) for n in range(1, options.repeat + 1)]
    runs = []
    for number in range(1, options.repeat + 1):
        if on_progress is not None and number > 1:
            on_progress(f"{case.id} ({number}/{options.repeat})", done + number - 1, total)
        runs.append(_run_once(case, number, built, subjects, questions, options, system_prompt))
    return runs


def _subject(built: BuiltScenario, name: str, ref: Ref) -> Subject:
    key = built.truth.resolve(name, ref)
    return Subject(name, built.truth.operation(key), built.pattern_of(key))


def _run_once(
    case: EvalCase,
    number: int,
    built: BuiltScenario,
    subjects: dict[str, Subject],
    questions: list[str],
    options: RunOptions,
    system_prompt: str,
) -> CaseRun:
    conversation: str | None = None
    turns: list[TurnResult] = []
    history: list[Exchange] = []
    error: str | None = None
    for turn, question in zip(case.turns, questions, strict=True):
        if built.answerer is not None:
            built.answerer.last_usage = {}
        chat = built.chat
        if turn.script:
            chat = scripted_chat(built, turn.script, {n: s.pattern for n, s in subjects.items()})
        asked = time.perf_counter()
        try:
            answer = chat.ask(question, conversation)
        except Exception as exc:  # a crash is a finding: report it and go on
            error = f"the chat failed on {question!r}: {type(exc).__name__}: {exc}"
            break
        latency_ms = (time.perf_counter() - asked) * 1000
        conversation = answer.conversation_id
        usage = built.answerer.last_usage if built.answerer is not None else {}
        view = AnswerView.of(answer)
        context = TurnContext(
            question=question,
            answer=view,
            subjects=subjects,
            truth=built.truth,
            pattern_of=built.pattern_of,
            known_names=built.known_names,
            live_names=built.live_names,
            verdicts=built.verdicts,
            system_prompt=system_prompt,
        )
        checks = score_turn(turn.expect, context)
        judge_tokens = Tokens()
        if options.judge is not None:
            check, judge_tokens = _judged(
                options.judge, question, view.text, checks, turn.expect.judge, history
            )
            checks.append(check)
        history.append(Exchange(question, view.text))
        turns.append(
            TurnResult(
                question=question,
                answer=answer.answer,
                mode=answer.mode,
                latency_ms=round(latency_ms, 2),
                cited=list(view.cited),
                tokens=Tokens(
                    prompt=usage.get("prompt_tokens", 0),
                    completion=usage.get("completion_tokens", 0),
                ),
                judge_tokens=judge_tokens,
                checks=checks,
            )
        )
    tokens, judge_tokens = Tokens(), Tokens()
    for result in turns:
        tokens += result.tokens
        judge_tokens += result.judge_tokens
    return CaseRun(
        run=number,
        passed=error is None and all(t.passed for t in turns),
        error=error,
        turns=turns,
        tokens=tokens,
        judge_tokens=judge_tokens,
        cost_usd=_cost(tokens, options.answer_price, judge_tokens, options.judge_price),
    )


def scripted_chat(
    built: BuiltScenario, script: Sequence[ScriptStep], patterns: dict[str, PatternOf]
) -> ChatService:
    """The scenario's chat, answered by a scripted model through the tools (``{ref}`` in
    the script's arguments and words filled in)."""
    from app.chat.model_answer import ModelAnswerer
    from evals.scripted import ScriptedChatModel

    def filled(value: object) -> object:
        if isinstance(value, str):
            return render_question(value, patterns)
        if isinstance(value, list):
            return [filled(item) for item in value]
        if isinstance(value, dict):
            return {key: filled(item) for key, item in value.items()}
        return value

    steps = [
        {"tool": step.tool, "args": filled(step.args)}
        if step.tool is not None
        else {"say": filled(step.say)}
        for step in script
    ]
    answerer = ModelAnswerer(ScriptedChatModel(steps=steps), model="scripted")
    return ChatService(built.store, answerer=answerer)


def _cost(
    tokens: Tokens, price: Price | None, judge_tokens: Tokens, judge_price: Price | None
) -> float | None:
    cost = 0.0
    for used, priced in ((tokens, price), (judge_tokens, judge_price)):
        if used.total == 0:
            continue
        if priced is None:
            return None
        cost += priced.cost_usd(used.prompt, used.completion)
    return cost


def _judged(
    judge: Judge,
    question: str,
    answer: str,
    checks: list[CheckResult],
    rubric: str | None,
    history: list[Exchange],
) -> tuple[CheckResult, Tokens]:
    expected = [check.expected for check in checks if check.expected and check.status != "error"]
    if rubric:
        expected.append(rubric)
    verdict = judge.judge(question, answer, expected, history)
    tokens = Tokens(prompt=verdict.prompt_tokens, completion=verdict.completion_tokens)
    if verdict.correct is None:
        return CheckResult(name="judge", status="error", detail=verdict.error or ""), tokens
    return (
        CheckResult(
            name="judge",
            status="pass" if verdict.correct else "fail",
            detail=verdict.reasoning,
            expected="; ".join(expected),
        ),
        tokens,
    )


def prices(
    model: str | None, judge: Judge | None, override: Price | None
) -> tuple[Price | None, Price | None]:
    """The answer model's price (``override`` first) and the judge's."""
    answer = override or (price_of(model) if model else None)
    return answer, price_of(judge.model) if judge else None
