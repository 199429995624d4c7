"""The hospitals' side of the ingest load test: one HTTP/1.1 connection per hospital, written
on asyncio streams so the client costs a few tens of microseconds per report (measured: its
CPU share is in every result) and never becomes the limit it measures.

Each hospital sends its reports one after another with strictly increasing `reported_at`, so
every acknowledged report must be applied, and the run can check each one in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec

_encoder = msgspec.json.Encoder()


@dataclass
class Acknowledged:
    """A report answered 200: which hospital, the time it reported, whether it was applied."""

    hospital: str
    reported_at: datetime
    applied: bool


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    acknowledged: list[Acknowledged] = field(default_factory=list)
    failures: int = 0  # connections that broke

    def add(self, status: int, latency: float, ack: Acknowledged | None) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(latency)
        if ack is not None:
            self.acknowledged.append(ack)


class Clock:
    """Report times: one millisecond apart, so every report is newer than every earlier one."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.sequence = 0

    def next(self) -> datetime:
        self.sequence += 1
        return self.start + timedelta(milliseconds=self.sequence)


class Hospital:
    """One hospital system: its key, its wards and its connection."""

    def __init__(self, code: str, key: str, host: str, port: int) -> None:
        self.code = code
        self.host, self.port = host, port
        self.head = (
            f"POST /api/v1/hospitals/{code}/occupancy HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.round = 0

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    def body(self, wards: int, at: datetime) -> bytes:
        self.round += 1
        report = {
            "reported_at": at.isoformat(),
            "wards": [
                {
                    "ward_code": f"W{n:02d}",
                    "name": f"Ruang {n}",
                    "bed_class": "KL3" if n % 3 else "ICU",
                    "capacity": 20,
                    "available": (self.round + n) % 21,
                }
                for n in range(wards)
            ],
        }
        return _encoder.encode(report)

    def send(self, body: bytes) -> None:
        if self.writer is None:
            raise ConnectionError("not connected")
        self.writer.write(b"%b%d\r\n\r\n%b" % (self.head, len(body), body))

    async def answer(self) -> tuple[int, bytes]:
        if self.reader is None:
            raise ConnectionError("not connected")
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def report(self, wards: int, at: datetime, tally: Tally, since: float) -> None:
        """One report; latency counted from `since` (its own start, or a burst's instant)."""
        try:
            if self.writer is None:
                await self.connect()
            self.send(self.body(wards, at))
            status, body = await self.answer()
        except (OSError, asyncio.IncompleteReadError, ConnectionError):
            tally.failures += 1
            await self.close()
            return
        ack = None
        if status == 200:
            ack = Acknowledged(self.code, at, b'"applied":[]' not in body)
        tally.add(status, time.monotonic() - since, ack)


async def sustained(
    hospitals: list[Hospital], wards: int, seconds: float, clock: Clock
) -> tuple[Tally, float]:
    """Every hospital reports back to back for `seconds`; the tally and the time it took."""
    tally = Tally()
    deadline = time.monotonic() + seconds

    async def run(hospital: Hospital) -> None:
        while time.monotonic() < deadline:
            await hospital.report(wards, clock.next(), tally, time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*(run(h) for h in hospitals))
    return tally, time.monotonic() - started


async def burst(hospitals: list[Hospital], wards: int, clock: Clock) -> tuple[Tally, float]:
    """Every hospital sends one report at the same instant (connections already open, as a
    SIMRS scheduler's would be); latency from that instant."""
    tally = Tally()
    await asyncio.gather(*(h.connect() for h in hospitals if h.writer is None))
    at = clock.next()
    instant = time.monotonic()
    await asyncio.gather(*(h.report(wards, at, tally, instant) for h in hospitals))
    return tally, time.monotonic() - instant
