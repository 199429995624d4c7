"""Nothing one client does locks others out: behind a trusted proxy, each X-Forwarded-For
stands for a different client, as it does for the run that checks the hardening."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from bedsvc.bridges.credentials import issue_aplicares, issue_sirs
from bedsvc.cli import main
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, bearer
from tests.support.aplicares import PPK, room
from tests.support.aplicares import Simrs as Aplicares
from tests.support.live import LiveServer, StartServer
from tests.support.serve import ServeProcess, server_env
from tests.support.sirs import PREFIX

HOSPITAL = "3274011"


@pytest.fixture
async def proxied(start_server: StartServer) -> LiveServer:
    return await start_server(trusted_proxies=["127.0.0.1/32"])


@pytest.fixture
async def served(settings: Settings, clean: None, tmp_path: Path) -> AsyncIterator[ServeProcess]:
    """`bedsvc serve` as operators run it, behind a proxy on 127.0.0.1."""
    env = server_env(settings, tmp_path, BEDSVC_TRUSTED_PROXIES="127.0.0.1/32")
    with ServeProcess(env, "serve") as process:
        await process.ready()
        yield process


def client_at(base_url: str, address: str, *, keep_alive: bool = True) -> httpx.AsyncClient:
    """An HTTP client that the server at `base_url` takes for `address` (nginx's
    X-Forwarded-For)."""
    limits = httpx.Limits() if keep_alive else httpx.Limits(max_keepalive_connections=0)
    return httpx.AsyncClient(
        base_url=base_url, timeout=15, headers={"X-Forwarded-For": address}, limits=limits
    )


async def sirs_get(http: httpx.AsyncClient, rs_id: str, password: str) -> httpx.Response:
    headers = {"X-rs-id": rs_id, "X-pass": password, "X-Timestamp": str(int(time.time()))}
    return await http.get(f"{PREFIX}/Fasyankes", headers=headers)


async def sign_in(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await http.post("/api/v1/session", json={"username": username, "password": password})


async def test_wrong_sirs_passwords_from_one_address_leave_another_address_in(
    proxied: LiveServer, factory: Factory, services: Services
) -> None:
    await factory.hospital(HOSPITAL)
    credential = await issue_sirs(services.pool, services.queries, services.secret_box, HOSPITAL)
    async with (
        client_at(proxied.http, "10.0.0.1") as guesser,
        client_at(proxied.http, "10.0.0.2") as rs,
    ):
        wrong = [(await sirs_get(guesser, HOSPITAL, f"tebakan{i}")).status_code for i in range(10)]
        right = await sirs_get(rs, HOSPITAL, credential.password)
        guessers_right = await sirs_get(guesser, HOSPITAL, credential.password)

    assert set(wrong[:5]) == {401}, wrong
    assert set(wrong) <= {401, 429}, wrong
    assert right.status_code == 200, right.text
    # The guesser's address waits out its window, whatever it sends.
    assert guessers_right.status_code == 429
    assert int(guessers_right.headers["retry-after"]) > 0


async def test_wrong_aplicares_signatures_from_one_address_leave_another_address_in(
    proxied: LiveServer, factory: Factory, services: Services
) -> None:
    await factory.hospital(HOSPITAL, bpjs_ppk_code=PPK)
    credential = await issue_aplicares(
        services.pool, services.queries, services.secret_box, HOSPITAL
    )
    async with (
        client_at(proxied.http, "10.0.0.1") as guesser,
        client_at(proxied.http, "10.0.0.2") as rs,
    ):
        guessing = Aplicares(guesser, credential)  # type: ignore[arg-type]
        wrong = [
            (await guessing.post("create", room(), secret=f"x{i}")).status_code for i in range(10)
        ]
        right = await Aplicares(rs, credential).post("create", room())  # type: ignore[arg-type]

    assert set(wrong) <= {401, 429}, wrong
    assert wrong.count(401) >= 5, wrong
    assert right.status_code == 200, right.text


async def test_wrong_staff_passwords_from_one_address_leave_another_address_in(
    proxied: LiveServer, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    password = await factory.user(HOSPITAL, "siti")
    async with (
        client_at(proxied.http, "10.0.0.1") as guesser,
        client_at(proxied.http, "10.0.0.2") as nurse,
    ):
        wrong = [(await sign_in(guesser, "siti", f"tebakan{i}")).status_code for i in range(6)]
        right = await sign_in(nurse, "siti", password)

    assert wrong == [401] * 5 + [429]
    assert right.status_code == 200, right.text


async def test_parallel_wrong_sign_ins_stay_within_the_limit(
    proxied: LiveServer, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    await factory.user(HOSPITAL, "siti")
    async with client_at(proxied.http, "10.0.0.7") as guesser:
        responses = await asyncio.gather(
            *(sign_in(guesser, "siti", f"tebakan{i}") for i in range(40))
        )
    statuses = Counter(response.status_code for response in responses)

    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] <= 10, statuses
    assert statuses[429] >= 30, statuses


async def test_invented_credentials_meet_the_limit_per_address(
    served: ServeProcess, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    shapes = [
        lambda: f"Bearer {secrets.token_urlsafe(24)}",
        lambda: f"Bearer {secrets.token_hex(3)}!%",
        lambda: f"Basic {secrets.token_urlsafe(12)}",
        lambda: secrets.token_hex(8),
        lambda: f"Bearer bsk_{secrets.token_urlsafe(32)}",
    ]
    # Malformed, one way or another: the body, the key's form, the path's key id.
    requests = [
        ("POST", f"/api/v1/hospitals/{HOSPITAL}/occupancy"),
        ("POST", "/api/v1/admin/hospitals"),
        ("GET", "/api/v1/monitor/history?bucket=bad"),
        ("POST", f"/api/v1/hospitals/{HOSPITAL}/occupancy.csv"),
        ("DELETE", "/api/v1/admin/keys/%00"),
        ("POST", "/api/v1/session"),
    ]
    statuses = []
    # Each request on a connection of its own, as a flood from many sockets comes: a server
    # that refuses a request before reading its body does not keep that connection, and on
    # one kept-alive connection the next request could be sent into its closing. The server is
    # `bedsvc serve`: granian's embedded server, which the other tests here run on their own
    # event loop, now and then closed one of the 300 connections without an answer.
    async with client_at(served.http, "10.0.0.9", keep_alive=False) as flooder:
        # The refused credentials (3 shapes of 5) and the requests without one (2 of 5) fill
        # two buckets of the address: the first full one answers 429 after about 200 requests.
        # 500 leave that many again when the minute's window ends in between.
        for i in range(500):
            method, path = requests[i % len(requests)]
            authorization = shapes[(i // len(requests)) % len(shapes)]()
            response = await flooder.request(
                method,
                path,
                content=b"{not json",
                headers={"Authorization": authorization, "Content-Type": "application/json"},
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
        # Another client of the same proxy is not affected.
        async with client_at(served.http, "10.0.0.10") as other:
            bystander = await other.get("/api/v1/monitor/alerts")

    assert 429 in statuses, Counter(statuses)
    assert 500 not in statuses
    assert bystander.status_code == 401


async def test_ipv6_clients_are_grouped_by_their_prefix(proxied: LiveServer) -> None:
    for n in range(10):
        async with client_at(proxied.http, f"2001:db8:0:1::{n + 1:x}") as guesser:
            refused = await sirs_get(guesser, f"32740{n:02d}", "salah")
            assert refused.status_code == 401, refused.text
    async with client_at(proxied.http, "2001:db8:0:1:ffff::1") as same_network:
        grouped = await sirs_get(same_network, "3274099", "salah")
    async with client_at(proxied.http, "2001:db8:0:2::1") as other_network:
        apart = await sirs_get(other_network, "3274099", "salah")

    assert grouped.status_code == 429
    assert apart.status_code == 401


async def test_many_failures_of_one_login_slow_it_but_the_right_password_passes(
    start_server: StartServer, factory: Factory, services: Services
) -> None:
    server = await start_server(
        trusted_proxies=["127.0.0.1/32"], sign_in_max_failures=2, sign_in_max_delay_seconds=0.3
    )
    await factory.hospital(HOSPITAL)
    credential = await issue_sirs(services.pool, services.queries, services.secret_box, HOSPITAL)
    for n in range(4):  # a botnet: each address tries once
        async with client_at(server.http, f"10.3.0.{n}") as bot:
            assert (await sirs_get(bot, HOSPITAL, "salah")).status_code == 401
    async with client_at(server.http, "10.4.0.1") as rs:
        started = time.monotonic()
        right = await sirs_get(rs, HOSPITAL, credential.password)
        waited = time.monotonic() - started

    assert right.status_code == 200, right.text
    assert 0.3 <= waited < 3, waited


async def test_an_operator_unlocks_a_user(
    proxied: LiveServer, factory: Factory, settings: Settings
) -> None:
    await factory.hospital(HOSPITAL)
    password = await factory.user(HOSPITAL, "siti")
    admin = await factory.key("admin")
    async with client_at(proxied.http, "10.0.0.1") as nurse:
        for i in range(5):
            assert (await sign_in(nurse, "siti", f"lupa{i}")).status_code == 401
        assert (await sign_in(nurse, "siti", password)).status_code == 429

        unlocked = await nurse.post("/api/v1/admin/users/siti/unlock", headers=bearer(admin))
        assert unlocked.status_code == 200, unlocked.text
        assert unlocked.json() == {"username": "siti", "unlocked": True}
        assert (await sign_in(nurse, "siti", password)).status_code == 200

    # The same from the command line, on a phone's address this time.
    async with client_at(proxied.http, "10.0.0.2") as nurse:
        for i in range(5):
            assert (await sign_in(nurse, "siti", f"lupa{i}")).status_code == 401
        assert (await sign_in(nurse, "siti", password)).status_code == 429
        env = {
            "BEDSVC_DATABASE_URL": settings.database.database_url,
            "BEDSVC_REDIS_URL": settings.redis.redis_url,
            "BEDSVC_REDIS_PREFIX": settings.redis.redis_prefix,
            "BEDSVC_LOG_LEVEL": "WARNING",
        }
        result = await asyncio.to_thread(
            CliRunner().invoke, main, ["users", "unlock", "siti"], env=env
        )
        assert result.exit_code == 0, result.output
        assert (await sign_in(nurse, "siti", password)).status_code == 200

        unknown = await nurse.post("/api/v1/admin/users/nobody/unlock", headers=bearer(admin))
        assert unknown.status_code == 404
