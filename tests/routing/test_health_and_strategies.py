"""Circuit breaker and strategies, with a controllable clock and random source."""

from __future__ import annotations

import random

from llm_router.errors import UpstreamAuthFailed, UpstreamBadRequest, UpstreamServerError
from llm_router.routing.health import HealthBoard
from llm_router.routing.strategies import LoadStats


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_circuit_opens_after_k_failures_then_half_opens_for_one_probe():
    clock = Clock()
    board = HealthBoard(failures_to_open=3, base_cooldown=5, max_cooldown=60, clock=clock)
    for _ in range(2):
        board.failure("a", UpstreamServerError("x"), can_eject=True)
        assert board.admits("a")
    board.failure("a", UpstreamServerError("x"), can_eject=True)
    assert board.state("a") == "open" and not board.admits("a")
    clock.now += 5
    assert board.state("a") == "half_open"
    assert board.admits("a")
    board.begin("a")
    assert not board.admits("a"), "one probe at a time"
    board.failure("a", UpstreamServerError("x"), can_eject=True)
    assert board.state("a") == "open"
    clock.now += 5
    assert board.state("a") == "open", "the cooldown grows: 10 s now"
    clock.now += 5
    assert board.admits("a")
    board.success("a")
    assert board.state("a") == "closed" and board.admits("a")


def test_last_healthy_deployment_is_never_ejected():
    board = HealthBoard(failures_to_open=1)
    for _ in range(10):
        board.failure("a", UpstreamServerError("x"), can_eject=False)
    assert board.state("a") == "closed" and board.admits("a")


def test_bad_key_ejects_at_once_and_bad_request_never_counts():
    board = HealthBoard(failures_to_open=3)
    for _ in range(5):
        board.failure("a", UpstreamBadRequest("too long"), can_eject=True)
    assert board.state("a") == "closed"
    board.failure("a", UpstreamAuthFailed("bad key"), can_eject=True)
    assert board.state("a") == "open"


def test_weighted_order_follows_weights():
    stats = LoadStats(rng=random.Random(7))
    firsts = [stats.order("weighted", ["a", "b"], [3, 1])[0] for _ in range(4000)]
    share = firsts.count("a") / len(firsts)
    assert 0.72 < share < 0.78
    assert sorted(stats.order("weighted", ["a", "b", "c"], [1, 1, 1])) == ["a", "b", "c"]


def test_least_latency_measures_everyone_then_prefers_the_fastest():
    stats = LoadStats(explore=0.0)
    assert stats.order("least-latency", ["a", "b"], [1, 1]) == ["a", "b"]
    stats.record_latency("a", 0.5)
    assert stats.order("least-latency", ["a", "b"], [1, 1])[0] == "b", "b is unmeasured"
    stats.record_latency("b", 0.1)
    assert stats.order("least-latency", ["a", "b"], [1, 1]) == ["b", "a"]
    for _ in range(20):
        stats.record_latency("b", 2.0)
    assert stats.order("least-latency", ["a", "b"], [1, 1]) == ["a", "b"]


def test_least_latency_explores_sometimes():
    stats = LoadStats(explore=0.5, rng=random.Random(1))
    stats.record_latency("a", 0.1)
    stats.record_latency("b", 0.9)
    firsts = {stats.order("least-latency", ["a", "b"], [1, 1])[0] for _ in range(50)}
    assert firsts == {"a", "b"}


def test_least_busy_prefers_fewest_in_flight():
    stats = LoadStats()
    stats.in_flight.update({"a": 3, "b": 1, "c": 2})
    assert stats.order("least-busy", ["a", "b", "c"], [1, 1, 1]) == ["b", "c", "a"]
