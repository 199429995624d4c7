"""The registries a hospital may be relayed to, and which of them this service relays to."""

from __future__ import annotations

from typing import Literal

from bedsvc.settings import RelaySettings

Registry = Literal["sirs", "aplicares"]
REGISTRIES: tuple[Registry, ...] = ("sirs", "aplicares")

NAMES: dict[str, str] = {"sirs": "SIRS Online", "aplicares": "Aplicares"}


def base_urls(relay: RelaySettings) -> dict[str, str]:
    """Registry → base URL (no trailing slash) of the registries whose relay is on."""
    urls = {"sirs": relay.relay_sirs_url, "aplicares": relay.relay_aplicares_url}
    return {name: url.rstrip("/") for name, url in urls.items() if url}
