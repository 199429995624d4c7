"""The `bedsvc` command: migrate, serve, register hospitals, manage keys, run the demo."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, TypeVar

import click

from bedsvc.runtime.embedded import EmbeddedServers
from bedsvc.runtime.logs import configure_logging
from bedsvc.settings import Settings, load_settings

T = TypeVar("T")


def _run_with_database(work: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    settings = load_settings()
    configure_logging(settings.server.log_level, json=False, stream=sys.stderr)
    with EmbeddedServers(settings, need_redis=False) as servers:
        return asyncio.run(work(servers.settings))


def _database_url(settings: Settings) -> str:
    if settings.database.database_url is None:
        raise click.ClickException("no database: set BEDSVC_DATABASE_URL")
    return settings.database.database_url


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
@click.option(
    "--live-workers",
    default=None,
    type=click.IntRange(min=0),
    help="Live WebSocket processes on the live port (default BEDSVC_LIVE_WORKERS, 1).",
)
def serve(host: str, port: int, workers: int, live_workers: int | None) -> None:
    """Run the HTTP service and the live WebSocket processes (on BEDSVC_LIVE_PORT, default
    the HTTP port + 1), starting embedded servers when no URLs are set."""
    from bedsvc.runtime.server import run_server

    settings = load_settings()
    configure_logging(settings.server.log_level, settings.server.log_json)
    with EmbeddedServers(settings) as servers:
        run_server(servers.settings, host, port, workers, live_workers)


@main.command()
def check() -> None:
    """Check the settings and reach PostgreSQL and Redis; say what is wrong."""
    from bedsvc.ops.check import run_check

    findings = asyncio.run(run_check(load_settings))
    for finding in findings:
        click.echo(str(finding))
    if any(finding.level == "FAIL" for finding in findings):
        raise SystemExit(1)


@main.group()
def hospitals() -> None:
    """The hospital registry."""


@hospitals.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_hospitals(csv_file: Path) -> None:
    """Create or update hospitals from a CSV file with a header row.

    Columns: code,name,kind,region_code,address,phone,lat,lon,bpjs_ppk_code, and optionally
    region_name, reminder_emails and telegram_chat_ids (several separated by spaces or
    commas; an absent column keeps what the registry holds, an empty cell clears it).
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


@hospitals.command("webhook-secret")
@click.argument("hospital_code")
def webhook_secret(hospital_code: str) -> None:
    """Print the secret that signs the alerts sent to HOSPITAL_CODE's own webhook."""
    from bedsvc.monitor.alerts import hospital_webhook_secret
    from bedsvc.secret_box import load_secret_box

    settings = load_settings()
    click.echo(hospital_webhook_secret(load_secret_box(settings), hospital_code).decode())


@main.group()
def keys() -> None:
    """API keys for hospitals, the health office and operators."""


def _networks(
    _: click.Context, __: click.Parameter, values: tuple[str, ...]
) -> list[IPv4Network | IPv6Network]:
    try:
        return [ip_network(value.strip(), strict=False) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@keys.command("issue")
@click.option(
    "--hospital", "hospital_code", help="Kemenkes code of the hospital this key pushes for."
)
@click.option(
    "--role", type=click.Choice(["monitor", "admin"]), help="A role instead of a hospital."
)
@click.option(
    "--aplicares", is_flag=True, help="Aplicares bridge credentials (cons_id, secret) instead."
)
@click.option("--sirs", is_flag=True, help="SIRS Online bridge credentials (rs_id, password).")
@click.option("--label", default="", help="A note on who holds the key.")
@click.option(
    "--allow-from",
    "allow_from",
    multiple=True,
    callback=_networks,
    help="With --aplicares: an address or network (CIDR) the SIMRS sends from; repeat for "
    "more. Default: any address.",
)
def issue(
    hospital_code: str | None,
    role: str | None,
    aplicares: bool,
    sirs: bool,
    label: str,
    allow_from: list[IPv4Network | IPv6Network],
) -> None:
    """Issue a key (or bridge credentials) and print it once."""
    if (hospital_code is None) == (role is None):
        raise click.UsageError("give exactly one of --hospital CODE or --role monitor|admin")
    if aplicares and sirs:
        raise click.UsageError("give at most one of --aplicares and --sirs")
    if (aplicares or sirs) and hospital_code is None:
        raise click.UsageError("--aplicares and --sirs need --hospital CODE")
    if allow_from and not aplicares:
        raise click.UsageError("--allow-from is for --aplicares credentials")
    if aplicares:
        credential = _run_with_database(_issue_aplicares(hospital_code or "", label, allow_from))
        click.echo(f"cons_id: {credential.cons_id}")
        click.echo(f"secret: {credential.secret}")
    elif sirs:
        login = _run_with_database(_issue_sirs(hospital_code or "", label))
        click.echo(f"rs_id: {login.rs_id}")
        click.echo(f"password: {login.password}")
    else:
        issued = _run_with_database(_issue_key(hospital_code, role, label))
        click.echo(f"key_id: {issued.key_id}")
        click.echo(f"key: {issued.key}")


def _issue_key(
    hospital_code: str | None, role: str | None, label: str
) -> Callable[[Settings], Coroutine[Any, Any, Any]]:
    from bedsvc.admin.keys import issue_from_cli

    async def work(settings: Settings) -> Any:
        return await _cli_errors(
            issue_from_cli(_database_url(settings), hospital_code, role, label)
        )

    return work


def _issue_aplicares(
    hospital_code: str, label: str, allowed: list[IPv4Network | IPv6Network]
) -> Callable[[Settings], Coroutine[Any, Any, Any]]:
    from bedsvc.admin.keys import issue_aplicares_from_cli

    async def work(settings: Settings) -> Any:
        return await _cli_errors(
            issue_aplicares_from_cli(
                settings, _database_url(settings), hospital_code, label, allowed
            )
        )

    return work


def _issue_sirs(hospital_code: str, label: str) -> Callable[[Settings], Coroutine[Any, Any, Any]]:
    from bedsvc.admin.keys import issue_sirs_from_cli

    async def work(settings: Settings) -> Any:
        return await _cli_errors(
            issue_sirs_from_cli(settings, _database_url(settings), hospital_code, label)
        )

    return work


async def _cli_errors(work: Coroutine[Any, Any, T]) -> T:
    """A refusal (unknown hospital, no PPK code, unknown key, no usable encryption key) as a
    message, not a traceback."""
    from bedsvc.errors import BedsvcError
    from bedsvc.secret_box import SecretKeyError

    try:
        return await work
    except BedsvcError as exc:
        raise click.ClickException(exc.detail) from None
    except SecretKeyError as exc:
        raise click.ClickException(str(exc)) from None


@keys.command("revoke")
@click.argument("key_id")
@click.option("--sirs", is_flag=True, help="KEY_ID is a hospital code: revoke its SIRS password.")
def revoke(key_id: str, sirs: bool) -> None:
    """Revoke a key or an Aplicares cons-id (or, with --sirs, a hospital's SIRS password)."""
    from bedsvc.admin.keys import revoke_from_cli

    async def work(settings: Settings) -> None:
        await _cli_errors(revoke_from_cli(_database_url(settings), key_id, sirs))

    _run_with_database(work)
    click.echo(f"revoked: {key_id}")


@main.group()
def relay() -> None:
    """Relay hospitals' reports to Kemenkes SIRS Online and BPJS Aplicares."""


@relay.command("set")
@click.option("--hospital", "hospital_code", required=True, help="Kemenkes code of the hospital.")
@click.option("--sirs-rs-id", help="The hospital's SIRS Online login (X-rs-id) from Kemenkes.")
@click.option("--sirs-password", help="Its SIRS Online password (X-pass).")
@click.option("--aplicares-cons-id", help="The hospital's Aplicares consumer id from BPJS.")
@click.option("--aplicares-secret", help="Its Aplicares secret key (signs X-signature).")
def relay_set(
    hospital_code: str,
    sirs_rs_id: str | None,
    sirs_password: str | None,
    aplicares_cons_id: str | None,
    aplicares_secret: str | None,
) -> None:
    """Set a hospital's credential at SIRS Online or Aplicares (kept encrypted); its relay
    there starts afresh and sends the current state."""
    from bedsvc.relay.cli import set_from_cli
    from bedsvc.relay.registries import Registry

    sirs = (sirs_rs_id, sirs_password)
    aplicares = (aplicares_cons_id, aplicares_secret)
    if any(sirs) == any(aplicares):
        raise click.UsageError(
            "give --sirs-rs-id and --sirs-password, or --aplicares-cons-id and --aplicares-secret"
        )
    registry: Registry = "sirs" if any(sirs) else "aplicares"
    login, secret = sirs if any(sirs) else aplicares
    if not (login and secret):
        raise click.UsageError(f"the {registry} credential needs both its login and its secret")

    async def work(settings: Settings) -> None:
        await _cli_errors(
            set_from_cli(settings, _database_url(settings), hospital_code, registry, login, secret)
        )

    _run_with_database(work)
    click.echo(f"{registry} relay set for {hospital_code}")


@relay.command("clear")
@click.option("--hospital", "hospital_code", required=True, help="Kemenkes code of the hospital.")
@click.option("--sirs", is_flag=True, help="Stop relaying to SIRS Online.")
@click.option("--aplicares", is_flag=True, help="Stop relaying to Aplicares.")
def relay_clear(hospital_code: str, sirs: bool, aplicares: bool) -> None:
    """Stop relaying a hospital to a registry and forget its credential there."""
    from bedsvc.relay.cli import clear_from_cli
    from bedsvc.relay.registries import Registry

    if sirs == aplicares:
        raise click.UsageError("give exactly one of --sirs and --aplicares")
    registry: Registry = "sirs" if sirs else "aplicares"

    async def work(settings: Settings) -> None:
        await _cli_errors(clear_from_cli(_database_url(settings), hospital_code, registry))

    _run_with_database(work)
    click.echo(f"{registry} relay cleared for {hospital_code}")


@relay.command("status")
def relay_status() -> None:
    """Each hospital's relays: state (current, pending, failing, off), versions, last send,
    last error."""
    from bedsvc.relay.cli import status_from_cli, status_line

    async def work(settings: Settings) -> Any:
        return await status_from_cli(settings, _database_url(settings))

    listed = _run_with_database(work)
    for line in map(status_line, listed.relays):
        click.echo(line)


@main.group()
def users() -> None:
    """Ward-staff users who sign in on the entry page /rs."""


@users.command("add")
@click.option("--hospital", "hospital_code", required=True, help="Kemenkes code of the hospital.")
@click.option("--username", required=True, help="Lower-case letters, digits, '.', '_', '-'.")
def add_user(hospital_code: str, username: str) -> None:
    """Issue a user and print the generated password once."""
    from bedsvc.staff.cli import add_from_cli

    async def work(settings: Settings) -> Any:
        return await _cli_errors(
            add_from_cli(
                _database_url(settings),
                hospital_code,
                username,
                settings.access.password_hash_profile,
            )
        )

    login = _run_with_database(work)
    click.echo(f"username: {login.username}")
    click.echo(f"password: {login.password}")


@users.command("disable")
@click.argument("username")
def disable_user(username: str) -> None:
    """Disable a user; the user's sessions end at once."""
    from bedsvc.staff.cli import disable_from_cli

    async def work(settings: Settings) -> None:
        await _cli_errors(disable_from_cli(_database_url(settings), username))

    _run_with_database(work)
    click.echo(f"disabled: {username}")


@users.command("unlock")
@click.argument("username")
def unlock_user(username: str) -> None:
    """Forget a user's failed sign-ins (from every address): the user may sign in at once."""
    from bedsvc.staff.cli import unlock_from_cli

    settings = load_settings()
    configure_logging(settings.server.log_level, json=False, stream=sys.stderr)
    with EmbeddedServers(settings) as servers:
        asyncio.run(_cli_errors(unlock_from_cli(servers.settings, username)))
    click.echo(f"unlocked: {username}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--interval", default=3.0, show_default=True, help="Seconds between reports.")
def demo(host: str, port: int, interval: float) -> None:
    """Run bedsvc with the Kota Cirebon demo region and simulated hospital systems."""
    from bedsvc.demo.run import StopSignals, run_demo

    signals = StopSignals()
    signals.install()
    settings = load_settings()
    configure_logging(settings.server.log_level, json=False, stream=sys.stderr)
    os.environ.setdefault("BEDSVC_LOG_JSON", "false")
    with EmbeddedServers(settings) as servers:
        run_demo(servers.settings, host, port, interval, signals)
