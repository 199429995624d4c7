"""When cached public documents go out of date without any change: the stale threshold.

A ward is stale once its last report is older than the threshold; a class or hospital is stale
when all its wards are. So for one version (one set of wards) every `stale` flag of every
document follows from which wards are stale, and since wards only ever become stale as time
passes, the number of stale wards identifies that set. Counted per hospital, it joins the
version in the ETag, and a cached document stays valid until the next ward crosses the
threshold. Every worker counts the same for the same version at the same time.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from bedsvc.store.states import HospitalState

NEVER = datetime.max.replace(tzinfo=UTC)
# The cheap per-request check uses the float clock; looking a little early lets it stay a
# float comparison while the exact decision is taken on datetimes.
_EARLY = 0.001


class Staleness:
    def __init__(self, stale_after: timedelta) -> None:
        self.stale_after = stale_after
        self.counts: dict[str, int] = {}
        self.total = 0
        self._next: dict[str, datetime] = {}
        # The same transitions as a heap, so that a change finds the next one without looking
        # at every hospital; an entry `_next` no longer holds is dropped when it comes up.
        self._queue: list[tuple[datetime, str]] = []
        self.next_transition = NEVER
        self._check_at = float("inf")
        # Hospitals whose count the clock changed (in `catch_up`), for the live frames.
        self.turned: set[str] = set()

    def _measure(self, state: HospitalState, now: datetime) -> tuple[int, datetime]:
        stale, upcoming = 0, NEVER
        for ward in state.wards:
            transition = ward.reported_at + self.stale_after
            if now > transition:
                stale += 1
            elif transition < upcoming:
                upcoming = transition
        return stale, upcoming

    def _set(self, code: str, state: HospitalState | None, now: datetime) -> None:
        self.total -= self.counts.pop(code, 0)
        self._next.pop(code, None)
        if state is None:
            return
        count, upcoming = self._measure(state, now)
        self.counts[code] = count
        self.total += count
        if upcoming is not NEVER:
            self._next[code] = upcoming
            heapq.heappush(self._queue, (upcoming, code))

    def _schedule(self) -> None:
        queue, upcoming = self._queue, self._next
        if len(queue) > 2 * len(upcoming) + 64:
            # Mostly dropped entries: start again from what holds.
            queue[:] = [(at, code) for code, at in upcoming.items()]
            heapq.heapify(queue)
        while queue and upcoming.get(queue[0][1]) != queue[0][0]:
            heapq.heappop(queue)
        self.next_transition = queue[0][0] if queue else NEVER
        self._check_at = (
            float("inf")
            if self.next_transition is NEVER
            else self.next_transition.timestamp() - _EARLY
        )

    def reset(self, states: Iterable[HospitalState], now: datetime) -> None:
        self.turned.clear()
        self.counts.clear()
        self._next.clear()
        self._queue.clear()
        self.total = 0
        for state in states:
            self._set(state.code, state, now)
        self._schedule()

    def update(
        self, codes: Iterable[str], states: Mapping[str, HospitalState], now: datetime
    ) -> None:
        """Recounts these hospitals as `states` has them (absent: no longer listed)."""
        for code in codes:
            self._set(code, states.get(code), now)
        self._schedule()

    def due(self) -> bool:
        """Whether a ward may have crossed the threshold since the last count (cheap)."""
        return time.time() >= self._check_at

    def catch_up(self, states: Mapping[str, HospitalState], now: datetime) -> bool:
        """Recounts the hospitals whose wards crossed the threshold by `now`; True if any did."""
        if now <= self.next_transition:
            return False
        for code in [code for code, upcoming in self._next.items() if now > upcoming]:
            before = self.counts.get(code)
            self._set(code, states.get(code), now)
            if self.counts.get(code) != before:
                self.turned.add(code)
        self._schedule()
        return True
