"""Query parameters of the public reads that need more than a type to check."""

from __future__ import annotations

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
