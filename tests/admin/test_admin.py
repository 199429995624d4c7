"""Operators' HTTP routes: the hospital registry and keys, behind an admin key."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Factory, bearer, report, wait_for_version, wait_until_unlisted, ward

Client = AsyncTestClient[Litestar]

HOSPITAL = {
    "code": "3274011",
    "name": "RSD Gunung Jati",
    "kind": "RSUD",
    "region_code": "3274",
    "region_name": "Kota Cirebon",
    "address": "Jl. Kesambi No. 56",
    "phone": "0231-206330",
    "lat": -6.72143,
    "lon": 108.55012,
    "bpjs_ppk_code": "0122R001",
}


async def test_admin_registers_and_updates_a_hospital(client: Client, factory: Factory) -> None:
    admin = bearer(await factory.key("admin"))

    created = await client.post("/api/v1/admin/hospitals", json=HOSPITAL, headers=admin)
    updated = await client.post(
        "/api/v1/admin/hospitals", json=HOSPITAL | {"phone": "0231-111"}, headers=admin
    )

    assert created.status_code == 200, created.text
    assert created.json()["created"] is True
    assert updated.json()["created"] is False
    await wait_for_version(client, HOSPITAL["code"], updated.json()["version"])
    [listed] = (await client.get("/api/v1/availability?region=3274")).json()["hospitals"]
    assert (listed["name"], listed["phone"], listed["classes"]) == (
        "RSD Gunung Jati",
        "0231-111",
        [],
    )


async def test_deactivated_hospital_leaves_the_listing(client: Client, factory: Factory) -> None:
    admin = bearer(await factory.key("admin"))
    await client.post("/api/v1/admin/hospitals", json=HOSPITAL, headers=admin)
    gone = await client.post(
        "/api/v1/admin/hospitals", json=HOSPITAL | {"active": False}, headers=admin
    )

    await wait_until_unlisted(client, HOSPITAL["code"])
    assert gone.json()["version"] == 2
    assert (await client.get("/api/v1/availability")).json()["hospitals"] == []
    assert (await client.get("/api/v1/hospitals/3274011")).status_code == 404


async def test_admin_routes_need_an_admin_key(client: Client, factory: Factory) -> None:
    monitor = bearer(await factory.key("monitor"))
    assert (await client.post("/api/v1/admin/hospitals", json=HOSPITAL)).status_code == 401
    denied = await client.post("/api/v1/admin/hospitals", json=HOSPITAL, headers=monitor)
    assert denied.status_code == 403
    assert denied.headers["content-type"].startswith("application/problem+json")


async def test_issued_key_is_shown_once_and_works(client: Client, factory: Factory) -> None:
    code = await factory.hospital()
    admin = bearer(await factory.key("admin"))

    issued = await client.post(
        "/api/v1/admin/keys", json={"role": "hospital", "hospital_code": code}, headers=admin
    )

    assert issued.status_code == 201
    body = issued.json()
    assert len(body["key"]) >= 32
    assert body["key"] not in (await client.get("/schema/openapi.json")).text
    # Shown once: bedsvc keeps only its hash, so nothing can show it again.
    async with factory.services.pool.acquire() as conn:
        stored = await conn.fetchrow("SELECT * FROM api_keys WHERE id = $1", body["key_id"])
    assert body["key"].encode() not in b"".join(
        value if isinstance(value, bytes) else str(value).encode() for value in stored.values()
    )
    # And it works: the hospital pushes with it.
    pushed = await client.post(
        f"/api/v1/hospitals/{code}/occupancy",
        json=report(ward()),
        headers=bearer(body["key"]),
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["applied"] == ["MAWAR"]


async def test_key_requests_are_validated(client: Client, factory: Factory) -> None:
    admin = bearer(await factory.key("admin"))
    no_hospital = await client.post("/api/v1/admin/keys", json={"role": "hospital"}, headers=admin)
    unknown = await client.post(
        "/api/v1/admin/keys", json={"role": "hospital", "hospital_code": "0000000"}, headers=admin
    )
    bad_role = await client.post("/api/v1/admin/keys", json={"role": "root"}, headers=admin)
    missing = await client.delete("/api/v1/admin/keys/key_nothing", headers=admin)

    assert no_hospital.status_code == 422
    assert no_hospital.json()["errors"][0]["field"] == "hospital_code"
    assert unknown.status_code == 404
    assert bad_role.status_code == 422
    assert missing.status_code == 404


async def test_bpjs_code_belongs_to_one_hospital(client: Client, factory: Factory) -> None:
    admin = bearer(await factory.key("admin"))
    await client.post("/api/v1/admin/hospitals", json=HOSPITAL, headers=admin)

    clash = await client.post(
        "/api/v1/admin/hospitals", json=HOSPITAL | {"code": "3274012"}, headers=admin
    )

    assert clash.status_code == 422
    assert clash.json()["errors"][0]["field"] == "bpjs_ppk_code"
