"""Simulated hospital systems: each pushes its wards' occupancy through the real HTTP API."""

from __future__ import annotations

import asyncio
import csv
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import httpx
import msgspec
import structlog

log = structlog.get_logger(__name__)

DATA_DIR = Path(__file__).parent / "data"


@dataclass
class SimulatedWard:
    ward_code: str
    name: str
    bed_class: str
    capacity: int
    occupied: int

    def step(self, rng: random.Random) -> None:
        """Admissions and discharges: a small random walk that stays within capacity."""
        self.occupied = max(0, min(self.capacity, self.occupied + rng.choice((-1, 0, 0, 1))))

    def as_report(self) -> dict[str, object]:
        return {
            "ward_code": self.ward_code,
            "name": self.name,
            "bed_class": self.bed_class,
            "capacity": self.capacity,
            "available": self.capacity - self.occupied,
        }


class Bridge(Protocol):
    """A SIMRS's Aplicares or SIRS Online bridge, pointed at bedsvc."""

    name: str

    async def send(
        self, client: httpx.AsyncClient, wards: list[SimulatedWard]
    ) -> list[SimulatedWard]:
        """Reports the wards it can express; returns the others."""


@dataclass
class SimulatedHospital:
    code: str
    key: str
    wards: list[SimulatedWard] = field(default_factory=list)
    bridge: Bridge | None = None

    def step(self, rng: random.Random) -> None:
        for ward in self.wards:
            ward.step(rng)


def native_report(wards: list[SimulatedWard]) -> dict[str, object]:
    return {
        "reported_at": datetime.now(UTC).isoformat(),
        "wards": [ward.as_report() for ward in wards],
    }


class WardLine(msgspec.Struct, frozen=True):
    """One line of the demo's wards.csv (its other columns are not needed here)."""

    hospital_code: str
    ward_code: str
    name: str
    bed_class: str
    capacity: int


def load_wards(rng: random.Random) -> dict[str, list[SimulatedWard]]:
    wards: dict[str, list[SimulatedWard]] = {}
    with (DATA_DIR / "wards.csv").open(newline="", encoding="utf-8") as file:
        for line in csv.DictReader(file):
            row = msgspec.convert(line, WardLine, strict=False)
            capacity = row.capacity
            wards.setdefault(row.hospital_code, []).append(
                SimulatedWard(
                    ward_code=row.ward_code,
                    name=row.name,
                    bed_class=row.bed_class,
                    capacity=capacity,
                    occupied=rng.randint(capacity * 6 // 10, capacity),
                )
            )
    return wards


async def run_hospital(
    client: httpx.AsyncClient, hospital: SimulatedHospital, interval: float, rng: random.Random
) -> None:
    url = f"/api/v1/hospitals/{hospital.code}/occupancy"
    headers = {"Authorization": f"Bearer {hospital.key}"}
    await asyncio.sleep(rng.uniform(0, interval))
    while True:
        hospital.step(rng)
        try:
            wards = hospital.wards
            if hospital.bridge is not None:
                # What the bridge cannot express (a class BPJS or SIRS has no code for) goes
                # through the native API, as a hospital running both would do.
                wards = await hospital.bridge.send(client, wards)
            if wards:
                response = await client.post(url, json=native_report(wards), headers=headers)
                if response.status_code != 200:
                    log.warning(
                        "report refused", hospital=hospital.code, status=response.status_code
                    )
        except httpx.HTTPError as exc:
            log.warning("report failed", hospital=hospital.code, error=str(exc))
        await asyncio.sleep(interval * rng.uniform(0.5, 1.5))


async def simulate(
    base_url: str,
    hospitals: list[SimulatedHospital],
    interval: float,
    attach_bridges: Callable[[httpx.AsyncClient], Awaitable[None]] | None = None,
) -> None:
    rng = random.Random()  # noqa: S311 - simulated occupancy, not security
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        if attach_bridges is not None:
            await attach_bridges(client)
        await asyncio.gather(*(run_hospital(client, h, interval, rng) for h in hospitals))
