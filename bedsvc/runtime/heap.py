"""The cyclic garbage collector in a long-running process."""

from __future__ import annotations

import gc

# An HTTP worker's pushes allocate many short-lived objects (requests, reports, rows, states):
# with the collector's first generation at 10,000 objects rather than 700, and start-up
# frozen, a push cost the workers 3 to 6 % less CPU (docs/performance.md, ingest).
WORKER_YOUNG_THRESHOLD = 10_000


def settle_heap(young_threshold: int | None = None) -> None:
    """Takes what start-up built (modules, every hospital's state and encoded views) out of
    the cyclic garbage collector's work: it lives as long as the process, yet every full
    collection would walk it again (docs/performance.md, live). With `young_threshold`, the
    first generation is collected after that many new objects instead of the default."""
    gc.collect()
    gc.freeze()
    if young_threshold is not None:
        _, middle, old = gc.get_threshold()
        gc.set_threshold(young_threshold, middle, old)
