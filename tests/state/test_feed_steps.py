"""The change feed's step check, entry by entry, without Redis: the global version must grow
by exactly what the hospital's version grew by."""

from __future__ import annotations

from typing import Any

import pytest

from bedsvc.public.availability import HospitalState
from bedsvc.state.cache import Change
from bedsvc.state.feed import ChangeFeed


def state(code: str, version: int) -> HospitalState:
    return HospitalState(
        code=code,
        name=f"RS {code}",
        kind="RSUD",
        region_code="3274",
        address="",
        phone="",
        lat=None,
        lon=None,
        version=version,
        wards=[],
    )


class Heard:
    """A listener that keeps what the feed told it."""

    def __init__(self) -> None:
        self.changes: list[tuple[int, str]] = []

    def hospital_changed(self, version: int, code: str, state: Any) -> None:
        self.changes.append((version, code))

    def reloaded(self, version: int) -> None:
        self.changes.append((version, "reloaded"))


@pytest.fixture
def feed() -> tuple[ChangeFeed, Heard]:
    # Never connected: these entries all add up, so the feed never reloads.
    feed = ChangeFeed(None, lambda: None, "changes")  # type: ignore[arg-type]
    feed._load([state("A", 2), state("B", 3)], {"A": 2, "B": 3}, from_database=False)
    heard = Heard()
    feed.add_listener(heard)
    return feed, heard


async def test_steps_that_add_up_are_applied(feed: tuple[ChangeFeed, Heard]) -> None:
    change_feed, heard = feed
    assert await change_feed.handle(Change(position=6, code="A", version=3, state=state("A", 3)))
    assert await change_feed.handle(Change(position=9, code="B", version=6, state=None))
    assert await change_feed.handle(Change(position=10, code="C", version=1, state=state("C", 1)))
    assert change_feed.version == 10
    assert sorted(change_feed.hospitals) == ["A", "C"]
    assert heard.changes == [(6, "A"), (9, "B"), (10, "C")]


async def test_the_fingerprint_tells_equal_sums_apart(feed: tuple[ChangeFeed, Heard]) -> None:
    change_feed, _ = feed
    before = change_feed.fingerprint
    await change_feed.handle(Change(position=6, code="A", version=3, state=state("A", 3)))
    after_a = change_feed.fingerprint
    other = ChangeFeed(None, lambda: None, "changes")  # type: ignore[arg-type]
    other._load([state("A", 2), state("B", 4)], {"A": 2, "B": 4}, from_database=False)
    # Same global version (6), different hospital versions: different fingerprints.
    assert other.version == change_feed.version == 6
    assert other.fingerprint != after_a != before
