"""Simulated hospital systems that report through a bridge, as their SIMRS would to BPJS or
Kemenkes: Aplicares room by room with a signed request, SIRS Online row by row by id_t_tt."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from bedsvc.bridges.credentials import AplicaresCredential, SirsCredential
from bedsvc.demo.simulator import SimulatedWard

log = structlog.get_logger(__name__)


async def class_codes(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, int]]:
    """Our bed class to Aplicares kodekelas and SIRS id_tt, as an operator maps a SIMRS."""
    classes: list[dict[str, Any]] = (await client.get("/api/v1/bed-classes")).json()
    aplicares = {c["code"]: c["aplicares_codes"][0] for c in classes if c["aplicares_codes"]}
    sirs = {c["code"]: c["sirs_ids"][0] for c in classes if c["sirs_ids"]}
    return aplicares, sirs


def _refused(bridge: str, ward: SimulatedWard, response: httpx.Response) -> None:
    log.warning("bridge report refused", bridge=bridge, ward=ward.ward_code, reply=response.text)


@dataclass
class AplicaresBridge:
    credential: AplicaresCredential
    ppk_code: str
    codes: dict[str, str]
    name: str = "Aplicares"
    created: set[str] = field(default_factory=set)

    def headers(self) -> dict[str, str]:
        stamp = str(int(time.time()))
        message = f"{self.credential.cons_id}&{stamp}".encode()
        digest = hmac.new(self.credential.secret.encode(), message, hashlib.sha256).digest()
        return {
            "X-cons-id": self.credential.cons_id,
            "X-timestamp": stamp,
            "X-signature": base64.b64encode(digest).decode(),
        }

    async def send(
        self, client: httpx.AsyncClient, wards: list[SimulatedWard]
    ) -> list[SimulatedWard]:
        leftover = []
        for ward in wards:
            kodekelas = self.codes.get(ward.bed_class)
            if kodekelas is None:
                leftover.append(ward)
                continue
            action = "update" if ward.ward_code in self.created else "create"
            available = str(ward.capacity - ward.occupied)
            body = {
                "kodekelas": kodekelas,
                "koderuang": ward.ward_code,
                "namaruang": ward.name,
                "kapasitas": str(ward.capacity),
                "tersedia": available,
                "tersediapria": "0",
                "tersediawanita": "0",
                "tersediapriawanita": available,
            }
            url = f"/aplicaresws/rest/bed/{action}/{self.ppk_code}"
            response = await client.post(url, json=body, headers=self.headers())
            if response.status_code == 200:
                self.created.add(ward.ward_code)
            else:
                _refused(self.name, ward, response)
        return leftover


@dataclass
class SirsBridge:
    credential: SirsCredential
    ids: dict[str, int]
    prefix: str
    name: str = "SIRS Online"
    id_t_tt: dict[str, str] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        return {
            "X-rs-id": self.credential.rs_id,
            "X-pass": hashlib.md5(
                self.credential.password.encode(), usedforsecurity=False
            ).hexdigest(),
            "X-Timestamp": str(int(time.time())),
        }

    async def send(
        self, client: httpx.AsyncClient, wards: list[SimulatedWard]
    ) -> list[SimulatedWard]:
        leftover = []
        for ward in wards:
            id_tt = self.ids.get(ward.bed_class)
            if id_tt is None:
                leftover.append(ward)
                continue
            body = {"jumlah": str(ward.capacity), "terpakai": str(ward.occupied), "antrian": "0"}
            known = self.id_t_tt.get(ward.ward_code)
            url = f"{self.prefix.rstrip('/')}/Fasyankes"
            if known is None:
                body |= {"id_tt": str(id_tt), "ruang": ward.name, "jumlah_ruang": "1"}
                response = await client.post(url, json=body, headers=self.headers())
            else:
                response = await client.put(
                    url, json=body | {"id_t_tt": known}, headers=self.headers()
                )
            if response.status_code != 200:
                _refused(self.name, ward, response)
            elif known is None:
                self.id_t_tt[ward.ward_code] = response.json()["fasyankes"][0]["id_t_tt"]
        return leftover
