"""Who a request is counted against, and the 429 when they are over their limit.

- A request with a credential (an API key, Aplicares `X-cons-id`, SIRS `X-rs-id` + `X-pass`)
  counts against that credential: `BEDSVC_WRITE_RATE_LIMIT_PER_MINUTE`. Hospitals behind one
  address, or behind nginx, no longer share a bucket, and one hospital's flood stops only it.
- Any other request counts against the real client address (see bedsvc/access/proxies.py):
  `BEDSVC_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE`.
- A request whose credential was not accepted (see bedsvc/access/accepted.py: a 401, a 403,
  or a refusal before the credential was even checked; not a 5xx) counts against the address
  too, and an address over the limit with those cannot try more credentials this minute:
  inventing a new key per request does not escape the limit.
- Addresses are grouped as every per-address limit groups them: IPv6 by
  `BEDSVC_IPV6_PREFIX_LENGTH`.

The limits belong to the routers that take writes, credentials or work worth limiting: each
lists `rate_limited` in its `middleware` (the public reads, pages, health and metrics do
not: many citizens may share one address behind a carrier's NAT, and those answers come from
memory). The native push's fast path (bedsvc/ingest/fastpath.py) applies the same
`RateLimits`. The count runs before authentication, so a refused request costs no database
work; it is counted in the worker and reconciled with Redis in batches (counter.py). The
credential is hashed before it becomes part of a Redis key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from bedsvc.access.accepted import credential_accepted
from bedsvc.access.client_address import address_group
from bedsvc.answered import Answered
from bedsvc.errors import TooManyRequests
from bedsvc.ratelimit.counter import RateCounter
from bedsvc.settings import AccessSettings


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def credential_of(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The bucket of the credential a request carries, or None for an anonymous request."""
    found = dict(headers)
    authorization = found.get(b"authorization", b"")
    if authorization[:7].lower() == b"bearer " and authorization[7:].strip():
        return "key:" + _digest(authorization[7:].strip().decode("latin-1"))
    # The cons-id, not the signature: the signature changes every second.
    cons_id = found.get(b"x-cons-id", b"").strip()
    if cons_id:
        return "aplicares:" + _digest(cons_id.decode("latin-1"))
    # rs_id is a public hospital code: with the password, so that a stranger guessing
    # passwords for a hospital fills a bucket of their own, not the hospital's.
    rs_id, password = found.get(b"x-rs-id", b"").strip(), found.get(b"x-pass", b"").strip()
    if rs_id and password:
        return "sirs:" + _digest(rs_id.decode("latin-1"), password.decode("latin-1"))
    return None


class RateLimits:
    """The limits of one worker, applied by `rate_limited` and by the push's fast path."""

    def __init__(self, counter: RateCounter, access: AccessSettings) -> None:
        self.counter = counter
        self.per_credential = access.write_rate_limit_per_minute
        self.per_address = access.unauthenticated_rate_limit_per_minute
        self.ipv6_prefix = access.ipv6_prefix_length

    async def admit(self, scope: Scope, credential: str | None) -> str | None:
        """Counts the request, or refuses it (TooManyRequests). Returns the bucket its
        address's refused credentials count in when it carries a credential (for `settle`)."""
        client = scope.get("client")
        host = address_group(client[0], self.ipv6_prefix) if client else "unknown"
        address = f"addr:{host}"
        if credential is None:
            if await self.counter.add(address, self.per_address) > self.per_address:
                self.refuse("Too many requests from this address")
            return None
        failures = f"failed-{address}"
        if await self.counter.add(credential, self.per_credential) > self.per_credential:
            self.refuse("Too many requests with this credential")
        if await self.counter.peek(failures, self.per_address) >= self.per_address:
            self.refuse("Too many refused credentials from this address")
        return failures

    async def settle(self, failures: str | None, *, accepted: bool, status: int) -> None:
        """After the answer: a credential that was refused counts against the address. A 5xx
        does not: a credential bedsvc could not check (PostgreSQL down) says nothing of the
        caller, and a hospital's system retrying through an outage must not be locked out."""
        if failures is not None and not accepted and 400 <= status < 500:
            await self.counter.add(failures, self.per_address)

    def refuse(self, reason: str) -> None:
        retry_after = self.counter.retry_after()
        raise TooManyRequests(f"{reason}; retry in {retry_after} s.", retry_after=retry_after)


# Set in `scope["state"]` by a caller that applied the limits itself (the push's fast path
# when it hands a request on): the middleware then leaves the request to it.
ADMITTED = "bedsvc.rate_limit_admitted"


def mark_admitted(scope: Scope) -> None:
    scope.setdefault("state", {})[ADMITTED] = True


def rate_limits_of(scope: Scope) -> RateLimits:
    limits: RateLimits = scope["litestar_app"].state.rate_limits
    return limits


class RateLimitMiddleware(ASGIMiddleware):
    """Listed in the `middleware` of each router whose routes are limited."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("state", {}).get(ADMITTED):
            await next_app(scope, receive, send)
            return
        limits = rate_limits_of(scope)
        failures = await limits.admit(scope, credential_of(scope["headers"]))
        if failures is None:
            await next_app(scope, receive, send)
            return
        answered = Answered(send, status=0)
        try:
            await next_app(scope, receive, answered.send)
        finally:
            await limits.settle(
                failures, accepted=credential_accepted(scope), status=answered.status
            )


rate_limited = RateLimitMiddleware()
