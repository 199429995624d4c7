"""The SIRS Online-compatible bridge, driven the way SIMRS bridges drive RS Online."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
from click.testing import CliRunner, Result
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.app import create_app
from bedsvc.bridges.credentials import SirsCredential, revoke_sirs
from bedsvc.bridges.sirs.service import new_ward_code
from bedsvc.cli import main
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, wait_until_current, ward
from tests.support.sirs import PREFIX, Simrs, bed, hospital_with_bridge, refused, status_of

Client = AsyncTestClient[Litestar]


async def public_wards(client: Client, code: str = "3274011") -> dict[str, dict[str, Any]]:
    await wait_until_current(client)
    detail = (await client.get(f"/api/v1/hospitals/{code}")).json()
    return {w["name"]: w for w in detail["wards"]}


async def count_wards(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        value: int = await conn.fetchval("SELECT count(*) FROM wards WHERE closed_at IS NULL")
        return value
    finally:
        await conn.close()


async def test_post_get_put_delete_as_a_simrs_does(
    client: Client, factory: Factory, services: Services
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))

    posted = await simrs.send("POST", "Fasyankes", bed(jumlah="7", terpakai="3", antrian="2"))
    assert posted.status_code == 200, posted.text
    saved = status_of(posted)
    assert (saved["status"], saved["message"]) == ("200", "Data telah disimpan.")
    public = (await public_wards(client))["Irina A atas (Bedah)"]
    assert (public["bed_class"], public["capacity"], public["available"]) == ("KL3", 7, 4)
    assert public["waiting"] == 2

    [row] = await simrs.beds()
    assert row["id_t_tt"] == saved["id_t_tt"]
    assert row | {"tglupdate": None} == {
        "id_t_tt": saved["id_t_tt"],
        "id_tt": "5",
        "tt": "Kelas III",
        "ruang": "Irina A atas (Bedah)",
        "jumlah_ruang": "1",
        "jumlah": "7",
        "terpakai": "3",
        "kosong": "4",
        "antrian": "2",
        "terpakai_suspek": "0",
        "terpakai_konfirmasi": "0",
        "prepare": "0",
        "prepare_plan": "0",
        "covid": "0",
        "tglupdate": None,
    }

    put = await simrs.send(
        "PUT", "Fasyankes", {"id_t_tt": row["id_t_tt"], "jumlah": "8", "terpakai": "8"}
    )
    assert status_of(put)["message"] == "Data telah diupdate."
    public = (await public_wards(client))["Irina A atas (Bedah)"]
    assert (public["capacity"], public["available"]) == (8, 0)
    availability = (await client.get("/api/v1/availability?bed_class=KL3")).json()
    assert availability["hospitals"][0]["classes"][0]["capacity"] == 8

    deleted = await simrs.send("DELETE", "Fasyankes", {"id_t_tt": row["id_t_tt"]})
    assert status_of(deleted)["message"] == "Data telah dihapus."
    assert await public_wards(client) == {}
    assert await simrs.beds() == []


async def test_id_t_tt_is_stable_and_a_repeated_post_updates(
    client: Client, factory: Factory, services: Services
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    first = status_of(await simrs.send("POST", "Fasyankes", bed(terpakai="1")))
    again = status_of(
        await simrs.send("POST", "Fasyankes", bed(ruang="IRINA A ATAS  (BEDAH)", terpakai="6"))
    )
    icu_plain = status_of(await simrs.send("POST", "Fasyankes", bed("6", "ICU")))
    icu_vent = status_of(await simrs.send("POST", "Fasyankes", bed("38", "ICU")))

    assert again["id_t_tt"] == first["id_t_tt"]
    assert "sudah ada" in again["message"]
    assert icu_plain["id_t_tt"] != icu_vent["id_t_tt"]
    rows = {(r["id_tt"], r["ruang"]): r for r in await simrs.beds()}
    assert rows.keys() == {("5", "IRINA A ATAS  (BEDAH)"), ("6", "ICU"), ("38", "ICU")}
    assert rows[("5", "IRINA A ATAS  (BEDAH)")]["terpakai"] == "6"
    ids_before = {key: r["id_t_tt"] for key, r in rows.items()}
    put = {"id_t_tt": icu_vent["id_t_tt"], "jumlah": "9", "terpakai": "1"}
    assert (await simrs.send("PUT", "Fasyankes", put)).status_code == 200
    ids_after = {(r["id_tt"], r["ruang"]): r["id_t_tt"] for r in await simrs.beds()}
    assert ids_after == ids_before


async def test_wards_pushed_natively_are_listed_with_an_id_t_tt(
    client: Client, factory: Factory, services: Services
) -> None:
    credential = await hospital_with_bridge(factory, services)
    key = await factory.key(hospital_code=credential.rs_id)
    pushed = report(ward("MAWAR", "KL1", 10, 4), ward("LAIN", "LAINNYA", 2, 1))
    await client.post(
        f"/api/v1/hospitals/{credential.rs_id}/occupancy", json=pushed, headers=bearer(key)
    )

    [row] = await Simrs(client, credential).beds()

    assert (row["id_tt"], row["ruang"], row["jumlah"], row["kosong"]) == (
        "3",
        "Ruang Mawar",
        "10",
        "4",
    )
    assert int(row["id_t_tt"]) > 0


async def test_reference_lists_the_accepted_id_tt(
    client: Client, factory: Factory, services: Services
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    response = await simrs.send("GET", "Referensi/tempat_tidur")
    types = {t["kode_tt"]: t["nama_tt"] for t in response.json()["tempat_tidur"]}
    assert types["1"] == "VVIP/ Super VIP"
    assert types["38"] == "ICU Dengan Ventilator"
    assert types["52"] == "KRIS JKN"


async def test_password_plain_or_md5_and_nothing_else(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    credential = await hospital_with_bridge(factory, services)
    other = await hospital_with_bridge(factory, services, "3274012")

    assert (await Simrs(client, credential).send("GET", "Fasyankes")).status_code == 200
    assert (await Simrs(client, credential, md5=True).send("GET", "Fasyankes")).status_code == 200
    simrs = Simrs(client, credential)
    refused(await simrs.send("POST", "Fasyankes", bed(), password="salah"), 401, "salah")
    wrong_hospital = Simrs(client, SirsCredential(rs_id=credential.rs_id, password=other.password))
    refused(await wrong_hospital.send("POST", "Fasyankes", bed()), 401, "salah")
    unknown = Simrs(client, SirsCredential(rs_id="9999999", password=credential.password))
    refused(await unknown.send("GET", "Fasyankes"), 401, "salah")
    no_headers = await client.get(f"{PREFIX}/Fasyankes")
    refused(no_headers, 401, "wajib dikirim")

    await revoke_sirs(services.pool, services.queries, credential.rs_id)
    refused(await simrs.send("POST", "Fasyankes", bed()), 403, "dicabut")
    assert await count_wards(settings) == 0


async def test_another_hospitals_id_t_tt_is_not_found(
    client: Client, factory: Factory, services: Services
) -> None:
    mine = Simrs(client, await hospital_with_bridge(factory, services))
    theirs = Simrs(client, await hospital_with_bridge(factory, services, "3274012"))
    their_row = status_of(await theirs.send("POST", "Fasyankes", bed(terpakai="1")))

    put = await mine.send(
        "PUT", "Fasyankes", {"id_t_tt": their_row["id_t_tt"], "jumlah": "7", "terpakai": "7"}
    )
    refused(put, 404, "tidak ditemukan")
    refused(await mine.send("DELETE", "Fasyankes", {"id_t_tt": "424242"}), 404, "tidak ditemukan")
    [row] = await theirs.beds()
    assert row["terpakai"] == "1"


async def test_delete_by_query_parameter(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    row = status_of(await simrs.send("POST", "Fasyankes", bed()))

    deleted = await simrs.send("DELETE", f"Fasyankes?id_t_tt={row['id_t_tt']}")

    assert status_of(deleted)["status"] == "200"
    assert await count_wards(settings) == 0


async def test_bad_bodies_and_routes_answer_in_the_envelope(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))

    refused(await simrs.send("POST", "Fasyankes", bed(jumlah="2", terpakai="3")), 422, "melebihi")
    refused(await simrs.send("POST", "Fasyankes", bed(id_tt="99")), 422, "id_tt 99")
    refused(await simrs.send("POST", "Fasyankes", bed(jumlah="tujuh")), 422, "jumlah")
    refused(await simrs.send("PUT", "Fasyankes", {"jumlah": "1", "terpakai": "0"}), 422, "id_t_tt")
    refused(await simrs.send("GET", "Tidak/ada"), 404, "tidak dikenal")
    assert await count_wards(settings) == 0


async def test_odd_timestamps_are_accepted(
    client: Client, factory: Factory, services: Services
) -> None:
    """Bridges send X-Timestamp as ISO text or shifted by their zone; SIRS accepts them."""
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    for stamp in ("2026-11-22T19:00:00Z", str(int(time.time()) + 7 * 3600)):
        headers = simrs.headers() | {"X-Timestamp": stamp}
        response = await client.get(f"{PREFIX}/Fasyankes", headers=headers)
        assert response.status_code == 200, response.text


async def test_prefix_is_a_setting(
    factory: Factory, services: Services, settings: Settings
) -> None:
    credential = await hospital_with_bridge(factory, services)
    app = create_app(settings.replace(sirs_prefix="/rsonline/"))
    async with AsyncTestClient(app=app) as client:
        simrs = Simrs(client, credential, prefix="/rsonline")
        assert status_of(await simrs.send("POST", "Fasyankes", bed()))["status"] == "200"
        old = await client.get(f"{PREFIX}/Fasyankes", headers=simrs.headers())
        assert old.status_code == 404


async def test_cli_issues_a_password_a_simrs_can_log_in_with(
    factory: Factory, settings: Settings
) -> None:
    await factory.hospital("3274011")
    # The password's hash is keyed with the service's key: the CLI uses the same data folder.
    env = {
        "BEDSVC_DATABASE_URL": settings.database.database_url,
        "BEDSVC_DATA_DIR": str(settings.server.data_dir),
        "BEDSVC_SECRET_KEY": None,
    }

    def cli(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=env)

    result = await asyncio.to_thread(cli, "keys", "issue", "--hospital", "3274011", "--sirs")
    assert result.exit_code == 0, result.output
    rs_line, password_line = result.output.splitlines()
    assert rs_line == "rs_id: 3274011"
    credential = SirsCredential(rs_id="3274011", password=password_line.removeprefix("password: "))
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await Simrs(client, credential).send("GET", "Fasyankes")).status_code == 200
        revoked = await asyncio.to_thread(cli, "keys", "revoke", "--sirs", "3274011")
        assert revoked.exit_code == 0, revoked.output
        refused(await Simrs(client, credential).send("GET", "Fasyankes"), 403, "dicabut")


def test_ward_codes_from_sirs_rows_are_valid_and_distinct() -> None:
    taken = {new_ward_code(5, "Ruang Mawar", set())}
    variants = [
        new_ward_code(5, "Ruang-Mawar", taken),
        new_ward_code(5, "Ruang Nusa Indah \u2013 Lantai 2 " * 5, set()),
        new_ward_code(6, "病房", set()),
    ]
    assert taken == {"TT5_RUANG_MAWAR"}
    assert variants[0] != "TT5_RUANG_MAWAR"
    assert variants[0].startswith("TT5_RUANG_MAWAR_")
    assert all(len(code) <= 64 and code.isascii() for code in variants)
    assert variants[2].startswith("TT6_")
