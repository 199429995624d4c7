"""Query parameters of the public reads that need more than a type to check."""

from __future__ import annotations

from collections.abc import Collection

from bedsvc.errors import invalid


def parse_near(near: str | None) -> tuple[float, float] | None:
    if near is None:
        return None
    try:
        lat_text, lon_text = near.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise invalid("near", "expected 'lat,lon' in decimal degrees, e.g. -6.71,108.55") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise invalid("near", "latitude must lie in [-90, 90] and longitude in [-180, 180]")
    return lat, lon


def known_values(field: str, value: str, known: Collection[str]) -> None:
    """Refuses a filter value that is not one of `known`: each distinct value would otherwise
    become a group (or a cached document) of its own, chosen by the caller."""
    if value not in known:
        listed = ", ".join(sorted(known)) or "none yet"
        raise invalid(field, f"unknown {field} '{value[:32]}'; known: {listed}")


def checked_filter(
    region: str | None,
    bed_class: str | None,
    regions: Collection[str],
    bed_classes: Collection[str],
) -> tuple[str | None, str | None]:
    """(region, bed_class) of a request, each None or a known value."""
    region, bed_class = region or None, bed_class or None
    if region is not None:
        known_values("region", region, regions)
    if bed_class is not None:
        known_values("bed_class", bed_class, bed_classes)
    return region, bed_class
