"""The memory behind "replayed" and "already handled": bounded in size and in time."""

from __future__ import annotations

from app.slack.guards import RecentKeys


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_key_is_new_once_within_its_time() -> None:
    clock = Clock()
    seen = RecentKeys(capacity=10, ttl_s=300, clock=clock)
    assert seen.add("Ev1") and not seen.add("Ev1")
    clock.now = 299
    assert not seen.add("Ev1")
    clock.now = 301
    assert seen.add("Ev1")  # forgotten: older than its time


def test_memory_stays_within_its_capacity_forgetting_the_oldest() -> None:
    seen = RecentKeys(capacity=100, ttl_s=3600, clock=Clock())
    for number in range(1000):
        assert seen.add(f"Ev{number}")
        assert len(seen) <= 100
    assert not seen.add("Ev999") and seen.add("Ev0")
