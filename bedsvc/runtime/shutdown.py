"""Graceful stop of a worker: live streams end as soon as the stop is asked for.

granian, on SIGTERM (or SIGINT), stops accepting connections and waits for the open ones to
finish before it runs the app's shutdown, so in-flight pushes complete. Live streams never
finish by themselves: without this, the worker would sit on them until granian kills it
(`workers_kill_timeout`), and clients would see a dropped connection instead of a close.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def on_stop_signal(callback: Callable[[], None]) -> Callable[[], None]:
    """Runs `callback` on the running loop when a stop signal arrives; the server's own
    handling of the signal goes on as before. Returns a function that undoes this.

    The event loop learns of signals through the wakeup fd that Python's C handler writes to
    whatever Python-level handler is set, so a handler here does not take the signal away
    from the loop's (granian's) own. Call from the main thread, where signals are handled.
    """
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def handler(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(callback)
        chained = previous[signal.Signals(signum)]
        if callable(chained):
            chained(signum, frame)

    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, chained in previous.items():
            signal.signal(sig, chained)

    return restore
