"""The `bedsvc` command run in-process against a test's settings."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner, Result

from bedsvc.cli import main
from bedsvc.settings import Settings


async def run_cli(settings: Settings, *args: str) -> Result:
    env = {
        "BEDSVC_DATABASE_URL": settings.database.database_url,
        "BEDSVC_LOG_LEVEL": "WARNING",
        "BEDSVC_PASSWORD_HASH_PROFILE": "cheapest",
    }
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)
