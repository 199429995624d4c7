"""`bedsvc serve` (and `bedsvc demo`) as operators run them: a process of their own, with
its settings in the environment, stopped by a signal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from bedsvc.settings import Settings
from tests.support.live import free_port


def server_env(settings: Settings, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `bedsvc serve` on this session's database and Redis prefix."""
    database_url, redis_url = settings.urls()
    env = os.environ | {
        "BEDSVC_DATABASE_URL": database_url,
        "BEDSVC_REDIS_URL": redis_url,
        "BEDSVC_REDIS_PREFIX": settings.redis.redis_prefix,
        "BEDSVC_DATA_DIR": str(data_dir),
        "BEDSVC_CACHE_RECONCILE_SECONDS": "0.2",
        "BEDSVC_WRITE_RATE_LIMIT_PER_MINUTE": "100000",
        "BEDSVC_LOG_JSON": "false",
        "BEDSVC_LOG_LEVEL": "WARNING",
        "BEDSVC_PASSWORD_HASH_PROFILE": "cheapest",
        # A free port: the default (the HTTP port + 1) may be another test server's.
        "BEDSVC_LIVE_PORT": str(free_port()),
        # The suite runs many servers side by side: pinned, every one of them would put its
        # HTTP workers on the same core.
        "BEDSVC_LIVE_CPU_AFFINITY": "false",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env | extra


class ServeProcess(contextlib.AbstractContextManager["ServeProcess"]):
    """Started at once; stopped (`stop`) when its `with` block ends."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bedsvc", *args, "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # its workers too can be stopped as one group
        )
        self.http = f"http://127.0.0.1:{self.port}"

    async def ready(self, timeout: float = 60) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient() as http:
            while asyncio.get_running_loop().time() < deadline:
                assert self.process.poll() is None, "the server exited"
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{self.http}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        raise RuntimeError("the server did not become ready")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # a worker left behind, if any
        self.process.wait()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
