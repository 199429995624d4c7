"""Who may write for a hospital: its API key, or a signed-in ward-staff user of it."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from bedsvc.access.actor import Actor
from bedsvc.access.keys import bearer_token
from bedsvc.access.sessions import session_actor
from bedsvc.errors import Forbidden
from bedsvc.services import get_services


async def hospital_actor(connection: ASGIConnection[Any, Any, Any, Any], code: str) -> Actor:
    """401 for neither a key nor a session, 404 for an unknown hospital, 403 for another
    hospital's key or user, a revoked key, an inactive hospital or a missing CSRF token."""
    actor = await session_actor(connection)
    if actor is not None:
        if actor.hospital_code != code:
            raise Forbidden("You may only report for your own hospital.")
        return actor
    services = get_services(connection.app.state)
    access = await services.keys.hospital_access(
        services.pool, services.queries, bearer_token(connection), code
    )
    access.require(code)
    return Actor(key_id=access.key.id, hospital_code=code)


async def hospital_actor_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """A guard, so that it runs before the body is read: an unauthenticated caller learns
    nothing about what a valid report looks like. Sets `connection.state.actor`."""
    code = connection.path_params["hospital_code"]
    connection.state.actor = await hospital_actor(connection, code)
