"""Adaptive pacing shared by every request of a sync (additive increase, multiplicative decrease).

Square publishes no rate limits; users report 429s around six requests per second. So we start
unthrottled, and the first ``429 RATE_LIMITED`` sets a pace of half the rate we were actually
sending at. A 429 that arrives within ``window_s`` of that slow-down answers a request sent before
it (a burst has several in flight) and changes nothing; a later one halves the pace again (never
below ``min_rps``). Every success adds ``increase_rps`` back, up to just below the slowest pace
Square has refused. A ``Retry-After`` pauses all requests, not only the one refused.

(Counting every 429 of one burst once each halved the pace five times and lowered the ceiling with
it: a sync against an 8 requests/s limit then crawled at 2 requests/s to the end.)
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable


class AdaptiveRateLimiter:
    def __init__(
        self,
        *,
        min_rps: float = 0.5,
        increase_rps: float = 0.2,
        window_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate: float | None = None
        """Requests per second allowed now; None means no pacing (nothing refused yet)."""
        self.ceiling: float | None = None
        """The lowest pace at which Square refused us: increases stop just below it."""
        self.min_rps = min_rps
        self.increase_rps = increase_rps
        self.window_s = window_s
        self.clock = clock
        self.sleep = sleep
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._slowed_at: float | None = None
        self._recent: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for this request's slot."""
        async with self._lock:
            now = self.clock()
            start = max(now, self._paused_until)
            if self.rate is not None:
                start = max(start, self._next_slot)
                self._next_slot = start + 1.0 / self.rate
            self._recent.append(start)
        if start > now:
            await self.sleep(start - now)

    def on_success(self) -> None:
        if self.rate is None:
            return
        target = self.rate + self.increase_rps
        if self.ceiling is not None:
            target = min(target, self.ceiling * 0.9)
        self.rate = max(self.rate, target)

    def on_rate_limited(self, retry_after_s: float | None = None) -> None:
        now = self.clock()
        if retry_after_s is not None:
            self._paused_until = max(self._paused_until, now + retry_after_s)
        if self._slowed_at is not None and now - self._slowed_at < self.window_s:
            return  # a request sent before the last slow-down: the same congestion
        self._slowed_at = now
        sending = self._observed_rps(now)
        current = self.rate if self.rate is not None else sending
        self.ceiling = current if self.ceiling is None else min(self.ceiling, current)
        self.rate = max(self.min_rps, current / 2)
        self._next_slot = max(self._next_slot, now + 1.0 / self.rate)

    def _observed_rps(self, now: float) -> float:
        while self._recent and self._recent[0] < now - self.window_s:
            self._recent.popleft()
        return max(self.min_rps, len(self._recent) / self.window_s)
