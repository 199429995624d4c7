"""Who may subscribe: allowed Origins, and the refusals of admission."""

from __future__ import annotations

from bedsvc.errors import BedsvcError, TooManyRequests
from bedsvc.settings import LiveSettings


class TooManyConnections(BedsvcError):
    status_code = 503
    title = "Too many live connections"


class TooManyFromAddress(TooManyRequests):
    title = "Too many live connections from this address"


def allowed_origins(live: LiveSettings) -> frozenset[str] | None:
    """None when every Origin is allowed."""
    origins = frozenset(live.live_allowed_origins)
    return None if "*" in origins else origins


def origin_allowed(origin: str | None, allowed: frozenset[str] | None) -> bool:
    # Clients that are not browsers send no Origin; the Origin check protects browser users
    # from pages of other sites, so there is nothing to check without one.
    return origin is None or allowed is None or origin.rstrip("/") in allowed
