"""Setting and clearing the relays' credentials: the CLI and the admin API, kept encrypted."""

from __future__ import annotations

import asyncio

import asyncpg
from click.testing import CliRunner, Result
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.cli import main
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, bearer

Client = AsyncTestClient[Litestar]
CODE = "3274011"
RELAY = f"/api/v1/admin/hospitals/{CODE}/relay"


async def run_cli(settings: Settings, *args: str) -> Result:
    env = {
        "BEDSVC_DATABASE_URL": str(settings.database.database_url),
        "BEDSVC_DATA_DIR": str(settings.server.data_dir),
        "BEDSVC_RELAY_SIRS_URL": "https://sirs.example/fo/index.php",
        "BEDSVC_LOG_LEVEL": "WARNING",
    }
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)


async def stored(services: Services) -> list[asyncpg.Record]:
    async with services.pool.acquire() as conn:
        return await conn.fetch(
            "SELECT registry, login, secret_enc FROM relay_targets ORDER BY registry"
        )


async def test_cli_sets_shows_and_clears_a_relay(
    settings: Settings, factory: Factory, services: Services
) -> None:
    await factory.hospital(CODE, bpjs_ppk_code="0101R001")
    result = await run_cli(
        settings, "relay", "set", "--hospital", CODE, "--sirs-rs-id", CODE,
        "--sirs-password", "S!rs2020!!",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = await run_cli(
        settings, "relay", "set", "--hospital", CODE, "--aplicares-cons-id", "21095",
        "--aplicares-secret", "rahasia",
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    rows = await stored(services)
    assert [(r["registry"], r["login"]) for r in rows] == [("aplicares", "21095"), ("sirs", CODE)]
    # Kept encrypted with the service's key, never in plain text.
    assert b"S!rs2020!!" not in rows[1]["secret_enc"]
    assert services.secret_box.decrypt(rows[1]["secret_enc"]) == "S!rs2020!!"
    assert services.secret_box.decrypt(rows[0]["secret_enc"]) == "rahasia"

    status = await run_cli(settings, "relay", "status")
    assert status.exit_code == 0, status.output
    lines = status.output.strip().splitlines()
    assert lines[0].startswith(f"{CODE}\tSIRS Online\tpending\tsent 0 of ")
    assert lines[1].startswith(f"{CODE}\tAplicares\toff\t")  # no BEDSVC_RELAY_APLICARES_URL

    result = await run_cli(settings, "relay", "clear", "--hospital", CODE, "--sirs")
    assert result.exit_code == 0, result.output
    assert [r["registry"] for r in await stored(services)] == ["aplicares"]
    again = await run_cli(settings, "relay", "clear", "--hospital", CODE, "--sirs")
    assert again.exit_code != 0
    assert "has no SIRS Online relay credential" in again.output


async def test_cli_refuses_half_a_credential(settings: Settings, factory: Factory) -> None:
    await factory.hospital(CODE)
    for args in (
        ["--sirs-rs-id", CODE],
        ["--sirs-rs-id", CODE, "--sirs-password", "x", "--aplicares-cons-id", "1"],
        [],
    ):
        result = await run_cli(settings, "relay", "set", "--hospital", CODE, *args)
        assert result.exit_code == 2, result.output
    unknown = await run_cli(
        settings, "relay", "set", "--hospital", "9999999", "--sirs-rs-id", "9999999",
        "--sirs-password", "x",
    )  # fmt: skip
    assert unknown.exit_code == 1
    assert "9999999" in unknown.output


async def test_admin_api_sets_and_clears_credentials(
    client: Client, factory: Factory, services: Services
) -> None:
    await factory.hospital(CODE)
    admin = await factory.key("admin")
    response = await client.put(
        f"{RELAY}/sirs", json={"rs_id": CODE, "password": "S!rs2020!!"}, headers=bearer(admin)
    )
    assert response.status_code == 200, response.text
    relays = {r["registry"]: r for r in response.json()["relays"]}
    assert relays["sirs"]["login"] == CODE
    assert relays["sirs"]["state"] == "off"  # BEDSVC_RELAY_SIRS_URL is unset here
    assert "S!rs2020!!" not in response.text

    response = await client.put(
        f"{RELAY}/aplicares", json={"cons_id": "21095", "secret": "s"}, headers=bearer(admin)
    )
    assert response.status_code == 200, response.text
    assert [r["registry"] for r in await stored(services)] == ["aplicares", "sirs"]

    async with services.pool.acquire() as conn:
        audit = await conn.fetch(
            "SELECT action, detail::text FROM audit_events WHERE action LIKE 'relay.%' ORDER BY id"
        )
    assert [a["action"] for a in audit] == ["relay.sirs.set", "relay.aplicares.set"]
    assert all("S!rs2020!!" not in a["detail"] for a in audit)

    response = await client.delete(f"{RELAY}/aplicares", headers=bearer(admin))
    assert response.status_code == 200, response.text
    assert [r["registry"] for r in await stored(services)] == ["sirs"]
    response = await client.delete(f"{RELAY}/aplicares", headers=bearer(admin))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_admin_api_refuses_clearly(client: Client, factory: Factory) -> None:
    await factory.hospital(CODE)
    admin = await factory.key("admin")
    body = {"rs_id": CODE, "password": "x"}
    assert (await client.put(f"{RELAY}/sirs", json=body)).status_code == 401
    hospital_key = await factory.key(hospital_code=CODE)
    refused = await client.put(f"{RELAY}/sirs", json=body, headers=bearer(hospital_key))
    assert refused.status_code == 403
    unknown = await client.put(
        "/api/v1/admin/hospitals/9999999/relay/sirs", json=body, headers=bearer(admin)
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    for bad in ({"rs_id": CODE}, {"rs_id": CODE, "password": ""}, body | {"extra": 1}):
        response = await client.put(f"{RELAY}/sirs", json=bad, headers=bearer(admin))
        assert response.status_code in (400, 422), response.text
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_monitor_lists_every_hospital_with_both_registries(
    client: Client, factory: Factory
) -> None:
    await factory.hospital(CODE)
    await factory.hospital("3274012")
    monitor = await factory.key("monitor")
    response = await client.get("/api/v1/monitor/relay", headers=bearer(monitor))
    assert response.status_code == 200, response.text
    assert [(r["hospital_code"], r["registry"], r["state"]) for r in response.json()["relays"]] == [
        (CODE, "sirs", "off"),
        (CODE, "aplicares", "off"),
        ("3274012", "sirs", "off"),
        ("3274012", "aplicares", "off"),
    ]
    hospital_key = await factory.key(hospital_code=CODE)
    refused = await client.get("/api/v1/monitor/relay", headers=bearer(hospital_key))
    assert refused.status_code == 403
