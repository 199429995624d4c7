"""Hospitals, ward-staff users and keys for tests, made through the service's own code."""

from __future__ import annotations

from typing import Any

from bedsvc.access.actor import OPERATOR, Actor
from bedsvc.access.keys import issue_key
from bedsvc.admin.schemas import HospitalIn
from bedsvc.admin.service import save_hospital
from bedsvc.services import Services
from bedsvc.staff.users import UserRequest, add_user


class Factory:
    """Hospitals, keys and reports for tests, made through the service's own code."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def hospital(self, code: str = "3274011", region: str = "3274", **fields: Any) -> str:
        data = {
            "name": f"RS {code}",
            "kind": "RSUD",
            "address": "Jl. Kesambi No. 56, Kota Cirebon",
            "phone": "0231-200000",
            "lat": -6.7277,
            "lon": 108.5523,
        } | fields
        hospital = HospitalIn(code=code, region_code=region, **data)
        services = self.services
        await save_hospital(services.pool, services.queries, services.sync, hospital, OPERATOR)
        return code

    async def user(self, hospital_code: str, username: str = "perawat.mawar") -> str:
        """A ward-staff user; returns the password."""
        request = UserRequest(hospital_code=hospital_code, username=username)
        profile = self.services.settings.access.password_hash_profile
        login = await add_user(self.services.pool, self.services.queries, request, Actor(), profile)
        return login.password

    async def key(self, role: str = "hospital", hospital_code: str | None = None) -> str:
        async with self.services.pool.acquire() as conn:
            issued = await issue_key(conn, self.services.queries, role, hospital_code)  # type: ignore[arg-type]
        return issued.key
