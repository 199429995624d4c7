"""The SIRS Online client: a hospital's wards as the rows of Kemenkes's Fasyankes interface.

As public SIMRS clients (SIMRS Khanza's among them) do it: `GET /Fasyankes` lists the
hospital's rows with their `id_t_tt`; a row is a room of one bed type, found again by its
`id_tt` and its name (`ruang`, compared without case or extra spaces). A ward with no row is
added (`POST`), a row whose counts differ is updated (`PUT` by `id_t_tt`), and the row of a
ward closed in bedsvc is deleted (`DELETE` by `id_t_tt`). Rows bedsvc has no ward for are left
alone: they may be the hospital's own. Every answer carries `{"fasyankes": [{"status",
"message"}]}`; status "200" is success, "401"/"403" a refused login.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import httpx

from bedsvc.bridges.classes import sirs_id_of
from bedsvc.relay.failures import (
    CREDENTIAL_REFUSED,
    INVALID_RESPONSE,
    REJECTED,
    SendFailed,
    as_int,
    call,
)
from bedsvc.store.reference import BedClass
from bedsvc.store.relays import RelayWard

PATH = "/Fasyankes"
_REFUSED = ("401", "403")


class Row(NamedTuple):
    """A room as SIRS Online has it (`jumlah` beds, `terpakai` occupied, `antrian` waiting)."""

    id_tt: int
    ruang: str
    jumlah: int
    terpakai: int
    antrian: int


def room_key(id_tt: int, ruang: str) -> tuple[int, str]:
    return id_tt, " ".join(ruang.split()).casefold()


def rows_of(wards: Iterable[RelayWard], classes: Mapping[str, BedClass]) -> dict[str, Row]:
    """Ward code → its SIRS row, for the wards of a class SIRS knows. Two wards with the same
    bed type and name would be one row there, so the later one is named with its code too."""
    rows: dict[str, Row] = {}
    taken: set[tuple[int, str]] = set()
    for ward in wards:
        id_tt = sirs_id_of(ward.ward_code, classes[ward.bed_class])
        if id_tt is None:
            continue
        ruang = ward.name
        if room_key(id_tt, ruang) in taken:
            ruang = f"{ward.name} ({ward.ward_code})"
        taken.add(room_key(id_tt, ruang))
        rows[ward.ward_code] = Row(
            id_tt=id_tt,
            ruang=ruang,
            jumlah=ward.capacity,
            terpakai=ward.capacity - ward.available,
            antrian=ward.waiting or 0,
        )
    return rows


def _headers(rs_id: str, password: str) -> dict[str, str]:
    return {
        "X-rs-id": rs_id,
        "X-pass": password,
        "X-Timestamp": str(int(time.time())),
        "Accept": "application/json",
    }


def _body(row: Row) -> dict[str, Any]:
    # Numbers as text, as SIMRS send them; the COVID-era fields as zero.
    zero = "0"
    return {
        "id_tt": str(row.id_tt),
        "ruang": row.ruang,
        "jumlah_ruang": "1",
        "jumlah": str(row.jumlah),
        "terpakai": str(row.terpakai),
        "antrian": str(row.antrian),
        "terpakai_suspek": zero,
        "terpakai_konfirmasi": zero,
        "prepare": zero,
        "prepare_plan": zero,
        "covid": zero,
    }


def _items(status: int, body: Any, what: str) -> list[Any]:
    items = body.get("fasyankes") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise SendFailed(INVALID_RESPONSE, f"{what}: HTTP {status}, no fasyankes list")
    return items


def _check(status: int, body: Any, what: str) -> None:
    """A write's answer: status "200" in the envelope (and a 2xx), or why not."""
    items = _items(status, body, what)
    first = items[0] if items and isinstance(items[0], dict) else {}
    code = str(first.get("status", ""))
    message = str(first.get("message", ""))
    if code in _REFUSED:
        raise SendFailed(CREDENTIAL_REFUSED, f"{what}: {message}")
    if code != "200" or not 200 <= status < 300:
        raise SendFailed(REJECTED, f"{what}: HTTP {status} status {code or '-'} {message}")


class Registered(NamedTuple):
    id_t_tt: str
    row: Row


async def _registered(
    http: httpx.AsyncClient, base: str, headers: dict[str, str]
) -> dict[tuple[int, str], Registered]:
    status, body = await call(http, "GET", base + PATH, headers)
    items = _items(status, body, "GET /Fasyankes")
    if not 200 <= status < 300:
        _check(status, body, "GET /Fasyankes")
    found: dict[tuple[int, str], Registered] = {}
    for item in items:
        if not isinstance(item, dict) or "id_t_tt" not in item:
            # An error in the list's envelope (a refused login answered with 200).
            _check(status, {"fasyankes": [item]}, "GET /Fasyankes")
            continue
        id_tt = as_int(item.get("id_tt"))
        if id_tt is None:
            continue
        row = Row(
            id_tt=id_tt,
            ruang=str(item.get("ruang", "")),
            jumlah=as_int(item.get("jumlah")) or 0,
            terpakai=as_int(item.get("terpakai")) or 0,
            antrian=as_int(item.get("antrian")) or 0,
        )
        found.setdefault(room_key(id_tt, row.ruang), Registered(str(item["id_t_tt"]), row))
    return found


# What a send leaves behind for the next: ward code → the (id_tt, ruang) it was sent as.
SentKeys = dict[str, list[int | str]]


def _sent_key(value: list[int | str]) -> tuple[int, str] | None:
    if len(value) != 2 or not isinstance(value[0], int) or not isinstance(value[1], str):
        return None
    return room_key(value[0], value[1])


async def send(
    http: httpx.AsyncClient,
    base: str,
    rs_id: str,
    password: str,
    wards: list[RelayWard],
    classes: Mapping[str, BedClass],
    sent_before: SentKeys,
) -> SentKeys:
    """Brings the registry's rows to these wards; returns what it sent them as.

    A ward renamed, or moved to another bed type, since the last send (`sent_before`) keeps
    its row: the row it was sent as is updated to the new name and type, not left behind."""
    headers = _headers(rs_id, password)
    registered = await _registered(http, base, headers)
    open_rows = rows_of((w for w in wards if w.open), classes)
    open_keys = {room_key(row.id_tt, row.ruang) for row in open_rows.values()}
    before = {code: key for code, value in sent_before.items() if (key := _sent_key(value))}
    moved: set[tuple[int, str]] = set()
    for code, row in open_rows.items():
        known = registered.get(room_key(row.id_tt, row.ruang))
        old = before.get(code)
        if known is None and old in registered and old not in open_keys and old not in moved:
            known = registered[old]
            moved.add(old)
        if known is None:
            status, body = await call(http, "POST", base + PATH, headers, _body(row))
            _check(status, body, "POST /Fasyankes")
        elif known.row != row:
            update = _body(row) | {"id_t_tt": known.id_t_tt}
            status, body = await call(http, "PUT", base + PATH, headers, update)
            _check(status, body, "PUT /Fasyankes")
    # Rows of closed wards, and rows wards were sent as and are no longer.
    gone = {
        room_key(r.id_tt, r.ruang)
        for r in rows_of((w for w in wards if not w.open), classes).values()
    }
    gone |= {key for code, key in before.items() if code not in open_rows}
    for key in gone - open_keys - moved:
        known = registered.get(key)
        if known is None:
            continue
        status, body = await call(http, "DELETE", base + PATH, headers, {"id_t_tt": known.id_t_tt})
        if status != 404:  # already gone
            _check(status, body, "DELETE /Fasyankes")
    return {code: [row.id_tt, row.ruang] for code, row in open_rows.items()}
