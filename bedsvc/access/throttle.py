"""The one sign-in throttle: SIRS and Aplicares bridges and ward-staff sign-in alike.

Failures are counted in three places, each in a fixed window that starts with its first
failure (`BEDSVC_SIGN_IN_WINDOW_SECONDS`):

- per (login, client address): past `BEDSVC_SIGN_IN_MAX_FAILURES` that pair is refused (429).
  A guesser locks out only itself: the same login from another address still signs in.
- per client address: past `BEDSVC_SIGN_IN_MAX_FAILURES_PER_ADDRESS` that address is refused,
  whatever login it tries, so that spraying many logins costs as much as guessing one.
- per login, from all addresses together: this count only slows. Past the pair limit, each
  check of that login waits a delay that doubles per failure (up to
  `BEDSVC_SIGN_IN_MAX_DELAY_SECONDS`); the right password still passes. Anyone can make a
  login fail (hospital codes are public), so a refusal per login would be theirs to give.

An attempt is counted as a failure *before* its password is checked, atomically with the
check of the limits (one Lua script), and taken back when the password turns out right: forty
parallel guesses cannot all pass a limit read before any of them was written, and a refused
attempt costs no password hash. Addresses are grouped as every per-address limit groups them
(IPv6 by `BEDSVC_IPV6_PREFIX_LENGTH`); logins are hashed into the keys.

Counts live in Redis, shared by every worker and instance, and expire by themselves. With
Redis down each worker counts on its own (a looser limit, but still one): a throttle must
never be the reason a hospital cannot sign in, nor a reason to stop refusing a flood.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources

import redis.asyncio as aioredis
import structlog
from cachetools import TTLCache
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from bedsvc.access.client_address import address_group
from bedsvc.errors import TooManyRequests
from bedsvc.settings import AccessSettings

log = structlog.get_logger(__name__)

# Counts kept in one worker while Redis is down; the oldest are forgotten first.
_LOCAL_COUNTS = 100_000
# The first delay once a login passed the limit; it doubles with every further failure.
_FIRST_DELAY_SECONDS = 0.25
REFUSED = "Terlalu banyak percobaan masuk yang gagal; coba lagi dalam {seconds} detik."


def _lua(name: str) -> str:
    return resources.files("bedsvc.state.lua").joinpath(name).read_text(encoding="utf-8")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Limits:
    per_pair: int
    per_address: int
    window_seconds: int
    max_delay_seconds: float

    @classmethod
    def of(cls, access: AccessSettings) -> Limits:
        return cls(
            per_pair=access.sign_in_max_failures,
            per_address=access.sign_in_max_failures_per_address,
            window_seconds=access.sign_in_window_seconds,
            max_delay_seconds=access.sign_in_max_delay_seconds,
        )

    def delay(self, login_failures: int) -> float:
        """Seconds to wait before checking a login that failed this often from anywhere."""
        over = login_failures - self.per_pair
        if over < 0 or self.max_delay_seconds <= 0:
            return 0.0
        return float(min(self.max_delay_seconds, _FIRST_DELAY_SECONDS * 2 ** min(over, 30)))


class Attempt:
    """One sign-in in progress: call `failed()` when the password was wrong; otherwise the
    failure counted in advance is taken back when the attempt ends."""

    __slots__ = ("_failed", "_succeeded")

    def __init__(self) -> None:
        self._failed = False
        self._succeeded = False

    def failed(self) -> None:
        self._failed = True

    def succeeded(self) -> None:
        self._succeeded = True


class SignInThrottle:
    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        access: AccessSettings,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = Limits.of(access)
        self._ipv6_prefix = access.ipv6_prefix_length
        self._prefix = f"{prefix}:signin"
        self._redis = client
        self._attempt: AsyncScript = client.register_script(_lua("sign_in_attempt.lua"))
        self._release: AsyncScript = client.register_script(_lua("sign_in_release.lua"))
        self._clock = clock
        self._sleep = sleep
        # key -> (count, end of its window on `clock`), while Redis is unreachable
        self._local: TTLCache[str, tuple[int, float]] = TTLCache(
            maxsize=_LOCAL_COUNTS, ttl=self.limits.window_seconds
        )

    def keys(self, login: str, address: str) -> list[str]:
        """Redis keys of the (login, address) pair, the address and the login."""
        group = address_group(address, self._ipv6_prefix)
        return [
            f"{self._prefix}:pair:{_digest(login)}:{_digest(group)}",
            f"{self._prefix}:address:{_digest(group)}",
            f"{self._prefix}:login:{_digest(login)}",
        ]

    @asynccontextmanager
    async def attempt(self, login: str, address: str) -> AsyncIterator[Attempt]:
        """Counts the attempt (429 when the pair or the address is over its limit), waits the
        login's delay, and yields; on the way out takes the count back unless it failed."""
        keys = self.keys(login, address)
        login_failures = await self._begin(keys)
        delay = self.limits.delay(login_failures)
        if delay > 0:
            await self._sleep(delay)
        attempt = Attempt()
        try:
            yield attempt
        finally:
            if not attempt._failed:
                await self._end(keys, forgive=attempt._succeeded)

    async def unlock(self, login: str) -> None:
        """Forgets every failure of the login: its own count and its pairs with any address
        (an operator unlocking a user). The addresses' own counts stay."""
        pairs = f"{self._prefix}:pair:{_digest(login)}:"
        login_key = self.keys(login, "")[2]
        for key in [k for k in self._local if k.startswith(pairs) or k == login_key]:
            self._local.pop(key, None)
        try:
            found = [key async for key in self._redis.scan_iter(match=pairs + "*", count=1000)]
            await self._redis.delete(login_key, *found)
        except (RedisError, OSError) as exc:
            log.warning("sign-in failures not cleared in Redis", error=type(exc).__name__)

    async def _begin(self, keys: list[str]) -> int:
        limits = self.limits
        args = [limits.per_pair, limits.per_address, limits.window_seconds * 1000]
        try:
            allowed, value = await self._attempt(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            log.warning("sign-in failures counted in this worker only", error=type(exc).__name__)
            return self._begin_local(keys)
        if not allowed:
            raise self._refusal(int(value) / 1000)
        return int(value)

    async def _end(self, keys: list[str], *, forgive: bool) -> None:
        try:
            await self._release(keys=keys, args=["1" if forgive else "0"])
        except (RedisError, OSError):
            self._end_local(keys, forgive=forgive)

    def _refusal(self, seconds: float) -> TooManyRequests:
        wait = max(1, int(seconds + 0.999))
        return TooManyRequests(REFUSED.format(seconds=wait), retry_after=wait)

    def _count(self, key: str, now: float) -> tuple[int, float]:
        count, ends = self._local.get(key, (0, now + self.limits.window_seconds))
        if ends <= now:
            return 0, now + self.limits.window_seconds
        return count, ends

    def _begin_local(self, keys: list[str]) -> int:
        now = self._clock()
        for key, limit in zip(keys, (self.limits.per_pair, self.limits.per_address), strict=False):
            count, ends = self._count(key, now)
            if count >= limit:
                raise self._refusal(ends - now)
        before = 0
        for key in keys:
            count, ends = self._count(key, now)
            self._local[key] = (count + 1, ends)
            before = count
        return before

    def _end_local(self, keys: list[str], *, forgive: bool) -> None:
        now = self._clock()
        if forgive:
            self._local.pop(keys[0], None)
        for key in keys:
            count, ends = self._count(key, now)
            if count > 0 and key in self._local:
                self._local[key] = (count - 1, ends)
