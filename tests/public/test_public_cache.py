"""The public reads come from each worker's near-cache: same documents, revalidation, gzip,
and coherence with every change, stale threshold and Redis restart."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from bedsvc.app import create_app
from bedsvc.ingest.schemas import OccupancyReport
from bedsvc.ingest.write import apply_report
from bedsvc.public.availability import AvailabilityFilter, availability, hospital_detail
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import (
    Factory,
    RedisProcess,
    bearer,
    document_etag,
    report,
    wait_for_global_version,
    wait_for_version,
    ward,
)

Client = AsyncTestClient[Litestar]
URL = "/api/v1/hospitals/{}/occupancy"
AVAILABILITY = "/api/v1/availability"


async def push(client: Client, code: str, key: str, *wards: dict[str, Any], **at: Any) -> int:
    response = await client.post(URL.format(code), json=report(*wards, **at), headers=bearer(key))
    assert response.status_code == 200, response.text
    version: int = response.json()["version"]
    return version


async def two_regions(client: Client, factory: Factory) -> dict[str, str]:
    """Three hospitals in two regions, several classes, one without coordinates."""
    keys = {}
    for code, region, lat in (("3274011", "3274", -6.72), ("3274012", "3274", -6.70)):
        await factory.hospital(code, region, lat=lat, lon=108.55)
        keys[code] = await factory.key(hospital_code=code)
    await factory.hospital("3209001", "3209", lat=None, lon=None)
    keys["3209001"] = await factory.key(hospital_code="3209001")
    await push(client, "3274011", keys["3274011"], ward("ICU", "ICU", 6, 0), ward("MAWAR"))
    await push(client, "3274012", keys["3274012"], ward("MELATI", available=0, available_male=0))
    version = await push(client, "3209001", keys["3209001"], ward("ICU", "ICU", 4, 2))
    await wait_for_version(client, "3209001", version)
    return keys


def without_time(document: dict[str, Any]) -> dict[str, Any]:
    return document | {"generated_at": None}


QUERIES = [
    "",
    "region=3274",
    "bed_class=ICU",
    "available_only=true",
    "region=3274&bed_class=KL3&available_only=false",
    "near=-6.705,108.55",
    "near=-6.705%2C108.55&limit=2",
    "limit=1",
    "region=3209&near=-6.7,108.5",
    "region=%33274",  # escaped: left to the framework, same answer
]


@pytest.mark.parametrize("query", QUERIES)
async def test_documents_are_the_views_of_the_current_state(
    client: Client, factory: Factory, services: Services, settings: Settings, query: str
) -> None:
    await two_regions(client, factory)
    snapshot = await services.cache.snapshot()
    version, states = snapshot.position or 0, snapshot.states
    params = httpx.QueryParams(query)
    near = params.get("near")
    flt = AvailabilityFilter(
        region=params.get("region"),
        bed_class=params.get("bed_class"),
        available_only=params.get("available_only") == "true",
        near=None if near is None else tuple(map(float, near.split(","))),  # type: ignore[arg-type]
        limit=int(params["limit"]) if "limit" in params else None,
    )
    expected = availability(
        states, version, flt, timedelta(seconds=settings.ingest.stale_after_seconds)
    )

    response = await client.get(f"{AVAILABILITY}?{query}")

    assert response.status_code == 200
    assert without_time(response.json()) == without_time(
        httpx.Response(200, content=_encode(expected)).json()
    )


def _encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


async def test_hospital_detail_is_the_view_of_the_current_state(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    await two_regions(client, factory)
    states = (await services.cache.snapshot()).states
    [state] = [s for s in states if s.code == "3274011"]
    expected = hospital_detail(state, timedelta(seconds=settings.ingest.stale_after_seconds))

    response = await client.get("/api/v1/hospitals/3274011")

    assert response.json() == httpx.Response(200, content=_encode(expected)).json()
    missing = await client.get("/api/v1/hospitals/9999999")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


@pytest.fixture
async def handler_client(settings: Settings, clean: None) -> AsyncIterator[Client]:
    """The same app with the fast path off: every read goes through Litestar's handlers."""
    app = create_app(settings.replace(public_fast_path=False))
    async with AsyncTestClient(app=app) as handler_client:
        yield handler_client


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (AVAILABILITY, {}),
        (f"{AVAILABILITY}?region=3274&near=-6.7,108.5", {"Accept-Encoding": "gzip"}),
        (f"{AVAILABILITY}?bed_class=ICU", {"Accept-Encoding": "br;q=1, gzip;q=0"}),
        ("/api/v1/hospitals/3274011", {"Accept-Encoding": "gzip"}),
        ("/api/v1/hospitals/3274011", {"If-None-Match": "ETAG"}),
        (AVAILABILITY, {"If-None-Match": 'W/"1.0", ETAG'}),
        (f"{AVAILABILITY}?limit=0", {}),
        (f"{AVAILABILITY}?near=north", {}),
    ],
)
async def test_fast_path_and_documented_handler_answer_alike(
    client: Client, handler_client: Client, factory: Factory, path: str, headers: dict[str, str]
) -> None:
    await two_regions(client, factory)
    await wait_for_global_version(
        handler_client, (await client.get(AVAILABILITY)).json()["version"]
    )
    etag = (await client.get(path.split("?")[0])).headers.get("etag", "")
    headers = {k: v.replace("ETAG", etag) for k, v in headers.items()}

    fast = await client.get(path, headers=headers)
    handled = await handler_client.get(path, headers=headers)

    assert fast.status_code == handled.status_code
    for name in ("etag", "cache-control", "vary", "content-encoding", "content-type"):
        assert fast.headers.get(name) == handled.headers.get(name), name
    if fast.status_code == 200 and path.startswith(AVAILABILITY):
        assert without_time(fast.json()) == without_time(handled.json())
    else:
        assert fast.content == handled.content


async def test_the_route_stays_documented(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/availability"]["get"]

    assert {"200", "304"} <= set(operation["responses"])
    assert "ETag" in operation["responses"]["200"]["headers"]
    assert {"region", "near", "if-none-match", "accept-encoding"} <= {
        p["name"] for p in operation["parameters"]
    }


async def test_revalidation_with_the_etag_is_304_without_body(
    client: Client, factory: Factory
) -> None:
    await two_regions(client, factory)
    first = await client.get(AVAILABILITY)
    etag = first.headers["etag"]
    assert document_etag(first.json()["version"]).fullmatch(etag)
    assert first.headers["cache-control"] == "public, max-age=1, stale-while-revalidate=10"

    for if_none_match in (etag, etag.removeprefix("W/"), f'"x", {etag}', "*"):
        again = await client.get(
            f"{AVAILABILITY}?region=3274", headers={"If-None-Match": if_none_match}
        )
        assert again.status_code == 304, if_none_match
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["vary"] == "Accept-Encoding"

    other = await client.get(AVAILABILITY, headers={"If-None-Match": 'W/"0.0"'})
    assert other.status_code == 200


async def test_a_push_changes_the_document_and_its_etag(client: Client, factory: Factory) -> None:
    keys = await two_regions(client, factory)
    before = await client.get(f"{AVAILABILITY}?region=3274&available_only=true")
    hospital_before = await client.get("/api/v1/hospitals/3274012")
    assert [h["code"] for h in before.json()["hospitals"]] == ["3274011"]

    version = await push(client, "3274012", keys["3274012"], ward("MELATI", available=5))
    await wait_for_version(client, "3274012", version)
    total = (await client.get(AVAILABILITY)).json()["version"]

    after = await client.get(
        f"{AVAILABILITY}?region=3274&available_only=true",
        headers={"If-None-Match": before.headers["etag"]},
    )
    assert after.status_code == 200
    assert document_etag(total).fullmatch(after.headers["etag"])
    assert [h["code"] for h in after.json()["hospitals"]] == ["3274011", "3274012"]
    detail = await client.get(
        "/api/v1/hospitals/3274012", headers={"If-None-Match": hospital_before.headers["etag"]}
    )
    assert detail.status_code == 200
    assert detail.json()["wards"][0]["available"] == 5
    # Another hospital's detail did not change: its ETag still revalidates.
    unchanged = await client.get("/api/v1/hospitals/3209001")
    assert (
        await client.get(
            "/api/v1/hospitals/3209001", headers={"If-None-Match": unchanged.headers["etag"]}
        )
    ).status_code == 304


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("*", True),
        ("gzip;q=0", False),
        ("*;q=0", False),
        ("br", False),
        ("identity", False),
        ("", False),
    ],
)
async def test_gzip_only_for_clients_that_accept_it(
    client: Client, factory: Factory, accept_encoding: str, gzipped: bool
) -> None:
    await two_regions(client, factory)
    plain = await client.get(AVAILABILITY, headers={"Accept-Encoding": "identity"})

    async with client.stream(
        "GET", AVAILABILITY, headers={"Accept-Encoding": accept_encoding}
    ) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])

    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["etag"] == plain.headers["etag"]
    if gzipped:
        assert response.headers["content-encoding"] == "gzip"
        assert gzip.decompress(raw) == plain.content
    else:
        assert "content-encoding" not in response.headers
        assert raw == plain.content
    assert int(response.headers["content-length"]) == len(raw)


async def test_crossing_the_stale_threshold_changes_body_and_etag(
    settings: Settings, clean: None, factory: Factory
) -> None:
    app = create_app(settings.replace(stale_after_seconds=1))
    async with AsyncTestClient(app=app) as client:
        code = await factory.hospital()
        key = await factory.key(hospital_code=code)
        version = await push(client, code, key, ward(), at=datetime.now(UTC))
        await wait_for_version(client, code, version)
        fresh = await client.get(AVAILABILITY)
        total = fresh.json()["version"]
        fresh_detail = await client.get(f"/api/v1/hospitals/{code}")
        assert fresh.json()["hospitals"][0]["stale"] is False
        assert fresh_detail.json()["wards"][0]["stale"] is False

        # No change arrives: the threshold alone makes the documents stale (about 1 s).
        deadline = asyncio.get_running_loop().time() + 5
        while True:
            stale = await client.get(AVAILABILITY, headers={"If-None-Match": fresh.headers["etag"]})
            if stale.status_code == 200 or asyncio.get_running_loop().time() > deadline:
                break
            assert stale.status_code == 304
            await asyncio.sleep(0.02)
        assert stale.status_code == 200
        assert stale.json()["version"] == total
        assert stale.json()["hospitals"][0]["stale"] is True
        assert stale.json()["hospitals"][0]["classes"][0]["stale"] is True
        assert document_etag(total, stale=1).fullmatch(stale.headers["etag"])
        detail = await client.get(
            f"/api/v1/hospitals/{code}", headers={"If-None-Match": fresh_detail.headers["etag"]}
        )
        assert detail.status_code == 200
        assert detail.json()["wards"][0]["stale"] is True
        assert detail.headers["etag"] != fresh_detail.headers["etag"]


async def test_cache_follows_through_a_redis_restart(
    settings: Settings, clean: None, factory: Factory, redis_process: RedisProcess
) -> None:
    app = create_app(settings.replace(redis_url=redis_process.url))
    async with AsyncTestClient(app=app) as client:
        code = await factory.hospital()
        key = await factory.key(hospital_code=code)
        await wait_for_version(client, code, await push(client, code, key, ward(available=1)))
        before = await client.get(AVAILABILITY)

        redis_process.stop()
        version = await push(client, code, key, ward(available=2))
        await wait_for_version(client, code, version)  # the worker polls PostgreSQL meanwhile
        during = await client.get(AVAILABILITY, headers={"If-None-Match": before.headers["etag"]})
        assert during.status_code == 200
        assert during.json()["hospitals"][0]["classes"][0]["available"] == 2

        redis_process.start()  # empty: the reconciler rebuilds it, the feed reloads from it
        version = await push(client, code, key, ward(available=3))
        await wait_for_version(client, code, version, timeout=10)
        after = await client.get(AVAILABILITY, headers={"If-None-Match": during.headers["etag"]})
        assert after.status_code == 200
        assert after.json()["hospitals"][0]["classes"][0]["available"] == 3
        # One hospital: the global version is its version.
        assert document_etag(version).fullmatch(after.headers["etag"])


def _fast_responses(status: str) -> float:
    labels = {"path": "/api/v1/availability", "status_code": status}
    return REGISTRY.get_sample_value("bedsvc_public_fast_responses_total", labels) or 0.0


async def test_fast_reads_are_counted_in_metrics(client: Client, factory: Factory) -> None:
    await two_regions(client, factory)
    # The registry is the process's, filled by every earlier test: count the difference.
    before = {status: _fast_responses(status) for status in ("200", "304")}
    first = await client.get(AVAILABILITY)
    await client.get(AVAILABILITY)
    await client.get(AVAILABILITY, headers={"If-None-Match": first.headers["etag"]})

    metrics = (await client.get("/metrics")).text

    assert _fast_responses("200") - before["200"] == 2
    assert _fast_responses("304") - before["304"] == 1
    assert 'bedsvc_public_fast_responses_total{path="/api/v1/availability",status_code="200"}' in (
        metrics
    )


@pytest.mark.parametrize("fast_path", [True, False])
async def test_unknown_regions_and_classes_are_refused_with_the_known_values(
    settings: Settings, clean: None, factory: Factory, fast_path: bool
) -> None:
    app = create_app(settings.replace(public_fast_path=fast_path))
    async with AsyncTestClient(app=app) as client:
        await two_regions(client, factory)
        for query, field, known in (
            ("region=9999", "region", "known: 3209, 3274"),
            ("bed_class=KAMAR", "bed_class", "known: BERSALIN, HCU, ICCU, ICU"),
            ("region=3274&bed_class=kl3", "bed_class", "known: BERSALIN"),
        ):
            response = await client.get(f"{AVAILABILITY}?{query}")
            assert response.status_code == 422, query
            assert response.headers["content-type"].startswith("application/problem+json")
            [error] = response.json()["errors"]
            assert error["field"] == field
            assert known in error["reason"]
        assert (await client.get(f"{AVAILABILITY}?region=3209&bed_class=ICU")).status_code == 200
        # Nothing was built or kept for the refused values.
        kept = {
            key[1:3] for key in app.state.services.public._documents if key[0] == "availability"
        }
        assert kept <= {(None, None), ("3209", "ICU")}


async def test_documents_are_kept_within_the_byte_budget_least_recently_used_out(
    settings: Settings, clean: None, factory: Factory, services: Services
) -> None:
    budget = 1 << 20
    classes = sorted(services.bed_class_codes)
    # Hospitals with long texts and every class: each class's document is about 100 KB.
    version = 0
    for n in range(36):
        code = await factory.hospital(f"3274{n:03d}", name="RS " + "Besar " * 30, address="J" * 500)
        body = msgspec.convert(report(*[ward(f"W{c}", c, 10, 5) for c in classes]), OccupancyReport)
        written = await apply_report(
            services.pool, services.queries, services.sync, code, body, max_open_wards=99
        )
        version = written.result.version
    app = create_app(settings.replace(public_cache_max_bytes=budget))
    async with AsyncTestClient(app=app) as client:
        await wait_for_version(client, code, version)
        for bed_class in classes:
            for available_only in ("true", "false"):
                query = f"bed_class={bed_class}&available_only={available_only}"
                assert (await client.get(f"{AVAILABILITY}?{query}")).status_code == 200
            await client.get(AVAILABILITY)  # the most asked document stays the freshest
        documents = app.state.services.public._documents
        assert documents.currsize <= budget
        assert len(documents) < 2 * len(classes), "nothing was evicted"
        assert ("availability", None, None, False) in documents
        assert ("availability", None, classes[0], True) not in documents, "not the oldest out"
        assert ("availability", None, classes[-1], False) in documents
