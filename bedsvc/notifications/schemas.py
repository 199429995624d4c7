"""The notify-when-free API's payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

# base64url without padding, as PushSubscription.toJSON() gives the keys.
_BASE64URL = r"^[A-Za-z0-9_-]+={0,2}$"
_CODE = r"^[A-Za-z0-9._-]+$"

Endpoint = Annotated[
    str,
    Meta(
        min_length=8,
        max_length=2048,
        description="The push service's URL for this browser (PushSubscription.endpoint)",
    ),
]


class PushKeys(msgspec.Struct, frozen=True):
    p256dh: Annotated[
        str,
        Meta(
            pattern=_BASE64URL,
            min_length=80,
            max_length=100,
            description="The browser's P-256 public key (uncompressed point, base64url)",
        ),
    ]
    auth: Annotated[
        str,
        Meta(
            pattern=_BASE64URL,
            min_length=16,
            max_length=32,
            description="The browser's 16-byte authentication secret (base64url)",
        ),
    ]


class PushSubscriptionIn(msgspec.Struct, frozen=True):
    """PushSubscription.toJSON() of the browser."""

    endpoint: Endpoint
    keys: PushKeys
    expirationTime: float | None = None  # noqa: N815 - the browser's name


class SubscribeRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    subscription: PushSubscriptionIn
    bed_class: Annotated[str, Meta(pattern=_CODE, max_length=32, description="A bed class code")]
    hospital_code: (
        Annotated[
            str,
            Meta(pattern=_CODE, max_length=32, description="The hospital to watch; or `region`"),
        ]
        | None
    ) = None
    region: (
        Annotated[
            str,
            Meta(
                pattern=_CODE,
                max_length=32,
                description="Watch every listed hospital of this region instead of one",
            ),
        ]
        | None
    ) = None


class Subscription(msgspec.Struct, frozen=True, omit_defaults=True):
    bed_class: str
    expires_at: Annotated[datetime, Meta(description="Unused, the subscription ends then")]
    hospital_code: str | None = None
    region: str | None = None


class UnsubscribeRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    endpoint: Endpoint


class VapidPublicKey(msgspec.Struct, frozen=True):
    public_key: Annotated[
        str,
        Meta(
            description="The VAPID public key: PushManager.subscribe's applicationServerKey "
            "(uncompressed P-256 point, base64url)"
        ),
    ]


class PushMessage(msgspec.Struct, frozen=True):
    """What the service worker receives, decrypted, and shows as a notification."""

    title: str
    body: str
    hospital_code: str
    bed_class: str
    available: int
    url: str
