"""Notify-when-free over Web Push, against a real local HTTP server standing in for the browser's
push service: the push is VAPID-signed (RFC 8292) and decrypts (RFC 8291, aes128gcm) with the
keys the browser subscribed with, as a browser would decrypt it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.app import create_app
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.imports import loaded_with
from tests.support.waits import eventually


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class PushService:
    """A push service on 127.0.0.1: records every request, answers `status`."""

    port: int = 0
    status: int = 201
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            service.received.append((self.path, dict(self.headers.items()), body))
            self.send_response(service.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()


@dataclass
class Browser:
    """A browser's side of a subscription: its key pair and authentication secret."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> dict[str, Any]:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        decoded: dict[str, Any] = json.loads(plain)
        return decoded


def check_vapid(authorization: str, public_key: str, audience: str) -> dict[str, Any]:
    """The JWT of `vapid t=…,k=…` is signed (ES256) by the key bedsvc publishes."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key
    header, payload, signature = fields["t"].split(".")
    raw = unb64url(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    key.verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    claims: dict[str, Any] = json.loads(unb64url(payload))
    assert claims["aud"] == audience
    assert claims["sub"].startswith(("mailto:", "https://"))
    return claims


@pytest.fixture
async def client(settings: Settings, clean: None) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The app sending to push services on 127.0.0.1 over plain HTTP."""
    # A key made by another test process (under its own secret key) is not this one's.
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        await conn.execute("DELETE FROM webpush_vapid_key")
    finally:
        await conn.close()
    local = settings.replace(
        webpush_endpoint_hosts=["127.0.0.1"], webpush_allow_http=True, webpush_max_per_address=3
    )
    async with AsyncTestClient(app=create_app(local)) as test_client:
        yield test_client


async def full_icu(factory: Factory) -> str:
    await factory.hospital("3274011", "3274", name="RSUD Gunung Jati")
    return await factory.key(hospital_code="3274011")


async def push(client: AsyncTestClient[Litestar], key: str, *wards: dict[str, Any]) -> None:
    response = await client.post(
        "/api/v1/hospitals/3274011/occupancy",
        json=report(*wards, minutes_ago=0),
        headers=bearer(key),
    )
    assert response.status_code == 200, response.text


async def received_within(service: PushService, count: int, seconds: float) -> None:
    async def received() -> int:
        return len(service.received)

    await eventually(received, lambda n: n >= count, f"{count} push(es)", timeout=seconds)


async def nothing_left_to_send(client: AsyncTestClient[Litestar]) -> None:
    """A subscription ends with its push: once none is left, no push can still come."""

    # A connection of the test's own: the app's pool lives on the test client's loop.
    conn = await asyncpg.connect(client.app.state.services.settings.database.database_url)

    async def left() -> int:
        return int(await conn.fetchval("SELECT count(*) FROM webpush_subscriptions"))

    try:
        await eventually(left, lambda n: n == 0, "every subscription sent or ended")
    finally:
        await conn.close()


async def test_a_freed_icu_bed_sends_one_signed_encrypted_push(
    client: AsyncTestClient[Litestar], factory: Factory, push_service: PushService
) -> None:
    key = await full_icu(factory)
    await push(client, key, ward("ICU", "ICU", 4, 0), ward("MAWAR", "KL3", 20, 5))
    public_key = (await client.get("/api/v1/notifications/key")).json()["public_key"]
    browser = Browser(push_service.url("/push/browser-1"))

    response = await client.post(
        "/api/v1/notifications",
        json={
            "subscription": browser.subscription(),
            "hospital_code": "3274011",
            "bed_class": "ICU",
        },
    )
    assert response.status_code == 201, response.text

    # Other wards changing, or the ICU staying full, send nothing.
    await push(client, key, ward("ICU", "ICU", 4, 0), ward("MAWAR", "KL3", 20, 2))
    await push(client, key, ward("ICU", "ICU", 4, 1))
    await received_within(push_service, 1, 15)

    path, headers, body = push_service.received[0]
    assert path == "/push/browser-1"
    assert headers["Content-Encoding"] == "aes128gcm"
    assert int(headers["TTL"]) > 0
    check_vapid(headers["Authorization"], public_key, f"http://127.0.0.1:{push_service.port}")
    message = browser.decrypt(body)
    assert "RSUD Gunung Jati" in message["body"]
    assert "ICU" in message["title"]
    assert message["hospital_code"] == "3274011"

    # The subscription ended with its push: the ICU filling and freeing again sends no more.
    await push(client, key, ward("ICU", "ICU", 4, 0))
    await push(client, key, ward("ICU", "ICU", 4, 2))
    await nothing_left_to_send(client)
    assert len(push_service.received) == 1


async def test_a_region_subscription_names_the_hospital_that_freed_a_bed(
    client: AsyncTestClient[Litestar], factory: Factory, push_service: PushService
) -> None:
    key = await full_icu(factory)
    await factory.hospital("3274022", "3274", name="RS Pelabuhan Cirebon")
    other = await factory.key(hospital_code="3274022")
    await push(client, key, ward("ICU", "ICU", 4, 0))
    browser = Browser(push_service.url("/push/browser-2"))
    subscribe = {"subscription": browser.subscription(), "region": "3274", "bed_class": "ICU"}
    assert (await client.post("/api/v1/notifications", json=subscribe)).status_code == 201

    # A new hospital's first report with a free ICU bed is the change from none.
    response = await client.post(
        "/api/v1/hospitals/3274022/occupancy",
        json=report(ward("ICU_B", "ICU", 2, 1), minutes_ago=0),
        headers=bearer(other),
    )
    assert response.status_code == 200
    await received_within(push_service, 1, 15)
    assert "RS Pelabuhan Cirebon" in browser.decrypt(push_service.received[0][2])["body"]


async def test_refusals(
    client: AsyncTestClient[Litestar], factory: Factory, push_service: PushService
) -> None:
    key = await full_icu(factory)
    await push(client, key, ward("ICU", "ICU", 4, 0), ward("MAWAR", "KL3", 20, 5))
    browser = Browser(push_service.url("/push/browser-3"))

    def asking(endpoint: str, **fields: Any) -> dict[str, Any]:
        subscription = browser.subscription() | {"endpoint": endpoint}
        return {
            "subscription": subscription,
            "bed_class": "ICU",
            "hospital_code": "3274011",
        } | fields

    # The server never POSTs to an address the caller chose.
    for endpoint in (
        "http://127.0.0.2:9/push",
        "https://push.evil.example/push",
        "http://user:pw@127.0.0.1:1/x",
        "ftp://127.0.0.1/x",
    ):
        response = await client.post("/api/v1/notifications", json=asking(endpoint))
        assert response.status_code == 422, endpoint
        assert response.json()["errors"][0]["field"] == "subscription.endpoint"

    ok = browser.endpoint
    response = await client.post("/api/v1/notifications", json=asking(ok, bed_class="KL3"))
    assert response.status_code == 409  # a bed is free: nothing to wait for
    response = await client.post("/api/v1/notifications", json=asking(ok, hospital_code="9999"))
    assert response.status_code == 404
    response = await client.post("/api/v1/notifications", json=asking(ok, region="3274"))
    assert response.status_code == 422  # one hospital or one region
    bad_key = asking(ok)
    bad_key["subscription"]["keys"]["p256dh"] = b64url(b"\x04" + b"\x01" * 64)
    response = await client.post("/api/v1/notifications", json=bad_key)
    assert response.status_code == 422

    # Unsubscribed, a freed bed sends nothing.
    assert (await client.post("/api/v1/notifications", json=asking(ok))).status_code == 201
    response = await client.request("DELETE", "/api/v1/notifications", json={"endpoint": ok})
    assert response.status_code == 204
    await push(client, key, ward("ICU", "ICU", 4, 3))
    await nothing_left_to_send(client)
    assert push_service.received == []


async def test_a_gone_subscription_is_dropped_and_the_cap_per_address(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    push_service: PushService,
    settings: Settings,
) -> None:
    key = await full_icu(factory)
    await push(client, key, ward("ICU", "ICU", 4, 0))
    push_service.status = 410
    cap = client.app.state.services.settings.notifications.webpush_max_per_address
    for n in range(cap):
        browser = Browser(push_service.url(f"/push/gone-{n}"))
        body = {
            "subscription": browser.subscription(),
            "hospital_code": "3274011",
            "bed_class": "ICU",
        }
        assert (await client.post("/api/v1/notifications", json=body)).status_code == 201
    body["subscription"] = Browser(push_service.url("/push/one-too-many")).subscription()
    response = await client.post("/api/v1/notifications", json=body)
    assert response.status_code == 429

    await push(client, key, ward("ICU", "ICU", 4, 1))
    await received_within(push_service, cap, 15)
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        deadline = asyncio.get_running_loop().time() + 5
        while await conn.fetchval("SELECT count(*) FROM webpush_subscriptions"):
            assert asyncio.get_running_loop().time() < deadline, "410 did not drop it"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


def test_a_worker_starts_without_the_web_push_library() -> None:
    """pywebpush brings aiohttp and requests: loaded at the first push, not at every worker's
    start."""
    assert loaded_with("bedsvc.app", {"pywebpush", "aiohttp"}) == []
