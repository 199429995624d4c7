"""One live connection's state, whatever its transport.

A subscriber is either in step with its group (it holds the group's views as of the last
frame the group sent) or behind: then it keeps only the codes of the hospitals it has yet to be
sent (latest wins: the group's current view of each is sent when it can take more), or it needs
a whole snapshot. Its memory is bounded by the number of hospitals, whatever the report rate.
Transports say whether a connection can take a frame now (`writable`) and how it is sent.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from bedsvc.live.frames import Frame
from bedsvc.live.groups import FilterGroup


class Subscriber:
    __slots__ = (
        "address",
        "closed",
        "group",
        "last_sent",
        "last_version",
        "needs_snapshot",
        "not_before",
        "pending",
        "snapshot_at",
        "synced",
    )

    def __init__(self, group: FilterGroup[Subscriber], address: str) -> None:
        self.group = group
        self.address = address
        self.synced = False
        self.needs_snapshot = True
        self.pending: set[str] = set()
        self.last_version = 0
        self.snapshot_at = float("-inf")
        self.not_before = 0.0  # of the next snapshot, when the client asked for one
        self.last_sent = time.monotonic()
        self.closed = False

    # What a transport provides.

    @property
    def busy_since(self) -> float | None:
        """Since when what was handed over has been waiting to go out; None when not busy."""
        raise NotImplementedError

    @property
    def writable(self) -> bool:
        """Whether a frame handed over now goes out without piling up behind earlier ones."""
        raise NotImplementedError

    def deliver(self, frame: Frame) -> None:
        """Hands one frame to the connection, without waiting."""
        raise NotImplementedError

    @classmethod
    def deliver_all(cls, subscribers: Sequence[Subscriber], frame: Frame) -> None:
        """Hands one frame to many connections of this transport."""
        for subscriber in subscribers:
            subscriber.deliver(frame)

    def end(self, code: int | None, reason: str) -> None:
        """Closes the connection (`code` None: it is gone already)."""
        raise NotImplementedError

    def ping(self) -> None:
        """Keeps a quiet connection (and the proxies on its way) open."""

    # The hub's side.

    def fell_behind(self, codes: Iterable[str]) -> None:
        """The group sent a frame this subscriber did not get: remember what it lacks."""
        self.synced = False
        if not self.needs_snapshot:
            self.pending.update(codes)

    def resync(self) -> None:
        self.synced = False
        self.needs_snapshot = True
        self.pending.clear()

    def sent(self, frame: Frame, clock: float) -> None:
        self.last_version = frame.version
        self.last_sent = clock
