"""The live stream's messages: one tagged union, the same on WebSocket and Server-Sent Events.

Server to client: a `snapshot` first (and again whenever the client must start over), then at
most one `changes` frame per tick with every hospital of the filter that changed since the
client's previous frame (latest wins) and the codes of those that left the filter. Frame
versions never decrease within a connection; a frame whose version equals the previous one
carries only what the clock changed (`stale` flags). Client to server: `resync` asks for a
fresh snapshot.

The server does not encode these Structs: it splices the per-hospital fragments that the public
documents use into the same shape (bedsvc/live/frames.py). They define the wire format, decode
it in tests and clients, and document it.
"""

from __future__ import annotations

import msgspec

from bedsvc.public.availability import HospitalAvailability


class Snapshot(msgspec.Struct, frozen=True, tag="snapshot", tag_field="type"):
    """Every hospital the filter lists, as `GET /api/v1/availability` lists them, as of
    `version`. Replaces whatever the client held. `versions`: each hospital's own version."""

    version: int
    hospitals: list[HospitalAvailability]
    versions: dict[str, int]


class Changes(msgspec.Struct, frozen=True, tag="changes", tag_field="type"):
    """What changed since the client's previous frame: add or replace each of `hospitals` by
    `code`, drop each code of `removed`. `versions`: the own version of each hospital listed."""

    version: int
    hospitals: list[HospitalAvailability]
    removed: list[str]
    versions: dict[str, int]


class Resync(msgspec.Struct, frozen=True, tag="resync", tag_field="type"):
    """From the client: send me a fresh snapshot (e.g. after it noticed a problem)."""


LiveMessage = Snapshot | Changes
"""What the server sends."""

ClientMessage = Resync
"""What a client may send."""

live_decoder = msgspec.json.Decoder(LiveMessage)
client_decoder = msgspec.json.Decoder(ClientMessage)

# Close codes: standard ones where they fit, 4000-range ones of our own otherwise.
CLOSE_GOING_AWAY = 1001  # the server is shutting down: reconnect (elsewhere)
CLOSE_TRY_AGAIN_LATER = 1013  # this process holds its maximum number of connections
CLOSE_TOO_SLOW = 4008  # the client did not take our messages for too long
