"""What the relays' routes use, built once per worker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from bedsvc.secret_box import SecretBox
from bedsvc.store import Queries


@dataclass(frozen=True, slots=True)
class RelayService:
    """`urls`: the registries whose relay is on (bedsvc/relay/registries.py `base_urls`);
    `secret_box` encrypts the credentials operators set."""

    pool: asyncpg.Pool
    queries: Queries
    secret_box: SecretBox
    urls: Mapping[str, str]
