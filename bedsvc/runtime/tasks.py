"""Background tasks that outlive a failing dependency but never their own cancellation."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


def raise_if_cancelled() -> None:
    """redis-py turns a cancellation during connect into a ConnectionError; a loop that
    retries on connection errors would then outlive its own cancellation."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def cancel(task: asyncio.Task[Any]) -> None:
    """Cancels a background loop and waits for it to end.

    Cancels again while it runs on: on Python 3.11 a cancellation that races an
    `asyncio.timeout` inside redis-py can be swallowed, and a single cancel would then hang.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=0.1)
    with contextlib.suppress(asyncio.CancelledError):
        await task
