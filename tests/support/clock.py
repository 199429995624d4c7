"""A clock a test sets, for rules that count per minute: no test waits for the next minute."""

from __future__ import annotations

import time

from litestar import Litestar

from bedsvc.ratelimit.middleware import RateLimits


class StoppedClock:
    """Stands at the first second of the current minute until moved."""

    def __init__(self) -> None:
        now = time.time()
        self.now = now - now % 60 + 1

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def stop_rate_limit_clock(app: Litestar, clock: StoppedClock | None = None) -> StoppedClock:
    """The rate limits of a started app count on a stopped clock (`clock`, to share one
    between apps): every request of the test falls in one window, however long it takes."""
    clock = clock or StoppedClock()
    limits: RateLimits = app.state.rate_limits
    limits.counter.clock = clock
    return clock
