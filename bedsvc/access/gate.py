"""What the guards read, built once per worker in the app's lifespan.

Guards run before dependencies are resolved, so they cannot be given what they need with
`Provide`: they read this one typed object from the app's state instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from litestar.connection import ASGIConnection

from bedsvc.access.keys import KeyCache
from bedsvc.store import Queries


@dataclass(frozen=True, slots=True)
class Gate:
    pool: asyncpg.Pool
    queries: Queries
    keys: KeyCache


def gate_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Gate:
    gate: Gate = connection.app.state.gate
    return gate
