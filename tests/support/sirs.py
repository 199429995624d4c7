"""A SIMRS speaking to the SIRS Online-compatible bridge, and its hospitals."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.bridges.credentials import SirsCredential, issue_sirs
from bedsvc.services import Services
from tests.support.factory import Factory

Client = AsyncTestClient[Litestar]

PREFIX = "/sirs/fo/index.php"


class Simrs:
    """Sends as SIMRS Khanza and the PHP bridges do: X-rs-id, X-pass, X-Timestamp, strings."""

    def __init__(
        self, client: Client, credential: SirsCredential, md5: bool = False, prefix: str = PREFIX
    ) -> None:
        self.client = client
        self.rs_id = credential.rs_id
        self.password = credential.password
        self.md5 = md5
        self.prefix = prefix

    def headers(self, password: str | None = None) -> dict[str, str]:
        sent = password or self.password
        if self.md5:
            sent = hashlib.md5(sent.encode(), usedforsecurity=False).hexdigest()
        return {
            "X-rs-id": self.rs_id,
            "X-Timestamp": str(int(time.time())),
            "X-pass": sent,
            "Content-Type": "application/json",
        }

    async def send(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        content = None if body is None else msgspec.json.encode(body)
        headers = self.headers(**kwargs)
        return await self.client.request(
            method, f"{self.prefix}/{path}", content=content, headers=headers
        )

    async def beds(self) -> list[dict[str, Any]]:
        response = await self.send("GET", "Fasyankes")
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["fasyankes"]
        return rows


def bed(id_tt: str = "5", ruang: str = "Irina A atas (Bedah)", **values: str) -> dict[str, Any]:
    # The body Khanza's SIRS bridge posts: every value a string, COVID fields "0", covid a number.
    return {
        "id_tt": id_tt,
        "ruang": ruang,
        "jumlah_ruang": "3",
        "jumlah": "7",
        "terpakai": "3",
        "terpakai_suspek": "0",
        "terpakai_konfirmasi": "0",
        "antrian": "2",
        "prepare": "0",
        "prepare_plan": "0",
        "covid": 0,
        "terpakai_dbd": "0",
        **values,
    }


async def hospital_with_bridge(
    factory: Factory, services: Services, code: str = "3274011"
) -> SirsCredential:
    await factory.hospital(code)
    return await issue_sirs(services.pool, services.queries, services.secret_box, code)


def status_of(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), response.text
    item: dict[str, Any] = response.json()["fasyankes"][0]
    return item


def refused(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    item = status_of(response)
    assert item["status"] == str(status)
    assert words in item["message"], item
