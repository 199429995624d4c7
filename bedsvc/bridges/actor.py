"""Who calls a bridge: a SIMRS whose credential names its hospital. The bridges' guards set it
as the request's `Actor` (bedsvc/access/actor.py); their routes take it as `actor`."""

from __future__ import annotations

from typing import Any

from litestar import Request

from bedsvc.access.actor import Actor, current_actor
from bedsvc.errors import NotAuthenticated


class BridgeActor(Actor, frozen=True, kw_only=True):
    """`key_id` names the credential (`sirs:<rs_id>`, `aplicares:<cons_id>`) in the history
    and the audit trail, as an API key's id does for the native push."""

    key_id: str
    hospital_code: str


def bridge_actor(request: Request[Any, Any, Any]) -> BridgeActor:
    """The `actor` dependency of the SIRS bridge's routes."""
    actor = current_actor(request)
    if not isinstance(actor, BridgeActor):
        # A bridge route behind another guard: a bug, refused safely.
        raise NotAuthenticated("No bridge credentials were checked for this route.")
    return actor
