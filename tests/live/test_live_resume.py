"""An event stream resumed after hospitals left it (a ward closed out of the filter, a hospital
set inactive) is told they left, not left showing them."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.support import Factory, bearer, global_version, ward
from tests.support.live import EventStream, LiveServer, StartServer, listing, push


async def seen(server: LiveServer, version: int) -> None:
    for _ in range(300):
        if (await listing(server))["version"] >= version:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the worker never reached version {version}")


async def test_a_resumed_stream_hears_of_hospitals_that_left(
    start_server: StartServer, factory: Factory
) -> None:
    server = await start_server()
    icu, leaving = await factory.hospital("3274011"), await factory.hospital("3274012")
    keys = {code: await factory.key(hospital_code=code) for code in (icu, leaving)}
    await push(server, icu, keys[icu], ward("ICU", "ICU", 6, 1))
    last = await push(server, leaving, keys[leaving], ward("ICU2", "ICU", 4, 2))
    await seen(server, last)

    async with (
        httpx.AsyncClient(base_url=server.http, timeout=5) as http,
        http.stream("GET", "/api/v1/live/events?bed_class=ICU") as response,
    ):
        snapshot_id, snapshot = await EventStream(response).next()
    assert snapshot["type"] == "snapshot"
    assert sorted(h["code"] for h in snapshot["hospitals"]) == [icu, leaving]

    # Away: the ICU closes at one hospital, the other hospital is set inactive.
    async with httpx.AsyncClient(base_url=server.http) as http:
        closed = await http.delete(f"/api/v1/hospitals/{icu}/wards/ICU", headers=bearer(keys[icu]))
    assert closed.status_code == 200
    await factory.hospital(leaving, active=False)  # one more change after the close
    await seen(server, await global_version(server.services.pool))
    newest = (await listing(server))["version"]

    async with (
        httpx.AsyncClient(base_url=server.http, timeout=5) as http,
        http.stream(
            "GET",
            "/api/v1/live/events?bed_class=ICU",
            headers={"Last-Event-ID": str(snapshot_id)},
        ) as response,
    ):
        events = EventStream(response)
        resumed_id, resumed = await events.next()
        with pytest.raises(TimeoutError):
            await events.next(timeout=0.3)
    # One frame of what changed since: both left the filter, neither is shown any more.
    assert (resumed["type"], resumed["hospitals"]) == ("changes", [])
    assert sorted(resumed["removed"]) == [icu, leaving]
    assert resumed_id == resumed["version"] == newest
