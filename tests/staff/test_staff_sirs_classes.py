"""SIRS Online's ICU bed types 24-27 are intensive care, not isolation."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]


async def test_sirs_icu_bed_types_map_to_intensive_care(client: Client) -> None:
    classes = {c["code"]: c for c in (await client.get("/api/v1/bed-classes")).json()}
    by_sirs = {i: code for code, c in classes.items() for i in c["sirs_ids"]}

    # 24/25: ICU with negative pressure (its own class); 26/27: ICU without.
    assert (by_sirs[24], by_sirs[25]) == ("ICU_TEKANAN_NEGATIF", "ICU_TEKANAN_NEGATIF")
    assert (by_sirs[26], by_sirs[27]) == ("ICU", "ICU")
    assert classes["ICU_TEKANAN_NEGATIF"]["is_intensive"] is True
    assert classes["ICU_TEKANAN_NEGATIF"]["edxl_bed_types"][0] == "AdultICU"
    assert (by_sirs[12], by_sirs[28], by_sirs[29]) == ("ISOLASI",) * 3
    # Every other SIRS code keeps its one class.
    assert by_sirs[6] == by_sirs[38] == "ICU"
    assert by_sirs[8] == by_sirs[51] == "ICCU"
    assert by_sirs[10] == by_sirs[39] == "NICU"
    assert by_sirs[11] == by_sirs[40] == "PICU"
    assert [by_sirs[i] for i in (1, 2, 3, 4, 5, 7, 14, 37, 52)] == [
        "VVIP",
        "VIP",
        "KL1",
        "KL2",
        "KL3",
        "HCU",
        "PERINATOLOGI",
        "IGD",
        "KRIS",
    ]
    assert len(by_sirs) == sum(len(c["sirs_ids"]) for c in classes.values())  # no id twice
