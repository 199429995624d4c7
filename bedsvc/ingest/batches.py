"""Writes the reports of pushes that arrive together with one statement and one commit, and
hands their hospitals' states to the cache in one round trip.

Measured (docs/performance.md): a push's round trips to PostgreSQL and Redis cost the worker
more CPU than the rest of the push, and PostgreSQL pays for each statement and commit again.
So each worker queues its pushes' reports. While fewer than `concurrency` batches are being
written, a new one starts at once with what is queued by then, so a push that comes alone
waits for no other; each batch, once written, takes what queued meanwhile, up to `max_batch`
reports.

Nothing one hospital does holds up another's report (rule 9 of the design):

- a batch holds at most one report per hospital, and a report waits while an earlier one of
  its hospital is being written here, so a hospital's reports are written in the order they
  came;
- write_reports leaves out a hospital whose row another transaction holds, and an unknown
  one: those reports are written alone, each in its own task (write_report), so only that
  hospital's report waits for its lock, and an unknown hospital is answered as before;
- a batch that fails as a whole is written again one report at a time, so that whatever went
  wrong is answered to the pushes it concerns, as the single write answers it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
import structlog

from bedsvc.errors import BedsvcError
from bedsvc.ingest.schemas import OccupancyReport, WardReport
from bedsvc.ingest.write import Written, apply_report, outcome, refusal, state_after
from bedsvc.ops.metrics import observe_report_batch
from bedsvc.state.cache import HospitalAt
from bedsvc.state.sync import DATABASE_ERRORS, CacheSync
from bedsvc.store import Queries

log = structlog.get_logger(__name__)


class _Report(msgspec.Struct):
    """One report as write_reports reads it (sql/queries/occupancy.sql)."""

    hospital_code: str
    reported_at: datetime
    key_id: str | None
    username: str | None
    wards: list[WardReport]


@dataclass(slots=True)
class _Queued:
    code: str
    report: OccupancyReport
    key_id: str | None
    username: str | None
    answer: asyncio.Future[Written]


class ReportWriter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        queries: Queries,
        sync: CacheSync,
        *,
        max_open_wards: int,
        max_batch: int,
        concurrency: int,
    ) -> None:
        self.pool = pool
        self.queries = queries
        self.sync = sync
        self.max_open_wards = max_open_wards
        self.max_batch = max_batch
        self.concurrency = concurrency
        self._queue: deque[_Queued] = deque()
        self._batches = 0
        # Hospitals with a report being written here: their next report waits.
        self._writing: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def write(
        self,
        code: str,
        report: OccupancyReport,
        *,
        key_id: str | None = None,
        username: str | None = None,
    ) -> Written:
        """`apply_report` (without `only_open`): returns once the report is committed and its
        state handed to the cache, or raises what apply_report raises."""
        answer: asyncio.Future[Written] = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(code, report, key_id, username, answer))
        self._start_batches()
        return await answer

    async def stop(self) -> None:
        """Waits for the writes under way; the pushes waiting for them are answered."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start_batches(self) -> None:
        if self._batches < self.concurrency and self._queue:
            self._batches += 1
            self._spawn(self._write_batches())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write_batches(self) -> None:
        try:
            while batch := self._take():
                await self._write_batch(batch)
        finally:
            self._batches -= 1

    def _take(self) -> list[_Queued]:
        """The next batch, in the order the reports came; what it leaves stays queued."""
        batch: dict[str, _Queued] = {}
        left: deque[_Queued] = deque()
        while self._queue and len(batch) < self.max_batch:
            queued = self._queue.popleft()
            if queued.answer.done():
                continue  # its push is gone (cancelled) before anything was written
            if queued.code in batch or queued.code in self._writing:
                left.append(queued)
            else:
                batch[queued.code] = queued
        left.extend(self._queue)
        self._queue = left
        self._writing.update(batch)
        return list(batch.values())

    async def _write_batch(self, batch: list[_Queued]) -> None:
        observe_report_batch(len(batch))
        try:
            written = await self._write_together(batch)
        except asyncio.CancelledError:
            for queued in batch:
                queued.answer.cancel()
                self._writing.discard(queued.code)
            raise
        except Exception as exc:  # noqa: BLE001 - each report is written again, alone
            log.warning("reports written one by one after their batch failed", error=repr(exc))
            written = {}
        for queued in batch:
            answer = written.get(queued.code)
            if answer is None:
                self._spawn(self._write_alone(queued))
                continue
            self._done(queued)
            if queued.answer.done():
                continue
            if isinstance(answer, BedsvcError):
                queued.answer.set_exception(answer)
            else:
                queued.answer.set_result(answer)

    async def _write_together(self, batch: list[_Queued]) -> dict[str, Written | BedsvcError]:
        """What write_reports answered of each hospital it took part. Only the statement can
        fail: once it committed, the answers stand, and a state that could not be read
        again is left to the reconciler (bedsvc/state/sync.py)."""
        by_code = {queued.code: queued for queued in batch}
        answers: dict[str, Written | BedsvcError] = {}
        changed: list[HospitalAt] = []
        async with self.pool.acquire() as conn:
            rows = self.queries.write_reports(
                conn,
                hospital_codes=list(by_code),
                reports=[
                    _Report(q.code, q.report.reported_at, q.key_id, q.username, q.report.wards)
                    for q in batch
                ],
                max_open_wards=self.max_open_wards,
            )
            written = [row async for row in rows]
            for row in written:
                report = by_code[row.code].report
                answers[row.code] = refusal(
                    row.code, row.active, row.open_wards, self.max_open_wards
                ) or outcome(report, row.version, row.applied, row.id_t_tts)
            try:
                changed = [
                    await state_after(conn, self.queries, row.code, row)
                    for row in written
                    if row.applied
                ]
            except DATABASE_ERRORS as exc:
                log.warning("states after a batch left to the reconciler", error=repr(exc))
        await self.sync.publish_all(changed)
        return answers

    async def _write_alone(self, queued: _Queued) -> None:
        try:
            written = await apply_report(
                self.pool,
                self.queries,
                self.sync,
                queued.code,
                queued.report,
                queued.key_id,
                max_open_wards=self.max_open_wards,
                username=queued.username,
            )
        except asyncio.CancelledError:
            queued.answer.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - the push answers it, as the route would
            if not queued.answer.done():
                queued.answer.set_exception(exc)
        else:
            if not queued.answer.done():
                queued.answer.set_result(written)
        finally:
            self._done(queued)

    def _done(self, queued: _Queued) -> None:
        """The hospital's next report may be written."""
        self._writing.discard(queued.code)
        self._start_batches()
