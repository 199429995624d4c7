"""Region names and BPJS partners for the citizens' page."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Factory, wait_for_version

Client = AsyncTestClient[Litestar]


async def test_regions_by_name_with_listed_hospitals(client: Client, factory: Factory) -> None:
    await factory.hospital("3274011", "3274", region_name="Kota Cirebon", bpjs_ppk_code="0122R001")
    await factory.hospital("3274022", "3274")
    await factory.hospital("3209011", "3209")  # a region the registry has no name for
    await factory.hospital("3209022", "3209", active=False)  # unlisted: not counted
    await wait_for_version(client, "3209011", 1)
    await wait_for_version(client, "3274022", 1)

    regions = await client.get("/api/v1/regions")
    partners = await client.get("/api/v1/bpjs-partners")

    assert regions.status_code == 200
    assert regions.json() == [
        {"code": "3209", "name": "3209", "hospitals": 1},
        {"code": "3274", "name": "Kota Cirebon", "hospitals": 2},
    ]
    assert regions.headers["cache-control"] == "public, max-age=60"
    assert partners.json() == ["3274011"]
