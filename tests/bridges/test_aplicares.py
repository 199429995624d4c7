"""The Aplicares-compatible bridge, driven the way a SIMRS's Aplicares bridge drives BPJS."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.app import create_app
from bedsvc.bridges.credentials import AplicaresCredential, revoke_aplicares
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, wait_until_current
from tests.support.aplicares import (
    BASE,
    PPK,
    Simrs,
    fetch,
    hospital_with_bridge,
    refused,
    room,
    run_cli,
)

Client = AsyncTestClient[Litestar]


async def public_wards(client: Client, code: str = "3274011") -> dict[str, dict[str, Any]]:
    await wait_until_current(client)
    detail = (await client.get(f"/api/v1/hospitals/{code}")).json()
    return {w["ward_code"]: w for w in detail["wards"]}


async def test_create_update_read_delete_as_a_simrs_does(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))

    created = await simrs.post("create", room("MAWAR", "KL3", "20", "3"))
    assert created.status_code == 200, created.text
    assert created.json() == {"metadata": {"code": 1, "message": "Data berhasil disimpan."}}
    ward = (await public_wards(client))["MAWAR"]
    assert (ward["bed_class"], ward["capacity"], ward["available"]) == ("KL3", 20, 3)
    assert ward["available_male"] is None  # "0"/"0": not split by sex, not "none for men"

    updated = await simrs.post(
        "update",
        room("MAWAR", "KL3", "20", "5") | {"tersediapria": "2", "tersediawanita": "1"},
        at=time.time() + 1,
    )
    assert updated.json() == {"metadata": {"code": 1, "message": "Data berhasil diupdate."}}
    ward = (await public_wards(client))["MAWAR"]
    assert (ward["available"], ward["available_male"], ward["available_female"]) == (5, 2, 1)
    availability = (await client.get("/api/v1/availability?bed_class=KL3")).json()
    assert availability["hospitals"][0]["classes"][0]["available"] == 5

    history = await fetch(
        settings, "SELECT change, available, key_id FROM occupancy_history ORDER BY version"
    )
    assert [(h["change"], h["available"]) for h in history] == [("report", 3), ("report", 5)]
    assert history[0]["key_id"] == f"aplicares:{simrs.cons_id}"

    deleted = await simrs.post("delete", {"kodekelas": "KL3", "koderuang": "MAWAR"})
    assert deleted.json() == {"metadata": {"code": 1, "message": "Data berhasil dihapus."}}
    assert "MAWAR" not in await public_wards(client)


async def test_read_is_paged_from_one(client: Client, factory: Factory, services: Services) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    for code, kelas in [("ICU", "ICU"), ("MAWAR", "KL3"), ("MELATI", "KL2")]:
        assert (await simrs.post("create", room(code, kelas))).status_code == 200

    first = (await simrs.read(1, 2)).json()
    rest = (await simrs.read(3, 2)).json()

    assert first["metadata"] == {"code": 1, "message": "OK", "totalitems": 3}
    rows = first["response"]["list"] + rest["response"]["list"]
    assert [(r["rownumber"], r["koderuang"], r["kodekelas"]) for r in rows] == [
        (1, "MELATI", "KL2"),
        (2, "MAWAR", "KL3"),
        (3, "ICU", "ICU"),
    ]
    assert rows[0] | {"lastupdate": None} == {
        "kodekelas": "KL2",
        "namakelas": "Kelas II",
        "koderuang": "MELATI",
        "namaruang": "Ruang Melati",
        "kapasitas": 20,
        "tersedia": 3,
        "tersediapria": 0,
        "tersediawanita": 0,
        "tersediapriawanita": 3,
        "rownumber": 1,
        "lastupdate": None,
        "kodeppk": PPK,
    }
    assert len(rows[0]["lastupdate"]) == len("2026-11-22 19:00:00")
    assert (await simrs.read(4, 10)).json()["response"]["list"] == []


async def test_ref_kelas_lists_the_mapped_codes(
    client: Client, factory: Factory, services: Services
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    reply = (await client.get(f"{BASE}/ref/kelas", headers=simrs.headers())).json()
    codes = {item["kodekelas"]: item["namakelas"] for item in reply["response"]["list"]}
    assert reply["metadata"]["totalitems"] == len(codes)
    assert codes["KL1"] == "Kelas I"
    assert {"VVP", "VIP", "ICU", "NIC", "UGD", "NON"} <= codes.keys()


async def test_update_of_an_unknown_room_is_refused(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    response = await simrs.post("update", room("BELUM_ADA"))
    refused(response, 404, "Data tidak ada di database.")
    assert await fetch(settings, "SELECT 1 FROM wards") == []
    refused(await simrs.post("delete", {"koderuang": "BELUM_ADA"}), 404, "tidak ada")


async def test_out_of_order_updates_keep_the_newest(
    client: Client, factory: Factory, services: Services
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    now = time.time()
    # All within the default skew window of 60 s.
    await simrs.post("create", room(tersedia="1"), at=now - 50)
    newer = await simrs.post("update", room(tersedia="7"), at=now - 10)
    late = await simrs.post("update", room(tersedia="2"), at=now - 30)

    assert newer.status_code == late.status_code == 200
    assert (await public_wards(client))["MAWAR"]["available"] == 7


async def test_signature_time_and_cons_id_are_checked(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    credential = await hospital_with_bridge(factory, services)
    simrs = Simrs(client, credential)

    forged = await simrs.post("create", room(), secret="not-the-secret")
    refused(forged, 401, "X-signature salah")
    past = await simrs.post("create", room(), at=time.time() - 600)
    refused(past, 401, f"(batas {settings.bridges.aplicares_max_skew_seconds} detik)")
    future = await simrs.post("create", room(), at=time.time() + 600)
    refused(future, 401, f"(batas {settings.bridges.aplicares_max_skew_seconds} detik)")
    stranger = Simrs(client, AplicaresCredential(cons_id="99999", secret=credential.secret))
    unknown = await stranger.post("create", room())
    # An unknown cons-id answers as a wrong signature does: cons-ids cannot be probed.
    assert (unknown.status_code, unknown.json()) == (forged.status_code, forged.json())
    no_headers = await client.post(f"{BASE}/bed/create/{PPK}", json=room())
    refused(no_headers, 401, "wajib dikirim")

    await revoke_aplicares(services.pool, services.queries, credential.cons_id)
    refused(await simrs.post("create", room()), 403, "dicabut")
    assert await fetch(settings, "SELECT 1 FROM wards") == []


async def test_cons_id_of_another_hospital_is_refused(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    mine = await hospital_with_bridge(factory, services, "3274011", PPK)
    await factory.hospital("3274012", bpjs_ppk_code="0122R002")

    other = Simrs(client, mine, ppk="0122R002")
    refused(await other.post("create", room()), 403, "bukan milik PPK")
    refused(await other.read(1, 10), 403, "bukan milik PPK")
    unknown = Simrs(client, mine, ppk="0000X999")
    refused(await unknown.post("create", room()), 404, "tidak terdaftar")
    assert await fetch(settings, "SELECT 1 FROM wards") == []


async def test_bad_bodies_answer_in_the_envelope(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))

    refused(await simrs.post("create", room(kapasitas="4", tersedia="7")), 422, "melebihi")
    refused(await simrs.post("create", room(kodekelas="KLX")), 422, "kodekelas 'KLX'")
    refused(await simrs.post("create", room(kapasitas="dua")), 422, "kapasitas")
    refused(await simrs.post("create", {"koderuang": "MAWAR"}), 422, "wajib diisi")
    too_many_by_sex = room(tersedia="2") | {"tersediapria": "2", "tersediawanita": "1"}
    refused(await simrs.post("create", too_many_by_sex), 422, "tersediapria")
    broken = await client.post(
        f"{BASE}/bed/create/{PPK}", content=b"{not json", headers=simrs.headers()
    )
    refused(broken, 400, "JSON")
    assert await fetch(settings, "SELECT 1 FROM wards") == []


async def test_unknown_routes_and_methods_answer_in_the_envelope(
    client: Client, factory: Factory, services: Services
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    refused(await client.get(f"{BASE}/bed/nothing/{PPK}", headers=simrs.headers()), 404, BASE)
    refused(await client.get(f"{BASE}/bed/create/{PPK}", headers=simrs.headers()), 405, "GET")
    not_numbers = await client.get(f"{BASE}/bed/read/{PPK}/a/b", headers=simrs.headers())
    refused(not_numbers, 404, "tidak dikenal")


async def test_php_style_bodies_are_understood(
    client: Client, factory: Factory, services: Services
) -> None:
    """PHP cURL labels a JSON string as a form; some bridges send real form fields, or the
    room code as a number."""
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    as_form_label = simrs.headers() | {"Content-Type": "application/x-www-form-urlencoded"}
    body = msgspec.json.encode(room("101") | {"koderuang": 101, "kapasitas": 6})
    labelled = await client.post(f"{BASE}/bed/create/{PPK}", content=body, headers=as_form_label)
    form = await client.post(
        f"{BASE}/bed/create/{PPK}",
        content=b"kodekelas=VIP&koderuang=VIP%5F1&namaruang=Ruang+VIP&kapasitas=4&tersedia=1"
        b"&tersediapria=&tersediawanita=&tersediapriawanita=",
        headers=as_form_label,
    )

    assert labelled.status_code == form.status_code == 200, (labelled.text, form.text)
    wards = await public_wards(client)
    assert (wards["101"]["capacity"], wards["VIP_1"]["name"]) == (6, "Ruang VIP")


async def test_secret_is_stored_encrypted(services: Services, factory: Factory) -> None:
    credential = await hospital_with_bridge(factory, services)
    async with services.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT secret_enc FROM aplicares_credentials WHERE cons_id = $1", credential.cons_id
        )
    assert credential.secret.encode() not in row["secret_enc"]
    assert services.secret_box.decrypt(row["secret_enc"]) == credential.secret


async def test_cli_issues_credentials_a_simrs_can_sign_with(
    factory: Factory, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await factory.hospital("3274011", bpjs_ppk_code=PPK)
    await factory.hospital("3274012")

    result = await asyncio.to_thread(
        run_cli, settings, tmp_path, "keys", "issue", "--hospital", "3274011", "--aplicares"
    )

    assert result.exit_code == 0, result.output
    cons_line, secret_line = result.output.splitlines()
    credential = AplicaresCredential(
        cons_id=cons_line.removeprefix("cons_id: "), secret=secret_line.removeprefix("secret: ")
    )
    assert cons_line.startswith("cons_id: ")
    assert secret_line.startswith("secret: ")
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    app = create_app(settings.replace(data_dir=tmp_path))
    async with AsyncTestClient(app=app) as client:
        simrs = Simrs(client, credential)
        assert (await simrs.post("create", room())).status_code == 200
        assert (await simrs.post("create", room(), secret="forged")).status_code == 401
    captured = capsys.readouterr()
    assert credential.secret not in captured.out + captured.err

    no_ppk = await asyncio.to_thread(
        run_cli, settings, tmp_path, "keys", "issue", "--hospital", "3274012", "--aplicares"
    )
    assert no_ppk.exit_code != 0
    assert "PPK" in no_ppk.output
    revoked = await asyncio.to_thread(
        run_cli, settings, tmp_path, "keys", "revoke", credential.cons_id
    )
    assert revoked.exit_code == 0, revoked.output
