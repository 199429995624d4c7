"""Runs the service on granian, after the schema is up to date."""

from __future__ import annotations

import asyncio
import os

from granian import Granian
from granian.constants import Interfaces, Loops

from bedsvc.settings import Settings
from bedsvc.store import migrate


def export_urls(settings: Settings) -> None:
    """Worker processes read their settings from the environment; give them the real URLs."""
    os.environ["BEDSVC_DATABASE_URL"], os.environ["BEDSVC_REDIS_URL"] = settings.urls()


def serve_granian(target: str, host: str, port: int, workers: int) -> None:
    """Serves the ASGI app factory `target` ("module:function") as `bedsvc serve` does."""
    Granian(
        target,
        factory=True,
        address=host,
        port=port,
        workers=workers,
        interface=Interfaces.ASGI,
        # uvloop rather than asyncio's loop: measured faster for the Litestar routes and as
        # fast for the cached reads (README, Performance).
        loop=Loops.uvloop,
        log_access=False,
        workers_kill_timeout=10,
    ).serve()


def run_server(settings: Settings, host: str, port: int, workers: int) -> None:
    asyncio.run(migrate(settings.urls()[0]))
    export_urls(settings)
    serve_granian("bedsvc.asgi:app_from_env", host, port, workers)
