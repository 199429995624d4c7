"""A SIMRS speaking to the Aplicares-compatible bridge, signed as BPJS expects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from click.testing import CliRunner, Result
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.bridges.credentials import AplicaresCredential, issue_aplicares
from bedsvc.cli import main
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support.factory import Factory

Client = AsyncTestClient[Litestar]

BASE = "/aplicaresws/rest"


PPK = "0122R001"


class Simrs:
    """Signs and sends like the Aplicares bridges of SIMRS Khanza and the PHP clients do."""

    def __init__(self, client: Client, credential: AplicaresCredential, ppk: str = PPK) -> None:
        self.client = client
        self.cons_id = credential.cons_id
        self.secret = credential.secret
        self.ppk = ppk

    def headers(self, at: float | None = None, secret: str | None = None) -> dict[str, str]:
        stamp = str(int(time.time() if at is None else at))
        message = f"{self.cons_id}&{stamp}".encode()
        digest = hmac.new((secret or self.secret).encode(), message, hashlib.sha256).digest()
        return {
            "X-cons-id": self.cons_id,
            "X-timestamp": stamp,
            "X-signature": base64.b64encode(digest).decode(),
            "user_key": "ignored-by-bedsvc",
            "Content-Type": "Application/JSON",
        }

    async def post(self, action: str, body: dict[str, Any], **sign: Any) -> Any:
        return await self.client.post(
            f"{BASE}/bed/{action}/{self.ppk}",
            content=msgspec.json.encode(body),
            headers=self.headers(**sign),
        )

    async def read(self, start: int, limit: int, **sign: Any) -> Any:
        return await self.client.get(
            f"{BASE}/bed/read/{self.ppk}/{start}/{limit}", headers=self.headers(**sign)
        )


def room(
    koderuang: str = "MAWAR", kodekelas: str = "KL3", kapasitas: Any = "20", tersedia: Any = "3"
) -> dict[str, Any]:
    # As SIMRS send it: numbers as strings, gender fields "0" when not split by sex.
    return {
        "kodekelas": kodekelas,
        "koderuang": koderuang,
        "namaruang": f"Ruang {koderuang.title()}",
        "kapasitas": kapasitas,
        "tersedia": tersedia,
        "tersediapria": "0",
        "tersediawanita": "0",
        "tersediapriawanita": tersedia,
    }


async def credential(services: Services, hospital_code: str) -> AplicaresCredential:
    return await issue_aplicares(
        services.pool, services.queries, services.secret_box, hospital_code
    )


async def hospital_with_bridge(
    factory: Factory, services: Services, code: str = "3274011", ppk: str = PPK
) -> AplicaresCredential:
    await factory.hospital(code, bpjs_ppk_code=ppk)
    return await credential(services, code)


async def fetch(settings: Settings, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


def refused(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["metadata"]["code"] == 0
    assert words in body["metadata"]["message"], body


def run_cli(settings: Settings, data_dir: Path, *args: str) -> Result:
    env = {
        "BEDSVC_DATABASE_URL": settings.database.database_url,
        "BEDSVC_DATA_DIR": str(data_dir),
        "BEDSVC_SECRET_KEY": None,
        "BEDSVC_LOG_LEVEL": "DEBUG",
    }
    return CliRunner().invoke(main, list(args), env=env)
