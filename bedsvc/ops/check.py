"""`bedsvc check`: what an operator runs before (or instead of guessing why) bedsvc does not
start. Reads the settings as the service would, reaches PostgreSQL and Redis, and says in
plain words what is wrong and what to do; the exit status is non-zero when anything is."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import asyncpg
import redis.asyncio as aioredis
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from redis.exceptions import AuthenticationError, RedisError, ResponseError

from bedsvc.secret_box import SecretBox, SecretKeyError, key_file, load_secret_box
from bedsvc.settings import RedisSettings, Settings
from bedsvc.store import load_queries
from bedsvc.store.migrate import migration_files
from bedsvc.store.redis import connect_redis, sentinel_options

Level = Literal["ok", "note", "FAIL"]
TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Finding:
    level: Level
    subject: str
    text: str

    def __str__(self) -> str:
        return f"{self.level:<4}  {self.subject}: {self.text}"


def where(url: str) -> str:
    """host:port/database of a URL, without the user name or password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or ''}{parts.path}".replace(":/", "/")


def settings_findings(load: Callable[[], Settings]) -> tuple[Settings | None, list[Finding]]:
    try:
        settings = load()
    except ValidationError as exc:
        return None, [_setting_error(error) for error in exc.errors()]
    found = [Finding("ok", "settings", "every BEDSVC_* variable parses")]
    if settings.database.database_url is None or settings.redis.redis_url is None:
        found.append(
            Finding(
                "note",
                "servers",
                "BEDSVC_DATABASE_URL or BEDSVC_REDIS_URL is unset: `bedsvc serve` starts "
                f"embedded servers under {settings.server.data_dir} "
                "(for a demo, not for production)",
            )
        )
    if not settings.access.trusted_proxies:
        found.append(
            Finding(
                "note",
                "BEDSVC_TRUSTED_PROXIES",
                "empty: behind nginx, set it to nginx's address, or every client is one",
            )
        )
    found.append(secret_key_finding(settings))
    return settings, found


def _setting_error(error: ErrorDetails) -> Finding:
    # A setting's error is located at (area, setting, ...); a check across one area's settings
    # at (area,) only, with the whole area, passwords included, as its input: not shown.
    if len(error["loc"]) < 2:
        return Finding("FAIL", "settings", error["msg"])
    name = str(error["loc"][1])
    text = error["msg"]
    if not any(word in name for word in ("secret", "url")):  # they may hold a password
        text += f" (got {error['input']!r})"
    return Finding("FAIL", f"BEDSVC_{name.upper()}", text)


def secret_key_finding(settings: Settings) -> Finding:
    """The key the bridge secrets are encrypted with; the default key file is read, never
    created here (created by root, the service's user could not read it)."""
    try:
        if settings.server.secret_key is not None:
            load_secret_box(settings)  # checks a configured key at once
            return Finding("ok", "secret key", "BEDSVC_SECRET_KEY is usable")
        path = key_file(settings)
        if not path.exists():
            return Finding("note", "secret key", f"{path} will be created on first use")
        try:
            keys = [path.read_bytes().strip()]
        except OSError as exc:
            return Finding("FAIL", "secret key", f"cannot read {path}: {exc.strerror}")
        SecretBox(lambda: keys).check()
    except SecretKeyError as exc:
        return Finding("FAIL", "secret key", str(exc))
    return Finding("ok", "secret key", f"{path} is usable")


async def database_findings(url: str) -> list[Finding]:
    subject = f"PostgreSQL at {where(url)}"
    try:
        conn = await asyncpg.connect(url, timeout=TIMEOUT_SECONDS)
    except asyncpg.InvalidPasswordError:
        return [Finding("FAIL", subject, "the password in BEDSVC_DATABASE_URL is refused")]
    except asyncpg.InvalidCatalogNameError:
        return [Finding("FAIL", subject, "that database does not exist: create it first")]
    except asyncpg.InvalidAuthorizationSpecificationError as exc:
        return [Finding("FAIL", subject, f"the server refuses this user: {exc}")]
    except (OSError, TimeoutError) as exc:
        return [
            Finding(
                "FAIL", subject, f"cannot connect ({type(exc).__name__}: {exc}); is it running?"
            )
        ]
    except asyncpg.PostgresError as exc:
        return [Finding("FAIL", subject, f"{type(exc).__name__}: {exc}")]
    try:
        version = await conn.fetchval("SHOW server_version")
        queries = load_queries()
        applied: set[int] = set()
        if await queries.schema_migrations_exists(conn):
            applied = {row.version async for row in queries.applied_migrations(conn)}
    finally:
        await conn.close()
    pending = [name for number, name, _ in migration_files() if number not in applied]
    found = [Finding("ok", subject, f"reached (PostgreSQL {version})")]
    if pending:
        found.append(
            Finding(
                "FAIL",
                "schema",
                f"{len(pending)} migrations not applied ({', '.join(pending)}): run "
                "`bedsvc migrate`",
            )
        )
    else:
        found.append(Finding("ok", "schema", "up to date"))
    return found


async def sentinel_finding(redis: RedisSettings, host: str, port: int) -> Finding:
    """One sentinel: reached with BEDSVC_REDIS_SENTINEL_PASSWORD, and naming the primary."""
    subject = f"Redis sentinel at {host}:{port}"
    options = sentinel_options(redis) | {
        "socket_timeout": TIMEOUT_SECONDS,
        "socket_connect_timeout": TIMEOUT_SECONDS,
    }
    client = aioredis.Redis(host=host, port=port, **options)
    try:
        primary = await client.sentinel_get_master_addr_by_name(redis.redis_sentinel_master)
    except AuthenticationError:
        return Finding(
            "FAIL", subject, "refuses BEDSVC_REDIS_SENTINEL_USERNAME/_PASSWORD (or needs them)"
        )
    except ResponseError as exc:
        return Finding("FAIL", subject, f"refused: {exc}")
    except (RedisError, OSError) as exc:
        return Finding("FAIL", subject, f"cannot connect ({exc}); is it running?")
    finally:
        await client.aclose()
    if not isinstance(primary, tuple):
        return Finding("FAIL", subject, f"watches no group {redis.redis_sentinel_master!r}")
    host_name, primary_port = primary
    shown = host_name.decode() if isinstance(host_name, bytes) else host_name
    return Finding("ok", subject, f"reached; the primary is {shown}:{primary_port}")


async def redis_findings(redis: RedisSettings) -> list[Finding]:
    found = []
    if redis.redis_url is not None:
        subject = f"Redis at {where(redis.redis_url)}"
        refused = "the user or password in BEDSVC_REDIS_URL is refused (or needed)"
    else:
        subject = f"Redis primary of Sentinel group {redis.redis_sentinel_master!r}"
        refused = "the primary refuses BEDSVC_REDIS_USERNAME/_PASSWORD (or needs them)"
        found = list(
            await asyncio.gather(
                *(sentinel_finding(redis, h, p) for h, p in redis.sentinel_addresses())
            )
        )
    client = connect_redis(
        redis, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )
    try:
        info = await client.info("server")
    except AuthenticationError:
        return [*found, Finding("FAIL", subject, refused)]
    except ResponseError as exc:
        return [*found, Finding("FAIL", subject, f"refused: {exc}")]
    except (RedisError, OSError) as exc:
        return [*found, Finding("FAIL", subject, f"cannot connect ({exc}); is it running?")]
    finally:
        await client.aclose()
    return [*found, Finding("ok", subject, f"reached (Redis {info.get('redis_version', '?')})")]


async def run_check(load: Callable[[], Settings]) -> list[Finding]:
    settings, found = settings_findings(load)
    if settings is None:
        return found
    servers = []
    if settings.database.database_url is not None:
        servers.append(database_findings(settings.database.database_url))
    if settings.database.database_replica_url is not None:
        servers.append(database_findings(settings.database.database_replica_url))
    if settings.redis.redis_url is not None or settings.redis.redis_sentinels:
        servers.append(redis_findings(settings.redis))
    for findings in await asyncio.gather(*servers):
        found += findings
    if settings.server.data_dir.exists() and not os.access(settings.server.data_dir, os.W_OK):
        found.append(
            Finding("note", "BEDSVC_DATA_DIR", f"{settings.server.data_dir} is not writable")
        )
    return found
