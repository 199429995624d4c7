"""Who calls a bridge: a SIMRS whose credential names its hospital. The bridges' guards set it
as the request's `Actor` (bedsvc/access/actor.py); their routes take it as `actor`."""

from __future__ import annotations

from typing import Any, TypeVar

from litestar import Request

from bedsvc.access.actor import Actor, current_actor
from bedsvc.errors import NotAuthenticated


class BridgeActor(Actor, frozen=True, kw_only=True):
    """`key_id` names the credential (`sirs:<rs_id>`, `aplicares:<cons_id>`) in the history
    and the audit trail, as an API key's id does for the native push."""

    key_id: str
    hospital_code: str


A = TypeVar("A", bound=BridgeActor)


def checked_actor(request: Request[Any, Any, Any], kind: type[A], who: str) -> A:
    """The request's actor, which a bridge's guard set as a `kind`."""
    actor = current_actor(request)
    if not isinstance(actor, kind):
        # A bridge route behind another guard: a bug, refused safely.
        raise NotAuthenticated(f"No {who} credentials were checked for this route.")
    return actor


def bridge_actor(request: Request[Any, Any, Any]) -> BridgeActor:
    """The `actor` dependency of the SIRS bridge's routes."""
    return checked_actor(request, BridgeActor, "bridge")
