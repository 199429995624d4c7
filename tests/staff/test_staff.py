"""Ward-staff users and sessions: issue, sign in, throttle, sign out, disable, CSRF."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.app import create_app
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, wait_for_version, ward
from tests.support.cli import run_cli
from tests.support.staff import HOSPITAL, OTHER, sign_in

Client = AsyncTestClient[Litestar]


def set_cookie(response: object) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])  # type: ignore[attr-defined]
    return cookie


async def test_operator_issues_a_user_over_the_api(client: Client, factory: Factory) -> None:
    await factory.hospital(HOSPITAL)
    admin = await factory.key("admin")

    issued = await client.post(
        "/api/v1/admin/users",
        json={"hospital_code": HOSPITAL, "username": "siti"},
        headers=bearer(admin),
    )
    again = await client.post(
        "/api/v1/admin/users",
        json={"hospital_code": HOSPITAL, "username": "siti"},
        headers=bearer(admin),
    )
    bad = await client.post(
        "/api/v1/admin/users",
        json={"hospital_code": HOSPITAL, "username": "Siti Aminah"},
        headers=bearer(admin),
    )
    unknown = await client.post(
        "/api/v1/admin/users",
        json={"hospital_code": "9999999", "username": "budi"},
        headers=bearer(admin),
    )
    not_admin = await client.post(
        "/api/v1/admin/users",
        json={"hospital_code": HOSPITAL, "username": "budi"},
        headers=bearer(await factory.key(hospital_code=HOSPITAL)),
    )

    assert issued.status_code == 201, issued.text
    login = issued.json()
    assert login["username"] == "siti"
    assert login["hospital_code"] == HOSPITAL
    assert len(login["password"]) >= 16
    assert again.status_code == 409
    assert bad.status_code == 422
    assert "username" in bad.json()["detail"]
    assert unknown.status_code == 404
    assert not_admin.status_code == 403
    session = await sign_in(client, "siti", login["password"])
    assert session["hospital"] == {"code": HOSPITAL, "name": f"RS {HOSPITAL}"}


async def test_password_is_stored_as_argon2_only(
    settings: Settings, client: Client, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    password = await factory.user(HOSPITAL, "siti")

    conn = await asyncpg.connect(settings.database.database_url)
    try:
        stored = await conn.fetchval(
            "SELECT password_hash FROM staff_users WHERE username = 'siti'"
        )
    finally:
        await conn.close()
    assert stored.startswith("$argon2id$")
    assert password not in stored


async def test_sign_in_sets_a_strict_http_only_cookie(client: Client, factory: Factory) -> None:
    await factory.hospital(HOSPITAL, name="RSUD Gunung Jati")
    password = await factory.user(HOSPITAL, "siti")

    response = await client.post("/api/v1/session", json={"username": "Siti", "password": password})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["username"] == "siti"
    assert body["hospital"] == {"code": HOSPITAL, "name": "RSUD Gunung Jati"}
    assert len(body["csrf_token"]) >= 32
    assert response.headers["cache-control"] == "no-store"
    morsel = set_cookie(response)["bedsvc_session"]
    assert morsel["httponly"]
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/"
    assert not morsel["secure"]  # plain HTTP here; see the TLS test
    assert morsel.value not in response.text
    shown = await client.get("/api/v1/session")
    assert shown.status_code == 200
    assert shown.json()["csrf_token"] == body["csrf_token"]


async def test_cookie_is_secure_over_tls(settings: Settings, clean: None, factory: Factory) -> None:
    await factory.hospital(HOSPITAL)
    password = await factory.user(HOSPITAL, "siti")
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="https://bedsvc.test") as client:
        response = await client.post(
            "/api/v1/session", json={"username": "siti", "password": password}
        )
    assert response.status_code == 200
    assert set_cookie(response)["bedsvc_session"]["secure"]


async def test_wrong_password_and_unknown_user_are_refused_alike(
    client: Client, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    await factory.user(HOSPITAL, "siti")

    wrong = await client.post("/api/v1/session", json={"username": "siti", "password": "x"})
    unknown = await client.post("/api/v1/session", json={"username": "nobody", "password": "x"})
    empty = await client.post("/api/v1/session", json={"username": "siti"})
    # What a form on another site can send: JSON-looking text/plain.
    forged = await client.post(
        "/api/v1/session",
        content=b'{"username": "siti", "password": "x"}',
        headers={"Content-Type": "text/plain"},
    )

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "Wrong username or password."
    assert "set-cookie" not in wrong.headers
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert empty.status_code == 422
    assert forged.status_code == 415
    assert (await client.get("/api/v1/session")).status_code == 401


@pytest.fixture
async def strict_client(settings: Settings, clean: None) -> AsyncIterator[Client]:
    """Low limits, so that throttling shows after a few attempts."""
    strict = settings.replace(sign_in_max_failures=3, sign_in_max_failures_per_address=5)
    async with AsyncTestClient(app=create_app(strict)) as client:
        yield client


async def test_failed_sign_ins_are_throttled_per_username(
    strict_client: Client, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    password = await factory.user(HOSPITAL, "siti")
    other_password = await factory.user(HOSPITAL, "budi")

    codes = [
        (
            await strict_client.post(
                "/api/v1/session", json={"username": "siti", "password": f"guess{n}"}
            )
        ).status_code
        for n in range(3)
    ]
    refused = await strict_client.post(
        "/api/v1/session", json={"username": "siti", "password": password}
    )
    other = await strict_client.post(
        "/api/v1/session", json={"username": "budi", "password": other_password}
    )

    assert codes == [401, 401, 401]
    # Even the right password waits out the window: the guesser cannot tell it was right.
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert other.status_code == 200


async def test_failed_sign_ins_are_throttled_per_address(
    strict_client: Client, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    password = await factory.user(HOSPITAL, "siti")

    # One address trying many usernames (two tries each, under the per-user limit).
    for n in range(5):
        response = await strict_client.post(
            "/api/v1/session", json={"username": f"user{n // 2}", "password": "guess"}
        )
        assert response.status_code == 401

    refused = await strict_client.post(
        "/api/v1/session", json={"username": "siti", "password": password}
    )
    assert refused.status_code == 429


async def test_sign_out_ends_the_session(client: Client, factory: Factory) -> None:
    await factory.hospital(HOSPITAL)
    password = await factory.user(HOSPITAL, "siti")
    session = await sign_in(client, "siti", password)
    cookie = client.cookies["bedsvc_session"]

    no_csrf = await client.delete("/api/v1/session")
    signed_out = await client.delete(
        "/api/v1/session", headers={"X-CSRF-Token": str(session["csrf_token"])}
    )
    client.cookies.set("bedsvc_session", cookie)  # a copy kept by an attacker
    replayed = await client.get("/api/v1/session")

    assert no_csrf.status_code == 403
    assert signed_out.status_code == 200
    assert set_cookie(signed_out)["bedsvc_session"]["max-age"] == "0"
    assert replayed.status_code == 401


async def test_disabling_a_user_ends_the_session_at_once(
    settings: Settings, client: Client, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    password = await factory.user(HOSPITAL, "siti")
    await sign_in(client, "siti", password)
    admin = await factory.key("admin")

    disabled = await client.delete("/api/v1/admin/users/siti", headers=bearer(admin))
    after = await client.get("/api/v1/session")
    again = await client.post("/api/v1/session", json={"username": "siti", "password": password})
    unknown = await client.delete("/api/v1/admin/users/nobody", headers=bearer(admin))

    assert disabled.status_code == 200
    assert disabled.json() == {"username": "siti", "disabled": True}
    assert after.status_code == 401
    assert again.status_code == 403
    assert "disabled" in again.json()["detail"]
    assert unknown.status_code == 404


async def test_forged_session_cookie_is_refused(client: Client, factory: Factory) -> None:
    await factory.hospital(HOSPITAL)
    client.cookies.set("bedsvc_session", "forged-token")

    shown = await client.get("/api/v1/session")
    pushed = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv",
        content=b"ward_code,name,bed_class,capacity,available\nMAWAR,Mawar,KL3,20,3\n",
        headers={"Content-Type": "text/csv", "X-CSRF-Token": "anything"},
    )

    assert shown.status_code == 401
    assert pushed.status_code == 401


async def test_cli_adds_and_disables_users(
    settings: Settings, client: Client, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)

    added = await run_cli(settings, "users", "add", "--hospital", HOSPITAL, "--username", "siti")
    taken = await run_cli(settings, "users", "add", "--hospital", HOSPITAL, "--username", "siti")
    lines = dict(line.split(": ", 1) for line in added.output.strip().splitlines())
    session = await client.post(
        "/api/v1/session", json={"username": "siti", "password": lines["password"]}
    )
    disabled = await run_cli(settings, "users", "disable", "siti")
    after = await client.get("/api/v1/session")

    assert added.exit_code == 0, added.output
    assert lines["username"] == "siti"
    assert taken.exit_code != 0
    assert "in use" in taken.output
    assert session.status_code == 200
    assert disabled.exit_code == 0, disabled.output
    assert after.status_code == 401


# ---- pushing with a session (the hospital push API and the ward close) ------------------


async def test_signed_in_user_pushes_for_own_hospital_with_csrf_token(
    settings: Settings, client: Client, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    password = await factory.user(HOSPITAL, "siti")
    session = await sign_in(client, "siti", password)
    csrf = {"X-CSRF-Token": str(session["csrf_token"])}

    pushed = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy",
        json=report(ward("MAWAR", "KL3", 20, 3)),
        headers=csrf,
    )
    assert pushed.status_code == 200, pushed.text
    await wait_for_version(client, HOSPITAL, pushed.json()["version"])
    closed = await client.delete(f"/api/v1/hospitals/{HOSPITAL}/wards/MAWAR", headers=csrf)
    assert closed.status_code == 200, closed.text

    conn = await asyncpg.connect(settings.database.database_url)
    try:
        rows = await conn.fetch(
            "SELECT change, key_id, username FROM occupancy_history ORDER BY id"
        )
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [("report", None, "siti"), ("close", None, "siti")]


async def test_session_push_without_csrf_token_is_refused(client: Client, factory: Factory) -> None:
    await factory.hospital(HOSPITAL)
    password = await factory.user(HOSPITAL, "siti")
    await sign_in(client, "siti", password)

    pushed = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy", json=report(ward("MAWAR", "KL3", 20, 3))
    )
    closed = await client.delete(f"/api/v1/hospitals/{HOSPITAL}/wards/MAWAR")

    assert pushed.status_code == 403
    assert "X-CSRF-Token" in pushed.json()["detail"]
    assert closed.status_code == 403


async def test_session_of_another_hospital_is_refused(client: Client, factory: Factory) -> None:
    await factory.hospital(HOSPITAL)
    await factory.hospital(OTHER)
    password = await factory.user(HOSPITAL, "siti")
    session = await sign_in(client, "siti", password)
    csrf = {"X-CSRF-Token": str(session["csrf_token"])}

    pushed = await client.post(
        f"/api/v1/hospitals/{OTHER}/occupancy",
        json=report(ward("MAWAR", "KL3", 20, 3)),
        headers=csrf,
    )
    closed = await client.delete(f"/api/v1/hospitals/{OTHER}/wards/MAWAR", headers=csrf)

    assert pushed.status_code == 403
    assert closed.status_code == 403


async def test_session_routes_are_described_in_the_openapi_document(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    sign_in_doc = schema["paths"]["/api/v1/session"]["post"]
    assert {"200", "401", "403", "415", "429"} <= set(sign_in_doc["responses"])
    assert "application/problem+json" in sign_in_doc["responses"]["429"]["content"]
    assert {"get", "delete"} <= set(schema["paths"]["/api/v1/session"])
    assert "/api/v1/admin/users" in schema["paths"]
