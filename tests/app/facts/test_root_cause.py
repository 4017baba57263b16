"""Where a change started: on every fault the sample system injects, the faulty service is
ranked first; on steady traffic nothing is beyond chance."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.chat.service import ChatService
from app.classify.run import live_patterns
from app.cli.main import cli
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.facts.activity import ActivityIndex
from app.facts.root_cause import RootCauses, root_causes
from app.sample import faults_by_name
from app.sample.faults import TARGETS, FaultName

END_NS = 1_795_274_715_000_000_000
SPREAD_S = 900.0
FAULTS = [name for name in FaultName if name is not FaultName.PROMPT_INJECTION]


def _store(directory: Path, seed: int, faults: tuple[str, ...]) -> PatternStore:
    store = PatternStore(directory / "patterns.sqlite")
    discover_sample(store, seed, 1500, faults_by_name(list(faults)))
    return store


def _ranked(store: PatternStore, window: tuple[int, int]) -> RootCauses:
    every = store.load()
    live = [p for p in live_patterns(every) if p.stats.count]
    seen = (
        min(p.stats.first_seen_unix_nano for p in live) // 10**9,
        max(p.stats.last_seen_unix_nano for p in live) // 10**9 + 1,
    )
    index = ActivityIndex(store.load_activity(), seen)
    start, end = window
    reference = (max(2 * start - end, seen[0]), start)
    return root_causes(index, {p.id: p for p in every}, start, end, reference)


@pytest.fixture(scope="module", params=FAULTS, ids=lambda name: name.value)
def faulty(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    name: FaultName = request.param
    store = _store(tmp_path_factory.mktemp(name.value), 42, (name.value,))
    (fault,) = faults_by_name([name.value])
    window = tuple(moment // 10**9 for moment in fault.window_ns(END_NS, SPREAD_S))
    result = _ranked(store, window)  # type: ignore[arg-type]
    store.close()
    return name, result


def test_the_faulty_service_is_ranked_first_beyond_chance(faulty: tuple) -> None:
    name, result = faulty
    truth = {label.split("|")[0] for label in TARGETS[name]}
    assert result.ranked, f"{name.value}: nothing ranked"
    first = result.ranked[0]
    assert first.service in truth, [(r.service, r.changes[0].why()) for r in result.ranked[:3]]
    assert first.sure
    kind = first.changes[0].kind
    expected = {
        FaultName.N_PLUS_ONE: ("repeated calls", "new traffic"),  # one query per item is new
        FaultName.KAFKA_CONSUMER_LAG: ("consumer lag",),
        FaultName.NOISY_HEALTH_CHECK: ("new traffic",),
        FaultName.PROVIDER_5XX_BURST: ("errors",),
        FaultName.CACHE_TIMEOUT_STORM: ("errors",),
        FaultName.SLOW_QUERY: ("latency",),
        FaultName.DEPLOY_LATENCY_SHIFT: ("latency",),
        FaultName.NETWORK_DELAY: ("network",),  # blamed on the callee, not on its callers
    }[name]
    assert kind in expected
    assert result.baseline  # the median-rise baseline is computed beside it


def test_errors_passed_up_are_not_a_cause(tmp_path: Path) -> None:
    """The provider burst's errors pass up from payment to checkout and frontend."""
    store = _store(tmp_path, 42, (FaultName.PROVIDER_5XX_BURST.value,))
    (fault,) = faults_by_name([FaultName.PROVIDER_5XX_BURST.value])
    window = tuple(moment // 10**9 for moment in fault.window_ns(END_NS, SPREAD_S))
    result = _ranked(store, window)  # type: ignore[arg-type]
    store.close()
    services = [rank.service for rank in result.ranked if rank.sure]
    assert services[0] == "payment"
    assert not any(
        change.kind == "errors" and change.service in ("checkout", "frontend")
        for rank in result.ranked
        if rank.sure
        for change in rank.changes
    )


@pytest.mark.parametrize("seed", [42, 7])
def test_on_steady_traffic_nothing_is_beyond_chance(tmp_path: Path, seed: int) -> None:
    store = _store(tmp_path, seed, ())
    begin = END_NS // 10**9 - int(SPREAD_S)
    for start, end in ((0.5, 0.7), (0.6, 0.75), (0.7, 1.0)):
        window = (begin + int(start * SPREAD_S), begin + int(end * SPREAD_S))
        result = _ranked(store, window)
        assert not any(rank.sure for rank in result.ranked), [
            r.changes[0].why() for r in result.ranked
        ]
    store.close()


def test_chat_and_the_cli_answer_where_it_started(tmp_path: Path) -> None:
    store = _store(tmp_path, 42, ("deploy_latency_shift",))
    service = ChatService(store, clock=lambda: 1_796_680_800)
    answer = service.ask("which service is behind the latency between 15:19 and 15:25?")
    assert "1. checkout: @" in answer.answer and "got slower on its own" in answer.answer
    assert answer.citations[0]["service"] == "checkout"
    assert answer.facts[0]["kind"] == "root_cause"
    compared = service.ask("root cause between 15:19 and 15:25 compared with 15:10 to 15:16")
    assert "against 2026-11-21 15:10–15:16 UTC" in compared.answer
    assert "1. checkout" in compared.answer
    store.close()

    runner = CliRunner()
    shown = runner.invoke(
        cli, ["--data-dir", str(tmp_path), "rca", "--start", "15:19", "--end", "15:25", "--json"]
    )
    assert shown.exit_code == 0, shown.output
    assert '"service": "checkout"' in shown.output.split('"ranked"')[1][:200]
    wrong = runner.invoke(
        cli, ["--data-dir", str(tmp_path), "rca", "--start", "15:25", "--end", "15:19"]
    )
    assert wrong.exit_code == 2 and "ends before it starts" in wrong.output
