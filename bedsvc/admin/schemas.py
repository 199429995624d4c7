from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from bedsvc.access.keys import Role
from bedsvc.text import Code, text

# An address as a mail server takes it (no display name, no list separators inside).
Email = Annotated[
    str,
    Meta(
        max_length=254,
        pattern=r"\A[^@\s,;<>\"]+@[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?\.[A-Za-z]{2,}\Z",
        description="Mail address",
    ),
]
# A Telegram chat: its numeric id (groups are negative) or a public channel's @username.
ChatId = Annotated[
    str,
    Meta(
        max_length=40,
        pattern=r"\A(?:-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})\Z",
        description="Telegram chat id, or @channelname",
    ),
]


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
    reminder_emails: (
        Annotated[
            list[Email],
            Meta(
                max_length=20,
                description="Addresses reminded when the hospital stops reporting; "
                "absent keeps the registry's, [] clears them",
            ),
        ]
        | None
    ) = None
    telegram_chat_ids: (
        Annotated[
            list[ChatId],
            Meta(
                max_length=20,
                description="Telegram chats reminded when the hospital stops reporting; "
                "absent keeps the registry's, [] clears them",
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
