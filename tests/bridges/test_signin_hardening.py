"""Bridge sign-in probed as an attacker would: floods of wrong passwords, unknown logins."""

from __future__ import annotations

import time

import asyncpg
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.app import create_app
from bedsvc.bridges.credentials import SirsCredential, md5_hex
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, RedisProcess
from tests.support.sirs import PREFIX, Simrs, bed, hospital_with_bridge, refused, status_of

Client = AsyncTestClient[Litestar]


async def test_a_flood_of_wrong_passwords_is_cheap_and_refused(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    credential = await hospital_with_bridge(factory, services)
    simrs = Simrs(client, credential)
    limit = settings.access.sign_in_max_failures

    started = time.perf_counter()
    statuses = [
        (await simrs.send("GET", "Fasyankes", password=f"tebakan{i}")).status_code
        for i in range(limit + 40)
    ]
    elapsed = time.perf_counter() - started

    assert statuses[:limit] == [401] * limit
    assert set(statuses[limit:]) == {429}
    # An Argon2 check took ~150 ms each; a keyed hash and a counter take well under that.
    assert elapsed / len(statuses) < 0.05, f"{elapsed / len(statuses) * 1000:.1f} ms a sign-in"
    throttled = await simrs.send("GET", "Fasyankes", password="tebakan-lagi")
    refused(throttled, 429, "Terlalu banyak")
    assert 0 < int(throttled.headers["retry-after"]) <= settings.access.sign_in_window_seconds
    # The hospital is locked out for the window too: that is the price of the limit.
    refused(await simrs.send("GET", "Fasyankes"), 429, "Terlalu banyak")


async def test_the_limit_per_login_is_shared_by_workers(
    factory: Factory, services: Services, settings: Settings
) -> None:
    """Failures counted by one worker are seen by another (Redis), not per process."""
    credential = await hospital_with_bridge(factory, services)
    limit = settings.access.sign_in_max_failures
    async with (
        AsyncTestClient(app=create_app(settings)) as first,
        AsyncTestClient(app=create_app(settings)) as second,
    ):
        for i in range(limit):
            worker = first if i % 2 else second
            response = await Simrs(worker, credential).send("GET", "Fasyankes", password=f"x{i}")
            assert response.status_code == 401
        refused(await Simrs(first, credential).send("GET", "Fasyankes"), 429, "Terlalu banyak")
        refused(await Simrs(second, credential).send("GET", "Fasyankes"), 429, "Terlalu banyak")


async def test_the_limit_holds_in_process_while_redis_is_down(
    own_redis_client: Client,
    redis_process: RedisProcess,
    factory: Factory,
    services: Services,
    settings: Settings,
) -> None:
    credential = await hospital_with_bridge(factory, services)
    simrs = Simrs(own_redis_client, credential)
    redis_process.stop()

    assert (await simrs.send("GET", "Fasyankes")).status_code == 200
    limit = settings.access.sign_in_max_failures
    statuses = [
        (await simrs.send("GET", "Fasyankes", password=f"x{i}")).status_code
        for i in range(limit + 1)
    ]

    assert statuses == [401] * limit + [429]


async def test_an_unknown_login_answers_like_a_wrong_password(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    credential = await hospital_with_bridge(factory, services)
    await factory.hospital("3274012")  # a hospital without SIRS credentials
    known = Simrs(client, credential)
    unknown = Simrs(client, SirsCredential(rs_id="9999999", password="x"))
    no_bridge = Simrs(client, SirsCredential(rs_id="3274012", password="x"))
    # Stay under the limits: of each login from this address, and of the address.
    logins = {"known": known, "unknown": unknown, "no_bridge": no_bridge}
    times: dict[str, list[float]] = {name: [] for name in logins}
    answers = set()
    rounds = min(
        settings.access.sign_in_max_failures,
        settings.access.sign_in_max_failures_per_address // len(logins),
    )
    for i in range(rounds):
        for name, simrs in logins.items():
            started = time.perf_counter()
            response = await simrs.send("GET", "Fasyankes", password=f"salah{i}")
            times[name].append(time.perf_counter() - started)
            answers.add((response.status_code, response.text))

    # Same status and body, whoever the login is.
    assert len(answers) == 1, answers
    assert next(iter(answers))[0] == 401
    # Timing tells nothing useful: the fastest answers differ by far less than an Argon2
    # check did. The fastest, not the median: a busy machine only ever adds to a time.
    fastest = {name: min(values) for name, values in times.items()}
    assert max(fastest.values()) - min(fastest.values()) < 0.02, fastest


async def test_md5_and_plain_forms_both_sign_in_and_others_do_not(
    client: Client, factory: Factory, services: Services
) -> None:
    credential = await hospital_with_bridge(factory, services)
    simrs = Simrs(client, credential)

    assert (await simrs.send("GET", "Fasyankes")).status_code == 200
    upper_md5 = md5_hex(credential.password).upper()
    assert (await simrs.send("GET", "Fasyankes", password=upper_md5)).status_code == 200
    # The MD5 of the MD5 is not the password, nor the stored hash's hex.
    twice = md5_hex(md5_hex(credential.password))
    refused(await simrs.send("GET", "Fasyankes", password=twice), 401, "salah")
    async with services.pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT password_hash FROM sirs_credentials WHERE hospital_code = $1",
            credential.rs_id,
        )
    assert stored.startswith("hmac-sha256$")
    assert credential.password not in stored
    for part in stored.split("$")[1:]:
        refused(await simrs.send("GET", "Fasyankes", password=part), 401, "salah")


async def test_an_argon2_hash_works_once_and_is_replaced(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    """Credentials issued before the keyed hash keep working and are upgraded in place."""
    await factory.hospital("3274011")
    password = "LegacyPassword0123456789"
    legacy = PasswordHasher().hash(md5_hex(password))
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        await conn.execute(
            "INSERT INTO sirs_credentials (hospital_code, password_hash) VALUES ($1, $2)",
            "3274011",
            legacy,
        )
        simrs = Simrs(client, SirsCredential(rs_id="3274011", password=password))
        refused(await simrs.send("GET", "Fasyankes", password="salah"), 401, "salah")
        md5_only = Simrs(client, SirsCredential("3274011", password), md5=True)
        assert (await md5_only.send("GET", "Fasyankes")).status_code == 200
        still = await conn.fetchval("SELECT password_hash FROM sirs_credentials")
        assert still == legacy  # an MD5 sign-in cannot make the plain form's hash

        assert status_of(await simrs.send("POST", "Fasyankes", bed()))["status"] == "200"

        upgraded = await conn.fetchval("SELECT password_hash FROM sirs_credentials")
        assert upgraded.startswith("hmac-sha256$")
        assert (await md5_only.send("GET", "Fasyankes")).status_code == 200
        assert (await simrs.send("GET", "Fasyankes")).status_code == 200
    finally:
        await conn.close()


async def test_inactive_hospital_cannot_sign_in(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    credential = await hospital_with_bridge(factory, services)
    await factory.hospital(credential.rs_id, active=False)

    refused(await Simrs(client, credential).send("POST", "Fasyankes", bed()), 403, "tidak aktif")
    response = await client.get(f"{PREFIX}/Fasyankes", headers=Simrs(client, credential).headers())
    refused(response, 403, "tidak aktif")
