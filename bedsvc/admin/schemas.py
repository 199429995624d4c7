from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from bedsvc.access.keys import Role
from bedsvc.text import Code, text


class HospitalIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: Code
    name: Annotated[str, text(200, min_length=1)]
    region_code: Code
    kind: Annotated[str, text(50)] = ""
    address: Annotated[str, text(500)] = ""
    phone: Annotated[str, text(50)] = ""
    lat: Annotated[float, Meta(ge=-90, le=90)] | None = None
    lon: Annotated[float, Meta(ge=-180, le=180)] | None = None
    bpjs_ppk_code: Code | None = None
    active: bool = True
    region_name: Annotated[str, text(200)] | None = None
    alert_webhook_url: (
        Annotated[
            str,
            Meta(
                max_length=2000,
                pattern=r"^https?://",
                description="Receives this hospital's stale alerts, besides the health office",
            ),
        ]
        | None
    ) = None


class HospitalSaved(msgspec.Struct, frozen=True):
    code: str
    created: bool
    version: int


class KeyRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    role: Role
    hospital_code: Code | None = None
    label: Annotated[str, text(200)] = ""


class KeyRevoked(msgspec.Struct, frozen=True):
    key_id: str
    revoked: bool
