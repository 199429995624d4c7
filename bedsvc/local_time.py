"""Times as people in a region read them: WIB, WITA or WIT, from the region's Kemendagri code.

Indonesia has three time zones, and a province lies in one of them: the first two digits of a
region's code name its province. A region whose province is not known (a code of another
scheme) is shown in the service's own zone (BEDSVC_TIMEZONE).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

_WIB = ("Asia/Jakarta", "WIB")
_WITA = ("Asia/Makassar", "WITA")
_WIT = ("Asia/Jayapura", "WIT")

# Sumatra, Java, West and Central Kalimantan: WIB. Bali, Nusa Tenggara, South, East and North
# Kalimantan, Sulawesi: WITA. Maluku and Papua (every 9x province, the new ones included): WIT.
_PROVINCES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("11", "12", "13", "14", "15", "16", "17", "18", "19", "21"), _WIB),
    **dict.fromkeys(("31", "32", "33", "34", "35", "36", "61", "62"), _WIB),
    **dict.fromkeys(("51", "52", "53", "63", "64", "65"), _WITA),
    **dict.fromkeys(("71", "72", "73", "74", "75", "76"), _WITA),
    **dict.fromkeys(("81", "82", "91", "92", "93", "94", "95", "96", "97"), _WIT),
}
_ABBREVIATIONS = dict((_WIB, _WITA, _WIT))

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")


def region_zone(region_code: str | None, default_zone: str) -> tuple[ZoneInfo, str]:
    """The zone of a region and its Indonesian abbreviation (the zone's name when none)."""
    zone, name = _PROVINCES.get((region_code or "")[:2], (default_zone, ""))
    return ZoneInfo(zone), name or _ABBREVIATIONS.get(zone, zone)


def local_time(moment: datetime, region_code: str | None, default_zone: str) -> str:
    """`12 Des 2026 14.05 WIB`: the date and clock time as the region reads them."""
    zone, name = region_zone(region_code, default_zone)
    local = moment.astimezone(zone)
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year} {local:%H.%M} {name}"
