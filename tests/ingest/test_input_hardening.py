"""Input at the edges: control characters, bidirectional overrides, trailing newlines, odd path
and query values. Each is a clear 4xx naming the field, never a 500, never a partial write."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.sirs import Simrs, bed, hospital_with_bridge, refused

Client = AsyncTestClient[Litestar]

BAD_NAMES = ["Ruang\x00Mawar", "Ruang\x1bMawar", "RS \u202eA", "RS \u2066A\u2069", "RS\x85A"]
BAD_CODES = ["W1\n", "W1\r\n", "\nW1", "W 1", "W1\x00", "-W1", "", "W" * 65]


def fields(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {error["field"] for error in response.json()["errors"]}


async def count(settings: Settings, table: str) -> int:
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        value: int = await conn.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608
        return value
    finally:
        await conn.close()


async def test_names_and_labels_refuse_control_and_bidi_characters(
    client: Client, factory: Factory, settings: Settings
) -> None:
    admin = await factory.key("admin")
    hospital = {"code": "3274099", "name": "RS Baru", "region_code": "3274"}
    for name in BAD_NAMES:
        for field in ("name", "address", "kind", "phone"):
            body = hospital | {field: name}
            response = await client.post(
                "/api/v1/admin/hospitals", json=body, headers=bearer(admin)
            )
            assert field in fields(response), (field, name)
        key = await client.post(
            "/api/v1/admin/keys",
            json={"role": "monitor", "label": name},
            headers=bearer(admin),
        )
        assert "label" in fields(key)
    assert await count(settings, "hospitals") == 0
    assert await count(settings, "api_keys") == 1  # the admin's own
    # Letters of every script, punctuation and emoji are names.
    fine = hospital | {"name": "RS Pelabuhan — Anggrek ☤ 病院", "address": "Jl. Kesambi No. 5"}
    saved = await client.post("/api/v1/admin/hospitals", json=fine, headers=bearer(admin))
    assert saved.status_code == 200, saved.text


async def test_codes_are_anchored_at_both_ends(
    client: Client, factory: Factory, settings: Settings
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    admin = await factory.key("admin")
    for bad in BAD_CODES:
        pushed = await client.post(
            f"/api/v1/hospitals/{code}/occupancy",
            json=report(ward("MAWAR"), ward() | {"ward_code": bad}),
            headers=bearer(key),
        )
        assert "wards[1].ward_code" in fields(pushed), repr(bad)
        registered = await client.post(
            "/api/v1/admin/hospitals",
            json={"code": bad or "x\n", "name": "RS", "region_code": "3274\n"},
            headers=bearer(admin),
        )
        assert {"code", "region_code"} & fields(registered), repr(bad)
    for name in BAD_NAMES:
        pushed = await client.post(
            f"/api/v1/hospitals/{code}/occupancy",
            json=report(ward() | {"name": name}),
            headers=bearer(key),
        )
        assert "wards[0].name" in fields(pushed), repr(name)
    assert await count(settings, "wards") == 0


async def test_sirs_room_names_refuse_control_characters(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    for name in BAD_NAMES:
        refused(await simrs.send("POST", "Fasyankes", bed(ruang=name)), 422, "ruang")
    assert await count(settings, "wards") == 0


async def test_deeply_nested_json_in_a_sirs_body_is_refused_in_the_envelope(
    client: Client, factory: Factory, services: Services
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    nested = b"[" * 100_000 + b"]" * 100_000
    response = await client.post(
        "/sirs/fo/index.php/Fasyankes", content=nested, headers=simrs.headers()
    )
    refused(response, 400, "bertingkat")


@pytest.mark.parametrize(
    "query",
    [
        "region=%00",
        "region=3274%0A",
        "hospital=a%00b",
        "bed_class=ICU%0A",
        "to=0001-01-01T00:00Z",
        "from=0001-01-01T00:00Z",
    ],
)
async def test_monitor_query_values_are_checked(
    client: Client, factory: Factory, query: str
) -> None:
    key = await factory.key("monitor")
    name = query.partition("=")[0]
    for path in ("summary", "stale", "history", "export.csv", "export/edxl-have.xml"):
        if name in ("to", "from", "bed_class", "hospital") and path in ("summary", "stale"):
            continue
        if name in ("to", "from", "bed_class") and path == "export/edxl-have.xml":
            continue
        response = await client.get(f"/api/v1/monitor/{path}?{query}", headers=bearer(key))
        assert response.status_code == 422, (path, query, response.text)


async def test_revoking_an_odd_key_id_is_a_client_error(client: Client, factory: Factory) -> None:
    admin = await factory.key("admin")
    for key_id in ("key%00", "key%0A", "no-such-key"):
        response = await client.delete(f"/api/v1/admin/keys/{key_id}", headers=bearer(admin))
        assert response.status_code in (404, 422), (key_id, response.text)
