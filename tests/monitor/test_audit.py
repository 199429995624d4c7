"""The health office's audit trail: which key or user changed which ward, when, from what to
what; registry, key and user changes too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.cli import run_cli
from tests.support.staff import HOSPITAL, OTHER, sign_in

Client = AsyncTestClient[Litestar]


async def test_audit_names_the_key_and_the_change(client: Client, factory: Factory) -> None:
    admin = await factory.key("admin")
    monitor = await factory.key("monitor")
    saved = await client.post(
        "/api/v1/admin/hospitals",
        json={"code": HOSPITAL, "name": "RSUD Gunung Jati", "region_code": "3274"},
        headers=bearer(admin),
    )
    assert saved.status_code == 200
    issued = (
        await client.post(
            "/api/v1/admin/keys",
            json={"role": "hospital", "hospital_code": HOSPITAL, "label": "SIMRS"},
            headers=bearer(admin),
        )
    ).json()
    await factory.hospital(OTHER)
    other_key = await factory.key(hospital_code=OTHER)
    now = datetime.now(UTC)
    url = f"/api/v1/hospitals/{HOSPITAL}/occupancy"
    for minutes, free in ((3, 3), (2, 5)):
        body = report(
            ward("MAWAR", "KL3", 20, free, waiting=1), at=now - timedelta(minutes=minutes)
        )
        assert (await client.post(url, json=body, headers=bearer(issued["key"]))).status_code == 200
    other = report(ward("KENANGA", "KL2", 10, 4), at=now)
    pushed = await client.post(
        f"/api/v1/hospitals/{OTHER}/occupancy", json=other, headers=bearer(other_key)
    )
    assert pushed.status_code == 200
    closed = await client.delete(
        f"/api/v1/hospitals/{HOSPITAL}/wards/MAWAR", headers=bearer(issued["key"])
    )
    assert closed.status_code == 200
    added = await client.post(
        "/api/v1/admin/users",
        json={"hospital_code": HOSPITAL, "username": "siti"},
        headers=bearer(admin),
    )
    assert added.status_code == 201
    revoked = await client.delete(f"/api/v1/admin/keys/{issued['key_id']}", headers=bearer(admin))
    assert revoked.status_code == 200

    response = await client.get(
        f"/api/v1/monitor/audit?hospital={HOSPITAL}", headers=bearer(monitor)
    )

    assert response.status_code == 200, response.text
    entries = response.json()["entries"]
    assert [(e["action"], e["subject"]) for e in entries] == [
        ("key.revoke", issued["key_id"]),
        ("user.add", "siti"),
        ("close", "MAWAR"),
        ("report", "MAWAR"),
        ("report", "MAWAR"),
        ("key.issue", issued["key_id"]),
        ("hospital.save", HOSPITAL),
    ]
    revoke, user, close, second, first, issue, registry = entries
    admin_key_id = registry["key_id"]
    assert admin_key_id.startswith("key_")
    assert {e["key_id"] for e in (revoke, user, issue, registry)} == {admin_key_id}
    assert {e["key_id"] for e in (close, second, first)} == {issued["key_id"]}
    assert all(e["username"] is None for e in entries)
    assert first["before"] is None
    assert second["before"]["available"] == 3
    assert second["after"] == {
        "capacity": 20,
        "available": 5,
        "available_male": None,
        "available_female": None,
        "waiting": 1,
    }
    assert close["before"]["available"] == 5
    assert close["after"] is None
    assert issue["detail"] == {"role": "hospital", "label": "SIMRS"}
    assert registry["detail"]["name"] == "RSUD Gunung Jati"

    everything = await client.get("/api/v1/monitor/audit?limit=3", headers=bearer(monitor))
    assert len(everything.json()["entries"]) == 3


async def test_audit_range_and_access(client: Client, factory: Factory) -> None:
    monitor = await factory.key("monitor")
    hospital_key = await factory.key("admin")

    backwards = await client.get(
        "/api/v1/monitor/audit?from=2026-12-02T10:00:00Z&to=2026-12-01T10:00:00Z",
        headers=bearer(monitor),
    )
    no_zone = await client.get(
        "/api/v1/monitor/audit?from=2026-12-01T10:00:00", headers=bearer(monitor)
    )
    too_many = await client.get("/api/v1/monitor/audit?limit=5000", headers=bearer(monitor))
    anonymous = await client.get("/api/v1/monitor/audit")
    past = await client.get(
        "/api/v1/monitor/audit?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z",
        headers=bearer(hospital_key),
    )

    assert backwards.status_code == 422
    assert "from" in backwards.json()["detail"]
    assert no_zone.status_code == 422
    assert too_many.status_code == 422
    assert anonymous.status_code == 401
    assert past.status_code == 200
    assert past.json()["entries"] == []


async def test_audit_names_the_ward_staff_user(client: Client, factory: Factory) -> None:
    await factory.hospital(HOSPITAL)
    monitor = await factory.key("monitor")
    password = await factory.user(HOSPITAL, "siti")
    session = await sign_in(client, "siti", password)

    pushed = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy",
        json=report(ward("MAWAR", "KL3", 20, 3)),
        headers={"X-CSRF-Token": str(session["csrf_token"])},
    )
    assert pushed.status_code == 200, pushed.text
    client.cookies.clear()

    entries = (await client.get("/api/v1/monitor/audit", headers=bearer(monitor))).json()["entries"]
    assert [(e["action"], e["username"], e["key_id"]) for e in entries] == [
        ("report", "siti", None),
        ("user.add", None, None),
        ("hospital.save", None, None),
    ]


async def test_audit_records_bridge_credentials_from_the_cli(
    client: Client, factory: Factory, settings: Settings
) -> None:
    await factory.hospital(HOSPITAL, bpjs_ppk_code="0120R001")
    monitor = await factory.key("monitor")

    sirs = await run_cli(settings, "keys", "issue", "--hospital", HOSPITAL, "--sirs")
    aplicares = await run_cli(settings, "keys", "issue", "--hospital", HOSPITAL, "--aplicares")
    cons_id = dict(line.split(": ", 1) for line in aplicares.output.splitlines())["cons_id"]
    revoked = await run_cli(settings, "keys", "revoke", cons_id)
    assert (sirs.exit_code, aplicares.exit_code, revoked.exit_code) == (0, 0, 0), revoked.output

    entries = (
        await client.get(f"/api/v1/monitor/audit?hospital={HOSPITAL}", headers=bearer(monitor))
    ).json()["entries"]
    assert [(e["action"], e["subject"], e["key_id"]) for e in entries] == [
        ("aplicares.revoke", cons_id, None),
        ("aplicares.issue", cons_id, None),
        ("sirs.issue", HOSPITAL, None),
        ("hospital.save", HOSPITAL, None),
    ]
