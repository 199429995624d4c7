"""Live frames, spliced from the encoded per-hospital fragments that the public documents use.

A hospital's public view under a filter is encoded once (bedsvc/public/nearcache.py); a frame
is those bytes joined into the shape of `Snapshot` or `Changes` (bedsvc/live/messages.py),
once per filter group and tick, and handed as is to every subscriber of the group.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from websockets.frames import Frame as WireFrame
from websockets.frames import Opcode

from bedsvc.public.encoded import View

_encoder = msgspec.json.Encoder()


class Frame:
    """One message, encoded once; its event-stream and WebSocket forms are made on first
    demand, once for every subscriber of the group."""

    __slots__ = ("_event", "_websocket", "payload", "version")

    def __init__(self, version: int, payload: bytes) -> None:
        self.version = version
        self.payload = payload
        self._event: bytes | None = None
        self._websocket: bytes | None = None

    @property
    def event(self) -> bytes:
        """As one Server-Sent Event: `id:` is the version."""
        if self._event is None:
            self._event = b"id: %d\ndata: %b\n\n" % (self.version, self.payload)
        return self._event

    @property
    def websocket(self) -> bytes:
        """As one WebSocket text frame from a server: unmasked, without extensions (the live
        processes negotiate none), so the same bytes for every connection."""
        if self._websocket is None:
            wire = WireFrame(Opcode.TEXT, self.payload)
            self._websocket = wire.serialize(mask=False, extensions=[])
        return self._websocket


def _versions(views: Iterable[tuple[str, View]]) -> bytes:
    return _encoder.encode({code: view.version for code, view in views})


def _joined(views: list[tuple[str, View]]) -> bytes:
    return b",".join([view.body for _, view in views])


def snapshot_frame(version: int, views: list[tuple[str, View]]) -> Frame:
    """`views` in the order of the public document (by code)."""
    payload = b'{"type":"snapshot","version":%d,"hospitals":[%b],"versions":%b}' % (
        version,
        _joined(views),
        _versions(views),
    )
    return Frame(version, payload)


def changes_frame(version: int, changed: list[tuple[str, View | None]]) -> Frame:
    """`changed`: each hospital's view, or None when it left the filter."""
    present = [(code, view) for code, view in changed if view is not None]
    removed = [code for code, view in changed if view is None]
    payload = b'{"type":"changes","version":%d,"hospitals":[%b],"removed":%b,"versions":%b}' % (
        version,
        _joined(present),
        _encoder.encode(removed),
        _versions(present),
    )
    return Frame(version, payload)
