"""Who made a change: the API key or the signed-in person behind a request, and the audit
events recorded for changes that leave no occupancy history (registry, keys, users)."""

from __future__ import annotations

from typing import Any, TypedDict

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection

from bedsvc.errors import NotAuthenticated
from bedsvc.store import Conn, Queries


class Actor(msgspec.Struct, frozen=True):
    """An API key (`key_id`) or a ward-staff user (`username`); the CLI is neither."""

    key_id: str | None = None
    username: str | None = None
    hospital_code: str | None = None


# The command line is run by an operator on the machine: no key or user names it.
OPERATOR = Actor()


def set_actor(connection: ASGIConnection[Any, Any, Any, Any], actor: Actor) -> None:
    """What a guard does once it knows who is calling: the one thing it leaves on the
    connection, handed to handlers by `current_actor`."""
    connection.state.actor = actor


def current_actor(request: Request[Any, Any, Any]) -> Actor:
    """The `actor` dependency of every route behind a guard."""
    actor = request.state.get("actor")
    if not isinstance(actor, Actor):
        # A route that takes an actor without a guard that sets one: a bug, refused safely.
        raise NotAuthenticated("No credentials were checked for this route.")
    return actor


class Attribution(TypedDict):
    """The keyword arguments by which the write path records who made a change."""

    key_id: str | None
    username: str | None


def attribution(actor: Actor) -> Attribution:
    return Attribution(key_id=actor.key_id, username=actor.username)


async def record_event(
    conn: Conn,
    queries: Queries,
    actor: Actor,
    action: str,
    subject: str,
    hospital_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await queries.record_audit_event(
        conn,
        key_id=actor.key_id,
        username=actor.username,
        action=action,
        hospital_code=hospital_code,
        subject=subject,
        detail=detail or {},
    )
