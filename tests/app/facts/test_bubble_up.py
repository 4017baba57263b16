"""'Why is it slow?' names what the slow spans share, on the sample system, against the truth.

The deploy_latency_shift fault rolls checkout 1.43.0 out part-way through, and makes
GET /v1/orders/{orderId} about 250 ms slower on it. Its slow spans should be mostly on
1.43.0, far more than its spans overall: the facts must say so with shares close to those
the generated spans themselves give, computed exactly over every span.
"""

from __future__ import annotations

import statistics

import pytest

from app.discovery.attribute_profile import MIN_SPANS
from app.discovery.patterns import SpanPattern
from app.discovery.run import discover_sample
from app.discovery.store import PatternStore
from app.facts.pattern_facts import pattern_facts
from app.facts.render import answer_text
from app.sample import SampleConfig, faults_by_name, generate_traces
from app.sample import topology as tp
from app.sample.faults import DEPLOY_VERSION

SEED, TRACES = 42, 3000
FAULTS = faults_by_name(["deploy_latency_shift"])


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> SpanPattern:
    store = PatternStore(tmp_path_factory.mktemp("bubble") / "patterns.sqlite")
    discover_sample(store, SEED, TRACES, FAULTS)
    patterns = store.load()  # through the store: the profile is saved and read back
    store.close()
    return next(
        p for p in patterns if p.service == "checkout" and p.operation.endswith("{orderId}")
    )


def truth() -> tuple[float, float]:
    """Of the orders route's spans after its first 20: the share on the new version among
    the slow ones (slower than the p90 of the route's spans before them), and among all.

    "Slow" as the profile defines it: against what was usual until then, which is what
    tells a deploy that made things slower.
    """
    spans = sorted(
        (
            span
            for trace in generate_traces(SampleConfig(seed=SEED, traces=TRACES, faults=FAULTS))
            for span in trace.spans
            if trace.truth[span.span_id] == tp.CO_ORDER.label
        ),
        key=lambda span: span.start_unix_nano,
    )
    before: list[float] = []
    slow = slow_on_new = counted = on_new = 0
    for span in spans:
        if len(before) >= MIN_SPANS:
            p90 = statistics.quantiles(before, n=10, method="inclusive")[-1]
            new = span.resource.get("service.version") == DEPLOY_VERSION
            counted += 1
            on_new += new
            if span.duration_ms > p90:
                slow += 1
                slow_on_new += new
        before.append(span.duration_ms)
    return slow_on_new / slow, on_new / counted


def test_the_new_version_is_what_the_slow_spans_share(orders: SpanPattern) -> None:
    facts = pattern_facts(orders, {orders.id: orders})
    skews = {(s.attribute, s.value): s for s in facts.slow_attributes}
    skew = skews[("service.version", DEPLOY_VERSION)]
    slow_share, overall = truth()
    assert slow_share - overall > 0.25  # the truth: the fault does show in the version
    # A profile of a sample of spans, slow measured against the p90 as it stood: close.
    assert abs(skew.slow_share - slow_share) < 0.1, (skew, slow_share)
    assert abs(skew.overall_share - overall) < 0.1, (skew, overall)
    answer = answer_text("why is this slow?", facts)
    assert f"service.version={DEPLOY_VERSION} on {skew.slow_share:.0%}" in answer
    document = facts.as_dict()["slow_attributes"]
    assert isinstance(document, list) and document[0]["value"] == DEPLOY_VERSION


def test_a_route_the_deploy_did_not_touch_has_nothing_to_share(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    store = PatternStore(tmp_path_factory.mktemp("calm") / "patterns.sqlite")
    discover_sample(store, SEED, TRACES, FAULTS)
    for pattern in store.load():
        if pattern.service == "checkout" and pattern.span_kind == "server":
            versions = {s.attribute for s in pattern_facts(pattern, {}).slow_attributes}
            if not pattern.operation.endswith("{orderId}"):
                assert "service.version" not in versions, pattern.operation
    store.close()
