"""Relay payloads: credentials in, the relays' state out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from bedsvc.text import CODE_PATTERN

Login = Annotated[str, Meta(min_length=1, max_length=64, pattern=CODE_PATTERN)]
Secret = Annotated[str, Meta(min_length=1, max_length=256)]
State = Literal["current", "pending", "failing", "off"]


class SirsCredentialIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The hospital's SIRS Online login from Kemenkes: its `rs_id` (X-rs-id) and password
    (X-pass, sent as given: the password or its MD5 hex, as the registry expects)."""

    rs_id: Login
    password: Secret


class AplicaresCredentialIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The hospital's Aplicares consumer id and secret key from BPJS (X-cons-id, and the key
    that signs X-signature)."""

    cons_id: Login
    secret: Secret


class RelayState(msgspec.Struct, frozen=True):
    """One hospital's relay to one registry.

    `state`: `current` (the registry has the hospital's latest version), `pending` (a newer
    version waits for its send), `failing` (the last send failed: `last_error` says how;
    `credential_refused` is not retried until the credential is set again), `off` (no
    credential, or the relay to that registry is switched off)."""

    hospital_code: str
    hospital_name: str
    registry: Literal["sirs", "aplicares"]
    registry_name: str
    state: State
    version: int
    sent_version: int | None
    last_sent_at: datetime | None
    last_error: str | None
    last_error_detail: str | None
    last_error_at: datetime | None
    next_attempt_at: datetime | None
    login: str | None


class RelayList(msgspec.Struct, frozen=True):
    relays: list[RelayState]
