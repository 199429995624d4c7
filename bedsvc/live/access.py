"""Who may subscribe, to what: the filter of a live request, allowed Origins."""

from __future__ import annotations

from bedsvc.availability import AvailabilityFilter
from bedsvc.errors import invalid
from bedsvc.settings import Settings

MAX_FILTER_LENGTH = 32


def live_filter(
    region: str | None, bed_class: str | None, bed_classes: frozenset[str]
) -> AvailabilityFilter:
    """The filter of a subscription; an unknown bed class is refused rather than streamed as an
    empty listing forever."""
    if region is not None and (not region or len(region) > MAX_FILTER_LENGTH):
        raise invalid("region", f"must be 1 to {MAX_FILTER_LENGTH} characters")
    if bed_class is not None and bed_class not in bed_classes:
        raise invalid("bed_class", f"unknown bed class '{bed_class[:MAX_FILTER_LENGTH]}'")
    return AvailabilityFilter(region=region or None, bed_class=bed_class or None)


def allowed_origins(settings: Settings) -> frozenset[str] | None:
    """None when every Origin is allowed."""
    origins = frozenset(o.strip().rstrip("/") for o in settings.live_allowed_origins.split(","))
    return None if "*" in origins else origins - {""}


def origin_allowed(origin: str | None, allowed: frozenset[str] | None) -> bool:
    # Clients that are not browsers send no Origin; the Origin check protects browser users
    # from pages of other sites, so there is nothing to check without one.
    return origin is None or allowed is None or origin.rstrip("/") in allowed
