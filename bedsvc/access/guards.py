"""Who may call: each guard checks the credentials a route needs and sets the caller's
`Actor` (bedsvc/access/actor.py), which handlers take as their `actor` dependency.

Guards run before the body is read: an unauthenticated caller learns nothing about what a
valid request looks like. Each ends by saying the credential was accepted (bedsvc/ratelimit/
accepted.py): any other request that carried one counts against its address's limit."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from bedsvc.access.accepted import accept_credential
from bedsvc.access.actor import Actor, set_actor
from bedsvc.access.gate import gate_of
from bedsvc.access.keys import authenticate, bearer_token, find_key
from bedsvc.access.sessions import session_actor
from bedsvc.errors import Forbidden

MONITOR_ROLES = ("monitor", "admin")


async def hospital_actor(connection: ASGIConnection[Any, Any, Any, Any], code: str) -> Actor:
    """401 for neither a key nor a session, 404 for an unknown hospital, 403 for another
    hospital's key or user, a revoked key, an inactive hospital or a missing CSRF token."""
    actor = await session_actor(connection)
    if actor is not None:
        if actor.hospital_code != code:
            raise Forbidden("You may only report for your own hospital.")
        return actor
    gate = gate_of(connection)
    access = await gate.keys.hospital_access(
        gate.pool, gate.queries, bearer_token(connection), code
    )
    access.require(code)
    return Actor(key_id=access.key.id, hospital_code=code)


async def hospital_actor_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """The hospital's API key or a signed-in ward-staff user of it."""
    code = connection.path_params["hospital_code"]
    set_actor(connection, await hospital_actor(connection, code))
    accept_credential(connection)


async def admin_key_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """An API key with the role 'admin'."""
    gate = gate_of(connection)
    key = await authenticate(connection, gate.pool, gate.queries, "admin")
    set_actor(connection, Actor(key_id=key.id))
    accept_credential(connection)


async def monitor_key_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """An API key with the role 'monitor' or 'admin'."""
    gate = gate_of(connection)
    token = bearer_token(connection)
    async with gate.pool.acquire() as conn:
        key = await find_key(conn, gate.queries, token)
    if key.revoked_at is not None:
        raise Forbidden("This API key was revoked.")
    if key.role not in MONITOR_ROLES:
        raise Forbidden("This route needs a key with role 'monitor' (or 'admin').")
    set_actor(connection, Actor(key_id=key.id))
    accept_credential(connection)
