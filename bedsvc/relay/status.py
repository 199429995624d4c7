"""How each hospital's relays stand, as the monitor, the operators and ward staff see it."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from bedsvc.relay.registries import NAMES, REGISTRIES
from bedsvc.relay.schemas import RelayList, RelayState, State
from bedsvc.store import Queries, relays
from bedsvc.store.queries import RelayStatusRow


def state_of(row: RelayStatusRow | None, switched_on: bool) -> State:
    if row is None or not switched_on or row.sent_version is None:
        return "off"
    if row.refused_at is not None or row.last_error is not None:
        return "failing"
    return "pending" if row.version > row.sent_version else "current"


def relay_states(rows: list[RelayStatusRow], urls: Mapping[str, str]) -> list[RelayState]:
    """Every hospital of `rows` with both registries, in hospital order."""
    by_hospital: dict[str, dict[str | None, RelayStatusRow]] = {}
    for listed in rows:
        by_hospital.setdefault(listed.hospital_code, {})[listed.registry] = listed
    states = []
    for code, found in by_hospital.items():
        hospital = next(iter(found.values()))
        for registry in REGISTRIES:
            row = found.get(registry)
            states.append(
                RelayState(
                    hospital_code=code,
                    hospital_name=hospital.hospital_name,
                    registry=registry,
                    registry_name=NAMES[registry],
                    state=state_of(row, registry in urls),
                    version=hospital.version,
                    sent_version=row.sent_version if row else None,
                    last_sent_at=row.last_sent_at if row else None,
                    last_error=row.last_error if row else None,
                    last_error_detail=row.last_error_detail if row else None,
                    last_error_at=row.last_error_at if row else None,
                    next_attempt_at=row.next_attempt_at if row else None,
                    login=row.login if row else None,
                )
            )
    return states


async def relay_list(
    pool: asyncpg.Pool, queries: Queries, urls: Mapping[str, str], hospital_code: str | None
) -> RelayList:
    async with pool.acquire() as conn:
        rows = await relays.status(conn, queries, hospital_code)
    return RelayList(relays=relay_states(rows, urls))
