"""The adaptive limiter, on a simulated clock (no real waiting)."""

from __future__ import annotations

import pytest

from square_bi.extract.ratelimit import AdaptiveRateLimiter


class SimulatedTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def sim() -> SimulatedTime:
    return SimulatedTime()


def limiter(sim: SimulatedTime) -> AdaptiveRateLimiter:
    return AdaptiveRateLimiter(clock=sim.clock, sleep=sim.sleep, min_rps=0.5, increase_rps=0.2)


async def test_requests_are_not_paced_until_square_refuses_one(sim: SimulatedTime) -> None:
    rl = limiter(sim)
    for _ in range(50):
        await rl.acquire()
    assert sim.now == 0.0


async def test_a_429_halves_the_rate_actually_being_sent_and_paces_requests(sim: SimulatedTime) -> None:
    rl = limiter(sim)
    for _ in range(20):  # 20 requests in the 2 s window: 10 rps observed
        await rl.acquire()
    rl.on_rate_limited()
    assert rl.rate == pytest.approx(5.0)
    before = sim.now
    for _ in range(10):
        await rl.acquire()
    assert sim.now - before == pytest.approx(10 / 5.0, rel=0.01)


async def test_retry_after_pauses_every_request(sim: SimulatedTime) -> None:
    rl = limiter(sim)
    await rl.acquire()
    rl.on_rate_limited(retry_after_s=3.0)
    await rl.acquire()
    assert sim.now >= 3.0


async def test_successes_raise_the_rate_but_stay_below_the_refused_pace(sim: SimulatedTime) -> None:
    rl = limiter(sim)
    for _ in range(20):
        await rl.acquire()
    rl.on_rate_limited()
    for _ in range(1000):
        rl.on_success()
    assert rl.rate is not None and rl.ceiling is not None
    assert rl.rate == pytest.approx(rl.ceiling * 0.9)


async def test_repeated_429s_never_push_the_rate_below_the_minimum(sim: SimulatedTime) -> None:
    rl = limiter(sim)
    for _ in range(30):
        rl.on_rate_limited()
        sim.now += 3.0  # each a congestion of its own
    assert rl.rate == pytest.approx(0.5)


async def test_the_429s_of_one_burst_slow_the_pace_once(sim: SimulatedTime) -> None:
    rl = limiter(sim)
    for _ in range(20):  # 10 rps observed
        await rl.acquire()
    for _ in range(6):  # the burst's other requests, refused too, answered just after the first
        rl.on_rate_limited()
        sim.now += 0.1
    assert rl.rate == pytest.approx(5.0)
    assert rl.ceiling == pytest.approx(10.0)
    sim.now += 2.5
    rl.on_rate_limited()  # refused again well after the slow-down: a new congestion
    assert rl.rate == pytest.approx(2.5)


async def test_retry_after_pauses_every_request_even_within_one_burst(sim: SimulatedTime) -> None:
    rl = limiter(sim)
    await rl.acquire()
    rl.on_rate_limited()
    rl.on_rate_limited(retry_after_s=4.0)
    await rl.acquire()
    assert sim.now >= 4.0
