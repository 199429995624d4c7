"""The relay loop, run in every worker: claim the relays that are due, send each hospital's
current state in its registry's protocol, record how it went.

Invariants:
- A relay is due when its hospital's version is above the version last sent to it (the
  outbox mark is the version bump of the change's own transaction, sql/migrations/
  007_relay.sql), so nothing committed is forgotten by a crash or a restart, and a registry
  that is down for hours costs one row per hospital, not a queue of reports.
- One worker of any instance sends a given relay at a time (a claim with FOR UPDATE SKIP
  LOCKED leases the row, longer than a send may take), and it sends the state it reads when
  it sends: the latest, never an older one after a newer one.
- Pushes never wait on this: the push's transaction does not touch the relay rows, and no
  database connection or lock is held while a registry is called.
- A failed send is retried with capped exponential backoff and jitter, or after what
  Retry-After asks; a refused credential is not retried until it is set again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping

import asyncpg
import httpx
import structlog
from prometheus_client import Counter

from bedsvc.ops.metrics import record_relay_lag, record_relay_send
from bedsvc.relay import aplicares, sirs
from bedsvc.relay.failures import KEY_UNUSABLE, TIMEOUT, UNREACHABLE, SendFailed, backoff
from bedsvc.relay.registries import base_urls
from bedsvc.runtime.outbound import outbound_client
from bedsvc.secret_box import SecretBox, SecretKeyError
from bedsvc.settings import RelaySettings
from bedsvc.store import Queries, relays
from bedsvc.store.reference import BedClass
from bedsvc.store.relays import Claim, RelayHospital
from bedsvc.store.states import HospitalState

log = structlog.get_logger(__name__)

cycle_failures = Counter(
    "bedsvc_relay_cycle_failures",
    "Relay cycles that failed as a whole (no relay was sent in them).",
)

# Sends one worker runs at once (each holds no database connection while it waits).
_CONCURRENT = 20
# A whole send (a list and one write per changed ward) may take this many request timeouts.
_SEND_TIMEOUTS = 6
_LAG_SAMPLE_SECONDS = 2.0
# A refused connection (nothing listening) costs the registry nothing, so a registry that is
# down is tried at least this often: it is caught up soon after it returns. Timeouts and
# errors it answers cost it work, and back off fully.
_UNREACHABLE_BACKOFF_MAX = 10.0


def _next_stamp() -> int:
    """Aplicares stamps of the next send lie above the end of this one (whole seconds)."""
    return int(time.time()) + 1


class RelayWorker:
    """Also a listener of the worker's change feed: a change anywhere wakes the loop, so a
    due relay is sent at once rather than at the next poll."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        queries: Queries,
        settings: RelaySettings,
        bed_classes: list[BedClass],
        box: SecretBox,
    ) -> None:
        self.pool = pool
        self.queries = queries
        self.settings = settings
        self.classes: Mapping[str, BedClass] = {c.code: c for c in bed_classes}
        self.box = box
        self.urls = base_urls(settings)
        self.deadline = settings.relay_timeout_seconds * _SEND_TIMEOUTS
        # Past the deadline of a send, so that no second worker sends while it still runs.
        self.lease = self.deadline + max(5.0, settings.relay_timeout_seconds)
        # Due relays are found by polling too: a minimum interval or a backoff runs out
        # without any change to wake the loop.
        self.poll = min(1.0, max(0.1, settings.relay_min_interval_seconds / 4))
        self._wake = asyncio.Event()

    def hospital_changed(self, version: int, code: str, state: HospitalState | None) -> None:
        self._wake.set()

    def reloaded(self, version: int) -> None:
        self._wake.set()

    async def run(self) -> None:
        """The worker's background task; returns at once when no relay is switched on.

        Sends run side by side, up to _CONCURRENT at once, each on its own: a slow registry
        holds up only its own sends, never those to the other registry or of other
        hospitals."""
        if not self.urls:
            return
        timeout = httpx.Timeout(self.settings.relay_timeout_seconds)
        sending: set[asyncio.Task[None]] = set()
        async with outbound_client(timeout) as http:
            try:
                await self._loop(http, sending)
            finally:
                for task in sending:
                    task.cancel()
                await asyncio.gather(*sending, return_exceptions=True)

    async def _loop(self, http: httpx.AsyncClient, sending: set[asyncio.Task[None]]) -> None:
        loop = asyncio.get_running_loop()
        next_sample = 0.0
        while True:
            self._wake.clear()
            try:
                room = _CONCURRENT - len(sending)
                claimed = (
                    await relays.claim(self.pool, self.queries, list(self.urls), room, self.lease)
                    if room > 0
                    else []
                )
                for claim in claimed:
                    task = asyncio.create_task(self._send_logged(http, claim))
                    sending.add(task)
                    task.add_done_callback(self._sent)
                    task.add_done_callback(sending.discard)
                if loop.time() >= next_sample:
                    next_sample = loop.time() + _LAG_SAMPLE_SECONDS
                    await self.sample_lag()
            # The loop must outlive any one failure (PostgreSQL away, say) and say so: a
            # silent failure here stops every relay.
            except Exception as exc:
                cycle_failures.inc()
                log.error("relay cycle failed", error=type(exc).__name__, exc_info=exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)

    def _sent(self, _: asyncio.Task[None]) -> None:
        """A send's slot is free: claim again at once."""
        self._wake.set()

    async def _send_logged(self, http: httpx.AsyncClient, claim: Claim) -> None:
        try:
            await self.send(http, claim)
        # A send that failed in an unforeseen way (a bug in reading a registry's answer)
        # keeps its lease, and is tried again when the lease runs out; it must not end
        # silently.
        except Exception as exc:
            cycle_failures.inc()
            log.error(
                "relay send failed unexpectedly",
                hospital_code=claim.hospital_code,
                registry=claim.registry,
                exc_info=exc,
            )

    async def sample_lag(self) -> None:
        async with self.pool.acquire() as conn:
            lags = await relays.lag(conn, self.queries, list(self.urls))
        for registry in self.urls:
            record_relay_lag(registry, lags.get(registry, 0.0))

    async def send(self, http: httpx.AsyncClient, claimed: Claim) -> None:
        """One attempt at one relay, recorded whatever happens."""
        async with self.pool.acquire() as conn:
            state = await relays.hospital(conn, self.queries, claimed.hospital_code)
        if state is None:  # the hospital was removed meanwhile (its rows with it)
            return
        try:
            async with asyncio.timeout(self.deadline):
                sent_keys = await self._send(http, claimed, state)
        except SendFailed as failure:
            await self._failed(claimed, failure)
        except TimeoutError:
            detail = f"the send took longer than {self.deadline:g} s"
            await self._failed(claimed, SendFailed(TIMEOUT, detail))
        else:
            record_relay_send(claimed.registry, "sent")
            async with self.pool.acquire() as conn:
                await relays.sent(
                    conn,
                    self.queries,
                    claimed,
                    state,
                    _next_stamp(),
                    self.settings.relay_min_interval_seconds,
                    sent_keys,
                )
                if claimed.failures:
                    await relays.recovered(conn, self.queries, claimed.registry)
            log.debug("relayed", hospital_code=claimed.hospital_code, registry=claimed.registry)

    async def _send(
        self, http: httpx.AsyncClient, claimed: Claim, state: RelayHospital
    ) -> dict[str, list[int | str]]:
        """What the registry now holds the wards as (see sirs.send)."""
        try:
            secret = self.box.decrypt(claimed.secret_enc)
        except SecretKeyError as exc:
            raise SendFailed(KEY_UNUSABLE, str(exc)) from None
        base = self.urls[claimed.registry]
        if claimed.registry == "sirs":
            return await sirs.send(
                http, base, claimed.login, secret, state.wards, self.classes, claimed.sent_keys
            )
        stamp = max(int(time.time()), claimed.min_stamp)
        wait = stamp - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        await aplicares.send(
            http,
            base,
            claimed.login,
            secret,
            state.bpjs_ppk_code,
            state.wards,
            self.classes,
            stamp,
        )
        return {}

    async def _failed(self, claimed: Claim, failure: SendFailed) -> None:
        record_relay_send(claimed.registry, failure.kind)
        settings = self.settings
        retry_in = failure.retry_after
        if retry_in is None:
            cap = settings.relay_backoff_max_seconds
            if failure.kind == UNREACHABLE:
                cap = min(cap, _UNREACHABLE_BACKOFF_MAX)
            retry_in = backoff(claimed.failures + 1, settings.relay_backoff_seconds, cap)
        fields = {
            "hospital_code": claimed.hospital_code,
            "registry": claimed.registry,
            "error": failure.kind,
            "detail": failure.detail,
        }
        if failure.refused:
            log.error("relay credential refused: not retried until it is set again", **fields)
        else:
            log.warning("relay send failed", retry_in=round(retry_in, 1), **fields)
        async with self.pool.acquire() as conn:
            await relays.failed(
                conn,
                self.queries,
                claimed,
                failure.kind,
                failure.detail,
                retry_in,
                failure.refused,
                _next_stamp(),
            )
