"""BEDSVC_TRUSTED_PROXIES: X-Forwarded-For / X-Forwarded-Proto believed only from the proxies
named, and then only up to the right-most hop that is not one of them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bedsvc.access.proxies import TrustedProxies, apply_forwarded, parse_networks
from bedsvc.settings import Settings
from tests.support import clear_of_minute_edge
from tests.support.live import StartServer

NGINX = TrustedProxies(parse_networks(["10.0.0.0/8", "127.0.0.1"]))


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),
        # Left of the first untrusted hop anything may be forged.
        ("127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"),
        # A chain of our own proxies: the client is the first hop before them.
        ("127.0.0.1", "203.0.113.7, 10.1.2.3", "203.0.113.7"),
        # Not a proxy of ours: its header is ignored.
        ("192.0.2.9", "203.0.113.7", "192.0.2.9"),
        # Garbage in the chain stops the walk at the last address vouched for.
        ("127.0.0.1", "203.0.113.7, not-an-address", "127.0.0.1"),
        ("127.0.0.1", None, "127.0.0.1"),
    ],
)
def test_the_client_is_the_right_most_untrusted_hop(
    peer: str, forwarded_for: str | None, expected: str
) -> None:
    assert NGINX.real_client(peer, "http", forwarded_for, None)[0] == expected


def scope(peer: str, kind: str = "http", **headers: str) -> dict[str, Any]:
    return {
        "type": kind,
        "scheme": "http" if kind == "http" else "ws",
        "client": (peer, 50000),
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


def test_the_scheme_is_believed_only_from_a_trusted_proxy() -> None:
    trusted = scope("127.0.0.1", x_forwarded_for="203.0.113.7", x_forwarded_proto="https")
    apply_forwarded(trusted, NGINX)  # type: ignore[arg-type]
    assert trusted["client"] == ("203.0.113.7", 0)
    assert trusted["scheme"] == "https"

    socket = scope(
        "127.0.0.1", "websocket", x_forwarded_for="203.0.113.7", x_forwarded_proto="https"
    )
    apply_forwarded(socket, NGINX)  # type: ignore[arg-type]
    assert socket["scheme"] == "wss"

    stranger = scope("192.0.2.9", x_forwarded_for="203.0.113.7", x_forwarded_proto="https")
    apply_forwarded(stranger, NGINX)  # type: ignore[arg-type]
    assert stranger["client"] == ("192.0.2.9", 50000)
    assert stranger["scheme"] == "http"


def test_a_setting_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(ValueError, match="not an address or CIDR"):
        Settings(trusted_proxies="10.0.0.0/8,nginx.internal")  # type: ignore[arg-type]


async def statuses(base: str, source: str, forwarded_for: list[str]) -> list[int]:
    """Unauthenticated requests from the loopback address `source`, one per X-Forwarded-For."""
    await clear_of_minute_edge()
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(base_url=base, transport=transport) as http:
        return [
            (
                await http.get("/api/v1/monitor/summary", headers={"X-Forwarded-For": value})
            ).status_code
            for value in forwarded_for
        ]


async def test_a_trusted_proxy_gives_each_client_its_own_limit(start_server: StartServer) -> None:
    server = await start_server(
        trusted_proxies=["127.0.0.2"], unauthenticated_rate_limit_per_minute=2
    )
    forwarded = ["203.0.113.7", "203.0.113.7", "203.0.113.7", "203.0.113.8"]
    assert await statuses(server.http, "127.0.0.2", forwarded) == [401, 401, 429, 401]


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(
    start_server: StartServer,
) -> None:
    server = await start_server(
        trusted_proxies=["127.0.0.2"], unauthenticated_rate_limit_per_minute=2
    )
    forwarded = ["203.0.113.7", "203.0.113.8", "203.0.113.9"]
    assert await statuses(server.http, "127.0.0.3", forwarded) == [401, 401, 429]


async def test_without_trusted_proxies_the_header_means_nothing(
    start_server: StartServer,
) -> None:
    server = await start_server(unauthenticated_rate_limit_per_minute=2)
    forwarded = ["203.0.113.7", "203.0.113.8", "203.0.113.9"]
    assert await statuses(server.http, "127.0.0.2", forwarded) == [401, 401, 429]
