"""The `relay_failing` alert rule: a relay whose credential was refused, or that has failed
for longer than BEDSVC_RELAY_ALERT_AFTER_SECONDS, delivered like the other alert rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bedsvc.relay.registries import NAMES, base_urls
from bedsvc.relay.words import ERROR_WORDS
from bedsvc.settings import RelaySettings
from bedsvc.store import Conn, Queries, relays
from bedsvc.store.queries import FailingRelaysRow


@dataclass(frozen=True, slots=True)
class RelayFailing:
    subject: str
    message: str
    region_code: str
    hospital_code: str


async def relay_failures(conn: Conn, queries: Queries, relay: RelaySettings) -> list[RelayFailing]:
    urls = base_urls(relay)
    if not urls:
        return []
    older_than = timedelta(seconds=relay.relay_alert_after_seconds)
    failing = await relays.failing(conn, queries, list(urls), older_than)
    return [
        RelayFailing(
            subject=f"{relay.hospital_code}/{relay.registry}",
            message=_message(relay),
            region_code=relay.region_code,
            hospital_code=relay.hospital_code,
        )
        for relay in failing
    ]


def _message(relay: FailingRelaysRow) -> str:
    error = relay.last_error or ""
    text = (
        f"Laporan {relay.hospital_name} ({relay.hospital_code}) tidak terkirim ke "
        f"{NAMES[relay.registry]}: {ERROR_WORDS.get(error, error or 'gagal')}"
    )
    if relay.refused_at is not None:
        return text + "; perbarui kredensialnya dengan `bedsvc relay set`."
    if relay.failing_since is not None:
        return text + f", gagal sejak {relay.failing_since.isoformat(timespec='seconds')}."
    return text + "."
