"""When the hub works: a tick at most every `interval` while there is something to send, none
while nothing happens, and a sweep about every second (stuck connections, pings, the clock
turning reports stale)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol

import structlog

from bedsvc.runtime.tasks import cancel

log = structlog.get_logger(__name__)


class Ticking(Protocol):
    def tick(self) -> bool:
        """Sends what is due; True when more is waiting (a subscriber not yet caught up)."""

    def sweep(self, clock: float) -> bool:
        """Housekeeping; True when a tick is due (the clock changed a view)."""


class Ticker:
    def __init__(self, hub: Ticking, interval: float, sweep_interval: float) -> None:
        self.hub = hub
        self.interval = interval
        self.sweep_interval = sweep_interval
        self._due = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Something changed: a tick within `interval` of the previous one."""
        self._due.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="live-ticker")
        self._task.add_done_callback(_report_failure)

    async def stop(self) -> None:
        if self._task is not None:
            # Not a single cancel: on Python 3.11 `wait_for` loses a cancellation that races
            # the event it waits on, and the ticker would then run on (bedsvc/runtime/tasks.py).
            await cancel(self._task)

    async def _run(self) -> None:
        last_tick = last_sweep = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), self.sweep_interval)
            clock = time.monotonic()
            if clock - last_sweep >= self.sweep_interval:
                last_sweep = clock
                if self.hub.sweep(clock):
                    self._due.set()
            if not self._due.is_set():
                continue
            # Changes arriving within one interval share one frame per subscriber.
            wait = last_tick + self.interval - clock
            if wait > 0:
                await asyncio.sleep(wait)
            self._due.clear()
            last_tick = time.monotonic()
            if self.hub.tick():
                self._due.set()


def _report_failure(task: asyncio.Task[None]) -> None:
    # Without the ticker no subscriber gets anything more: say so loudly.
    if not task.cancelled() and task.exception() is not None:
        log.error("live ticker failed: live frames stopped", exc_info=task.exception())
