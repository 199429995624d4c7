"""Who a request is counted against, and the 429 when they are over their limit.

- A request with a credential (an API key, Aplicares `X-cons-id`, SIRS `X-rs-id` + `X-pass`)
  counts against that credential: `BEDSVC_WRITE_RATE_LIMIT_PER_MINUTE`. Hospitals behind one
  address, or behind nginx, no longer share a bucket, and one hospital's flood stops only it.
- Any other request counts against the real client address (see bedsvc/access/proxies.py):
  `BEDSVC_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE`.
- A request whose credential was not accepted (see bedsvc/ratelimit/accepted.py: a 401, a
  403, or a refusal before the credential was even checked) counts against the address too,
  and an address over the limit with those cannot try more credentials this minute: inventing
  a new key per request does not escape the limit.
- Addresses are grouped as every per-address limit groups them: IPv6 by
  `BEDSVC_IPV6_PREFIX_LENGTH`.
- The public reads, pages, health and metrics are not limited: many citizens may share one
  address behind a carrier's NAT, and those answers come from memory.

The count runs before authentication, so a refused request costs one Redis round trip and
no database work. The credential is hashed before it becomes part of a Redis key.
"""

from __future__ import annotations

import hashlib
import re

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from bedsvc.access.client_address import address_group
from bedsvc.errors import TooManyRequests
from bedsvc.ratelimit.accepted import credential_accepted
from bedsvc.ratelimit.counter import RateCounter
from bedsvc.settings import Settings

NOT_LIMITED = re.compile(
    r"^/api/v1/(availability|hospitals/[^/]+$|bed-classes|regions|bpjs-partners|live)"
    r"|^/(healthz|readyz|metrics|schema)"
    # Pages and their files: many citizens may share one address behind a NAT.
    r"|^/($|peta$|dashboard$|rs$|papan/|manifest\.webmanifest$|sw\.js$|static/)"
)


def _not_limited(scope: Scope) -> bool:
    return NOT_LIMITED.match(scope["path"]) is not None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def credential_of(scope: Scope) -> str | None:
    """The bucket of the credential a request carries, or None for an anonymous request."""
    headers = dict(scope["headers"])
    authorization = headers.get(b"authorization", b"")
    if authorization[:7].lower() == b"bearer " and authorization[7:].strip():
        return "key:" + _digest(authorization[7:].strip().decode("latin-1"))
    # The cons-id, not the signature: the signature changes every second.
    cons_id = headers.get(b"x-cons-id", b"").strip()
    if cons_id:
        return "aplicares:" + _digest(cons_id.decode("latin-1"))
    # rs_id is a public hospital code: with the password, so that a stranger guessing
    # passwords for a hospital fills a bucket of their own, not the hospital's.
    rs_id, password = headers.get(b"x-rs-id", b"").strip(), headers.get(b"x-pass", b"").strip()
    if rs_id and password:
        return "sirs:" + _digest(rs_id.decode("latin-1"), password.decode("latin-1"))
    return None


class RateLimitMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)
    should_bypass_for_scope = staticmethod(_not_limited)

    def __init__(self, settings: Settings) -> None:
        self.per_credential = settings.write_rate_limit_per_minute
        self.per_address = settings.unauthenticated_rate_limit_per_minute
        self.ipv6_prefix = settings.ipv6_prefix_length

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        counter: RateCounter = scope["litestar_app"].state.rate_limits
        client = scope.get("client")
        host = address_group(client[0], self.ipv6_prefix) if client else "unknown"
        address = f"addr:{host}"
        credential = credential_of(scope)
        if credential is None:
            count, _ = await counter.add(address)
            if count > self.per_address:
                self.refuse(counter, "Too many requests from this address")
            await next_app(scope, receive, send)
            return

        failures = f"failed-{address}"
        count, failed = await counter.add(credential, peek=failures)
        if count > self.per_credential:
            self.refuse(counter, "Too many requests with this credential")
        if failed >= self.per_address:
            self.refuse(counter, "Too many refused credentials from this address")

        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, watch)
        finally:
            if not credential_accepted(scope) and not 200 <= status < 400:
                await counter.add(failures)

    @staticmethod
    def refuse(counter: RateCounter, reason: str) -> None:
        retry_after = counter.retry_after()
        raise TooManyRequests(f"{reason}; retry in {retry_after} s.", retry_after=retry_after)
