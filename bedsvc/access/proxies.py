"""The real client behind a reverse proxy: who sent the request and over which scheme.

nginx (deploy/nginx/bedsvc.conf) appends the address it saw to `X-Forwarded-For` and states
the scheme in `X-Forwarded-Proto`. Anyone can send those headers, so they are believed only
when the peer is one of `BEDSVC_TRUSTED_PROXIES`; the client is then the right-most address in
`X-Forwarded-For` that is not itself a trusted proxy (left of it, anything may be forged).
`apply_forwarded` writes the result into the ASGI scope, so that everything that reads
`request.client` or `request.url.scheme` (rate limits, logs, the Secure cookie flag) sees the
real client without knowing about proxies: the HTTP workers' `ForwardedMiddleware`
(bedsvc/access/forwarded.py) and the live processes call it. No framework here: a live
process loads this module without Litestar.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from litestar.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses and CIDRs (`10.0.0.5`, `10.0.0.0/8`, `::1`); a bare address is a /32 or /128."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


class TrustedProxies:
    def __init__(self, networks: Sequence[Network]) -> None:
        self.networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, host: str | None) -> bool:
        if not host or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False  # a Unix socket path or a name: not one of ours
        return any(address in network for network in self.networks)

    def real_client(
        self, peer: str | None, scheme: str, forwarded_for: str | None, forwarded_proto: str | None
    ) -> tuple[str | None, str]:
        """(address, scheme) of the client: the peer's own unless the peer is trusted."""
        if not self.trusts(peer) or not forwarded_for:
            return peer, scheme
        hops = [hop.strip() for hop in forwarded_for.split(",")]
        client = peer
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                break  # garbage in the chain: stop at the last address we could vouch for
            client = hop
            if not self.trusts(hop):
                break
        proto = (forwarded_proto or "").strip().lower()
        return client, _SCHEMES.get(proto, scheme)


def _header(scope: Scope, name: bytes) -> str | None:
    """All values of a header, joined as one list (a proxy may add its own line)."""
    values = [value.decode("latin-1") for key, value in scope["headers"] if key == name]
    return ",".join(values) if values else None


def apply_forwarded(scope: Scope, proxies: TrustedProxies) -> None:
    """Rewrites `client` and `scheme` in the scope to the real client's."""
    peer = scope.get("client")
    peer_host = peer[0] if peer else None
    if not proxies.trusts(peer_host):
        return
    http_scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    host, scheme = proxies.real_client(
        peer_host,
        http_scheme,
        _header(scope, b"x-forwarded-for"),
        _header(scope, b"x-forwarded-proto"),
    )
    if host is not None:
        scope["client"] = (host, 0)
    kind: object = scope["type"]  # the server's plain string: no framework enum here
    if kind == "websocket":
        scheme = "wss" if scheme == "https" else "ws"
    scope["scheme"] = scheme
