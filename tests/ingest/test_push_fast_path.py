"""The native push's fast path answers exactly as the documented route does: the same status,
headers and problem+json for every kind of request, the same limits, and the write itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.access.keys import hash_token
from bedsvc.app import create_app
from bedsvc.settings import Settings
from tests.support import Factory, bearer, clear_of_minute_edge, report, ward
from tests.support.clock import stop_rate_limit_clock
from tests.support.live import StartServer

URL = "/api/v1/hospitals/{}/occupancy"
# What a client may rely on besides the body.
HEADERS = ("content-type", "www-authenticate", "retry-after")


def answer(response: httpx.Response, code: str) -> tuple[int, dict[str, str], Any]:
    """The response with the hospital's code and the version made alike between the apps."""
    headers = {name: response.headers[name] for name in HEADERS if name in response.headers}
    text = response.text.replace(code, "CODE") if code else response.text
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    if isinstance(body, dict) and "version" in body:
        body["version"] = "V"
    return response.status_code, headers, body


def requests(code: str, key: str, other_key: str, revoked: str) -> list[dict[str, Any]]:
    """One of each kind of push, in an order whose answers do not depend on the one before."""
    now = datetime.now(UTC)
    good = report(ward("MAWAR", available=3), at=now - timedelta(minutes=2))
    huge = {"reported_at": now.isoformat(), "wards": [ward("X" * 30)] * 20_000}
    return [
        {"json": good, "headers": bearer(key)},
        {"json": good, "headers": bearer(key)},  # the same report again: stale
        {"json": good},  # no key
        {"json": good, "headers": bearer("bsk_unknown")},
        {"json": good, "headers": {"Authorization": "Basic eDp5"}},
        {"json": good, "headers": bearer(other_key)},
        {"json": good, "headers": bearer(revoked)},
        {"content": b"{not json", "headers": bearer(key)},
        {"content": b"", "headers": bearer(key)},
        {"content": b"[" * 20_000 + b"]" * 20_000, "headers": bearer(key)},
        {"json": {"reported_at": now.isoformat()}, "headers": bearer(key)},
        {"json": {**good, "extra": 1}, "headers": bearer(key)},
        # Numbers as text: the framework converts them, so the fast path hands them on.
        {
            "json": report(ward("MELATI", capacity="20", available="3"), at=now),  # type: ignore[arg-type]
            "headers": bearer(key),
        },
        {"json": report(ward("ANGGREK", available=30), at=now), "headers": bearer(key)},
        {"json": report(ward("ANGGREK", bed_class="NOPE"), at=now), "headers": bearer(key)},
        {
            "json": report(ward("ANGGREK"), at=now + timedelta(hours=1)),
            "headers": bearer(key),
        },
        {"json": report(ward("BAD\u00e9")), "headers": bearer(key)},
        {"json": report(ward("NUL", name="a\u0000b"), at=now), "headers": bearer(key)},
        {"json": huge, "headers": bearer(key)},
    ]


async def answers(
    settings: Settings, factory: Factory, code: str, *, fast: bool
) -> list[tuple[int, dict[str, str], Any]]:
    await factory.hospital(code)
    other = await factory.hospital(code[:-1] + "9")
    key = await factory.key(hospital_code=code)
    other_key = await factory.key(hospital_code=other)
    revoked = await factory.key(hospital_code=code)
    async with factory.services.pool.acquire() as conn:
        await conn.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE key_hash = $1", hash_token(revoked)
        )
    app = create_app(settings.replace(push_fast_path=fast, max_body_bytes=65536))
    async with AsyncTestClient(app=app) as client:
        return [
            answer(await client.post(URL.format(code), **request), code)
            for request in requests(code, key, other_key, revoked)
        ] + [answer(await client.post(URL.format("3299999"), json={}, headers=bearer(key)), "")]


async def test_the_fast_path_answers_as_the_route_does(
    settings: Settings, clean: None, factory: Factory
) -> None:
    through_route = await answers(settings, factory, "3274011", fast=False)
    fast = await answers(settings, factory, "3274021", fast=True)

    statuses = [status for status, _, _ in fast]
    assert statuses[:10] == [200, 200, 401, 401, 401, 403, 403, 400, 422, 400]
    assert statuses[10:] == [422, 422, 200, 422, 422, 422, 422, 422, 413, 404]
    assert fast[1][2]["stale"] == ["MAWAR"]
    for number, (expected, got) in enumerate(zip(through_route, fast, strict=True)):
        assert got == expected, number


async def test_pushes_on_the_fast_path_skip_the_framework(
    client: AsyncTestClient[Litestar], factory: Factory
) -> None:
    """The framework's own request counter does not see an answered push, and does see one
    handed on to it."""
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)

    def framework_count(text: str) -> float:
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("bedsvc_requests_total{")
            and "/occupancy" in line
            and 'method="POST"' in line
        )

    before = framework_count((await client.get("/metrics")).text)
    accepted = await client.post(URL.format(code), json=report(ward()), headers=bearer(key))
    middle = framework_count((await client.get("/metrics")).text)
    refused = await client.post(URL.format(code), json=report(ward()), headers=bearer("bsk_x"))
    after = framework_count((await client.get("/metrics")).text)

    assert (accepted.status_code, refused.status_code) == (200, 401)
    assert middle == before
    assert after == middle + 1


async def test_the_fast_path_applies_the_rate_limits(
    settings: Settings, clean: None, factory: Factory
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    limited = settings.replace(
        write_rate_limit_per_minute=2, unauthenticated_rate_limit_per_minute=2
    )
    async with AsyncTestClient(app=create_app(limited)) as client:
        stop_rate_limit_clock(client.app)
        url = URL.format(code)
        pushes = [
            await client.post(url, json=report(ward(), minutes_ago=m), headers=bearer(key))
            for m in (3, 2, 1)
        ]
        guesses = [
            await client.post(url, json=report(ward()), headers=bearer(f"bsk_{n}"))
            for n in range(3)
        ]
    assert [p.status_code for p in pushes] == [200, 200, 429]
    assert pushes[2].headers["content-type"] == "application/problem+json"
    assert "credential" in pushes[2].json()["detail"]
    assert 1 <= int(pushes[2].headers["retry-after"]) <= 60
    # Refused keys count against the address, on the fast path as on the route.
    assert [g.status_code for g in guesses] == [401, 401, 429]


async def test_behind_a_trusted_proxy_refused_keys_count_against_the_client(
    start_server: StartServer, factory: Factory
) -> None:
    """On granian, from nginx's address: the fast path believes X-Forwarded-For as the route
    does, so invented keys count against the client behind the proxy, not the proxy."""
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    server = await start_server(
        trusted_proxies=["127.0.0.2"], unauthenticated_rate_limit_per_minute=2
    )
    await clear_of_minute_edge()
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=server.http, transport=transport) as http:

        async def push(client: str, token: str) -> int:
            response = await http.post(
                URL.format(code),
                json=report(ward()),
                headers={**bearer(token), "X-Forwarded-For": client},
            )
            return response.status_code

        guesses = [await push("203.0.113.7", f"bsk_{n}") for n in range(3)]
        other_client = await push("203.0.113.8", "bsk_other")
        accepted = await push("203.0.113.8", key)
    assert guesses == [401, 401, 429]
    assert (other_client, accepted) == (401, 200)
