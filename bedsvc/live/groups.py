"""Subscribers grouped by filter, and what the group's subscribers hold.

A group keeps each listed hospital's view as its in-step subscribers hold it. On a tick it
takes the hospitals that changed, keeps those whose view under its filter differs, and makes
one frame of them for all its subscribers. Views come from the public near-cache, so the
public documents, the snapshots and the frames splice the same encoded bytes.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, Protocol, TypeVar

from bedsvc.live.frames import Frame, changes_frame, snapshot_frame
from bedsvc.public.encoded import View

GroupKey = tuple[str | None, str | None]
# The group's subscribers, of whatever transport (bedsvc/live/subscribers.py).
Member = TypeVar("Member", bound=Hashable)


class ViewSource(Protocol):
    def live_view(self, code: str, region: str | None, bed_class: str | None) -> View | None:
        """A hospital's view under a filter, or None when the filter leaves it out."""


class FilterGroup(Generic[Member]):
    def __init__(self, key: GroupKey, source: ViewSource) -> None:
        self.key = key
        self.source = source
        self.subscribers: dict[Member, None] = {}
        self.views: dict[str, View] = {}
        self._snapshot: Frame | None = None

    def _view(self, code: str) -> View | None:
        region, bed_class = self.key
        return self.source.live_view(code, region, bed_class)

    def load(self, codes: Iterable[str]) -> None:
        self.views = {code: view for code in codes if (view := self._view(code)) is not None}
        self._snapshot = None

    def apply(self, codes: Iterable[str]) -> list[tuple[str, View | None]]:
        """Takes in the hospitals that may have changed; answers those whose view did."""
        changed: list[tuple[str, View | None]] = []
        views = self.views
        for code in codes:
            view, held = self._view(code), views.get(code)
            if view is None:
                if held is None:
                    continue
                del views[code]
            else:
                if held is not None and (held.body is view.body or held.body == view.body):
                    continue
                views[code] = view
            changed.append((code, view))
        if changed:
            self._snapshot = None
        return changed

    def snapshot(self, version: int) -> Frame:
        """Everything the group holds; one encoding per version, however many ask for it."""
        cached = self._snapshot
        if cached is None or cached.version != version:
            cached = self._snapshot = snapshot_frame(version, sorted(self.views.items()))
        return cached

    def catch_up(self, version: int, codes: Iterable[str]) -> Frame | None:
        """The current view of each of `codes` (or its removal), for one subscriber behind."""
        views = self.views
        changed = [(code, views.get(code)) for code in sorted(codes)]
        return changes_frame(version, changed) if changed else None
