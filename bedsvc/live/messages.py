"""The live stream's messages: one tagged union, the same on WebSocket and Server-Sent Events.

Server to client: a `snapshot` first (and again whenever the client must start over), then
one `delta` per changed hospital that matches the filter, or `removed` when a hospital leaves
the filtered listing; versions strictly grow within a connection. `ping` keeps idle
connections (and the proxies on their way) open. Client to server: `resync` asks for a
fresh snapshot.
"""

from __future__ import annotations

import msgspec

from bedsvc.availability import HospitalAvailability


class Snapshot(msgspec.Struct, frozen=True, tag="snapshot", tag_field="type"):
    """Every hospital the filter lists, as `GET /api/v1/availability` would list them at
    `version`. Replaces whatever the client held."""

    version: int
    hospitals: list[HospitalAvailability]


class Delta(msgspec.Struct, frozen=True, tag="delta", tag_field="type"):
    """One hospital's new public view as of `version`; add or replace it by `code`."""

    version: int
    hospital: HospitalAvailability


class Removed(msgspec.Struct, frozen=True, tag="removed", tag_field="type"):
    """The hospital no longer matches the filter (or is no longer listed) as of `version`."""

    version: int
    code: str


class Ping(msgspec.Struct, frozen=True, tag="ping", tag_field="type"):
    """Sent on a connection that has been quiet for a while; carries nothing."""


class Resync(msgspec.Struct, frozen=True, tag="resync", tag_field="type"):
    """From the client: send me a fresh snapshot (e.g. after it noticed a problem)."""


LiveMessage = Snapshot | Delta | Removed | Ping
"""What the server sends."""

ClientMessage = Resync
"""What a client may send."""

encoder = msgspec.json.Encoder()
live_decoder = msgspec.json.Decoder(LiveMessage)
client_decoder = msgspec.json.Decoder(ClientMessage)

# Close codes: standard ones where they fit, 4000-range ones of our own otherwise.
CLOSE_GOING_AWAY = 1001  # the server is shutting down: reconnect (elsewhere)
CLOSE_POLICY = 1008  # bad filter in the query string
CLOSE_TOO_BIG = 1009  # a client message over the size limit
CLOSE_TRY_AGAIN_LATER = 1013  # this worker holds its maximum number of connections
CLOSE_TOO_SLOW = 4008  # the client did not take our messages for too long
