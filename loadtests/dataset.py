"""A province-sized data set: 300 hospitals with 5-15 wards each, 40 of them in one city; and
a national one (`national`): 3,039 hospitals in 514 regencies and cities, as Indonesia has.

Generated from a fixed seed so every run serves the same documents, and loaded through the
service's own write path (`save_hospital`, `apply_report`), as the registry and the hospital
systems would.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bedsvc.access.actor import OPERATOR
from bedsvc.access.keys import issue_key
from bedsvc.admin.schemas import HospitalIn
from bedsvc.admin.service import save_hospital
from bedsvc.ingest.schemas import OccupancyReport, WardReport
from bedsvc.ingest.write import apply_report
from bedsvc.services import Services

# The filtered variant's region: Kota Cirebon, 40 hospitals.
CITY = "3274"
# The rest of the province, by Kemendagri code; 260 hospitals spread over them.
REGIONS = {
    CITY: ("Kota Cirebon", 40),
    "3209": ("Kabupaten Cirebon", 45),
    "3210": ("Kabupaten Majalengka", 35),
    "3212": ("Kabupaten Indramayu", 40),
    "3208": ("Kabupaten Kuningan", 35),
    "3273": ("Kota Bandung", 60),
    "3204": ("Kabupaten Bandung", 45),
}
KINDS = ["RSUD", "RS Swasta", "RS Ibu dan Anak", "RS TNI/Polri", "RS BUMN", "RS Khusus"]
CLASSES = ["VIP", "KL1", "KL2", "KL3", "KRIS", "HCU", "ICU", "ICCU", "NICU", "PICU", "ISOLASI"]
CLASSES += ["PERINATOLOGI", "BERSALIN", "IGD", "VVIP", "UTAMA"]
WARD_NAMES = ["Mawar", "Melati", "Anggrek", "Dahlia", "Kenanga", "Flamboyan", "Cempaka"]
WARD_NAMES += ["Teratai", "Seruni", "Asoka", "Bougenville", "Kemuning", "Lily", "Tulip", "Sakura"]


@dataclass
class Ward:
    code: str
    name: str
    bed_class: str
    capacity: int
    available: int
    by_sex: bool

    def report(self) -> WardReport:
        male = self.available // 2 if self.by_sex else None
        female = self.available - self.available // 2 if self.by_sex else None
        return WardReport(
            ward_code=self.code,
            name=self.name,
            bed_class=self.bed_class,
            capacity=self.capacity,
            available=self.available,
            available_male=male,
            available_female=female,
            waiting=None,
        )


@dataclass
class Hospital:
    info: HospitalIn
    wards: list[Ward] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.info.code

    def report(self, at: datetime) -> OccupancyReport:
        return OccupancyReport(reported_at=at, wards=[w.report() for w in self.wards])

    def step(self, rng: random.Random) -> None:
        """Admissions and discharges between two reports."""
        for ward in self.wards:
            ward.available = max(0, min(ward.capacity, ward.available + rng.choice((-1, 0, 1))))


def generate(seed: int = 20261122) -> list[Hospital]:
    rng = random.Random(seed)
    hospitals = []
    for region, (region_name, count) in REGIONS.items():
        base_lat, base_lon = rng.uniform(-7.2, -6.3), rng.uniform(107.4, 108.7)
        for number in range(1, count + 1):
            code = f"{region}{number:03d}"
            info = HospitalIn(
                code=code,
                name=f"{rng.choice(KINDS)} {WARD_NAMES[number % len(WARD_NAMES)]} {number}",
                kind=rng.choice(KINDS),
                region_code=region,
                region_name=region_name,
                address=f"Jl. Raya No. {rng.randint(1, 300)}, {region_name}",
                phone=f"0231-{rng.randint(200000, 299999)}",
                lat=round(base_lat + rng.uniform(-0.15, 0.15), 5),
                lon=round(base_lon + rng.uniform(-0.15, 0.15), 5),
            )
            hospitals.append(Hospital(info=info, wards=_wards(rng)))
    return hospitals


# Indonesia: 514 regencies and cities (kabupaten/kota) in 38 provinces, about 3,000 hospitals.
NATIONAL_HOSPITALS = 3039
NATIONAL_REGIONS = 514


def national(
    hospitals: int = NATIONAL_HOSPITALS, regions: int = NATIONAL_REGIONS, seed: int = 20261206
) -> list[Hospital]:
    """`hospitals` spread unevenly over `regions` (every region has at least one; a few cities
    have dozens, as Jakarta's and Surabaya's do), region codes in the Kemendagri shape."""
    if not 1 <= regions <= hospitals:
        raise ValueError("need at least one hospital per region")
    rng = random.Random(seed)
    weights = [rng.lognormvariate(0, 0.9) for _ in range(regions)]
    counts = [1] * regions
    for index in rng.choices(range(regions), weights, k=hospitals - regions):
        counts[index] += 1
    result = []
    for index, count in enumerate(counts):
        province, number = 11 + index // 14, 1 + index % 14
        region = f"{province:02d}{number:02d}"
        region_name = f"Kabupaten Uji {region}"
        base_lat, base_lon = rng.uniform(-10.0, 5.0), rng.uniform(95.0, 140.0)
        for n in range(1, count + 1):
            info = HospitalIn(
                code=f"{region}{n:03d}",
                name=f"{rng.choice(KINDS)} {WARD_NAMES[n % len(WARD_NAMES)]} {region}-{n}",
                kind=rng.choice(KINDS),
                region_code=region,
                region_name=region_name,
                address=f"Jl. Raya No. {rng.randint(1, 300)}, {region_name}",
                phone=f"021-{rng.randint(200000, 299999)}",
                lat=round(base_lat + rng.uniform(-0.15, 0.15), 5),
                lon=round(base_lon + rng.uniform(-0.15, 0.15), 5),
            )
            result.append(Hospital(info=info, wards=_wards(rng)))
    return result


def _wards(rng: random.Random) -> list[Ward]:
    wards = []
    for index in range(rng.randint(5, 15)):
        capacity = rng.randint(4, 40)
        name = WARD_NAMES[index % len(WARD_NAMES)]
        wards.append(
            Ward(
                code=f"{name.upper()}{index}",
                name=f"Ruang {name} {index}",
                bed_class=rng.choice(CLASSES),
                capacity=capacity,
                available=rng.randint(0, capacity // 3),
                by_sex=rng.random() < 0.3,
            )
        )
    return wards


async def load(services: Services, hospitals: list[Hospital]) -> dict[str, str]:
    """Registers the hospitals, sends each one's first report; returns a key per hospital."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    keys = {}
    for hospital in hospitals:
        await save_hospital(services.pool, services.queries, services.sync, hospital.info, OPERATOR)
        # Mostly fresh reports; one hospital in twenty stopped reporting a day ago (stale).
        age = timedelta(days=1) if rng.random() < 0.05 else timedelta(seconds=rng.randint(5, 600))
        await apply_report(
            services.pool,
            services.queries,
            services.sync,
            hospital.code,
            hospital.report(now - age),
            key_id=None,
            max_open_wards=services.settings.ingest.max_wards_per_hospital,
        )
        async with services.pool.acquire() as conn:
            issued = await issue_key(conn, services.queries, "hospital", hospital.code)
        keys[hospital.code] = issued.key
    return keys
