"""`bedsvc relay`: the relays from the command line, with the service's own key and database."""

from __future__ import annotations

from datetime import datetime

from bedsvc.access.actor import OPERATOR
from bedsvc.relay.credentials import clear_credential, set_credential
from bedsvc.relay.registries import Registry, base_urls
from bedsvc.relay.schemas import RelayList, RelayState
from bedsvc.relay.status import relay_list
from bedsvc.secret_box import load_secret_box
from bedsvc.settings import Settings
from bedsvc.store import connect_pool, load_queries


async def set_from_cli(
    settings: Settings,
    database_url: str,
    hospital_code: str,
    registry: Registry,
    login: str,
    secret: str,
) -> None:
    """Encrypted with the key the service decrypts with (BEDSVC_SECRET_KEY or the key file)."""
    box = load_secret_box(settings)
    pool = await connect_pool(database_url, min_size=1, max_size=1)
    try:
        await set_credential(
            pool, load_queries(), box, OPERATOR, hospital_code, registry, login, secret
        )
    finally:
        await pool.close()


async def clear_from_cli(database_url: str, hospital_code: str, registry: Registry) -> None:
    pool = await connect_pool(database_url, min_size=1, max_size=1)
    try:
        await clear_credential(pool, load_queries(), OPERATOR, hospital_code, registry)
    finally:
        await pool.close()


async def status_from_cli(settings: Settings, database_url: str) -> RelayList:
    pool = await connect_pool(database_url, min_size=1, max_size=1)
    try:
        return await relay_list(pool, load_queries(), base_urls(settings.relay), None)
    finally:
        await pool.close()


def _when(moment: datetime | None) -> str:
    return moment.astimezone().isoformat(timespec="seconds") if moment else "-"


def status_line(relay: RelayState) -> str:
    """One relay as one line: hospital, registry, state, versions, last send, last error."""
    sent = "-" if relay.sent_version is None else str(relay.sent_version)
    error = relay.last_error or "-"
    if relay.last_error_detail:
        error += f" ({relay.last_error_detail})"
    return (
        f"{relay.hospital_code}\t{relay.registry_name}\t{relay.state}\t"
        f"sent {sent} of {relay.version}\tlast sent {_when(relay.last_sent_at)}\t"
        f"last error {error}"
    )
