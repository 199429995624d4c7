"""The `bedsvc` command: migrate, serve, register hospitals, manage keys, run the demo."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from bedsvc.embedded import EmbeddedServers
from bedsvc.logs import configure_logging
from bedsvc.settings import Settings, load_settings

T = TypeVar("T")


def _run_with_database(work: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    settings = load_settings()
    configure_logging(settings.log_level, json=False)
    with EmbeddedServers(settings, need_redis=False) as servers:
        return asyncio.run(work(servers.settings))


def _database_url(settings: Settings) -> str:
    if settings.database_url is None:
        raise click.ClickException("no database: set BEDSVC_DATABASE_URL")
    return settings.database_url


@click.group()
def main() -> None:
    """bedsvc: hospital bed availability for a regency or city."""


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from bedsvc.store import migrate as run_migrations

    async def work(settings: Settings) -> list[str]:
        return await run_migrations(_database_url(settings))

    applied = _run_with_database(work)
    click.echo(f"applied: {', '.join(applied)}" if applied else "schema is up to date")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1))
def serve(host: str, port: int, workers: int) -> None:
    """Run the HTTP service (starting embedded servers when no URLs are set)."""
    from bedsvc.server import run_server

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    with EmbeddedServers(settings) as servers:
        run_server(servers.settings, host, port, workers)


@main.group()
def hospitals() -> None:
    """The hospital registry."""


@hospitals.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_hospitals(csv_file: Path) -> None:
    """Create or update hospitals from a CSV file with a header row.

    Columns: code,name,kind,region_code,address,phone,lat,lon,bpjs_ppk_code
    """
    from bedsvc.admin.importer import import_csv

    async def work(settings: Settings) -> Any:
        return await import_csv(_database_url(settings), csv_file)

    report = _run_with_database(work)
    for line, message in report.errors:
        click.echo(f"line {line}: {message}", err=True)
    click.echo(f"imported {report.saved} hospitals, {len(report.errors)} rows rejected")
    if report.errors:
        raise SystemExit(1)


@main.group()
def keys() -> None:
    """API keys for hospitals, the health office and operators."""


@keys.command("issue")
@click.option(
    "--hospital", "hospital_code", help="Kemenkes code of the hospital this key pushes for."
)
@click.option(
    "--role", type=click.Choice(["monitor", "admin"]), help="A role instead of a hospital."
)
@click.option("--label", default="", help="A note on who holds the key.")
def issue(hospital_code: str | None, role: str | None, label: str) -> None:
    """Issue a key and print it once."""
    from bedsvc.admin.keys import issue_from_cli

    if (hospital_code is None) == (role is None):
        raise click.UsageError("give exactly one of --hospital CODE or --role monitor|admin")

    async def work(settings: Settings) -> Any:
        return await issue_from_cli(_database_url(settings), hospital_code, role, label)

    issued = _run_with_database(work)
    click.echo(f"key_id: {issued.key_id}")
    click.echo(f"key: {issued.key}")


@keys.command("revoke")
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke a key; it is refused from then on."""
    from bedsvc.admin.keys import revoke_from_cli

    async def work(settings: Settings) -> None:
        await revoke_from_cli(_database_url(settings), key_id)

    _run_with_database(work)
    click.echo(f"revoked: {key_id}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--interval", default=3.0, show_default=True, help="Seconds between reports.")
def demo(host: str, port: int, interval: float) -> None:
    """Run bedsvc with the Kota Cirebon demo region and simulated hospital systems."""
    from bedsvc.demo.run import run_demo

    settings = load_settings()
    configure_logging(settings.log_level, json=False)
    os.environ.setdefault("BEDSVC_LOG_JSON", "false")
    with EmbeddedServers(settings) as servers:
        run_demo(servers.settings, host, port, interval)
