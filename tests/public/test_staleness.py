"""The stale threshold counted per hospital, with the time given: no clock is waited on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bedsvc.public.availability import HospitalState, WardState
from bedsvc.public.staleness import NEVER, Staleness

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def hospital(code: str, *reported: datetime) -> HospitalState:
    wards = [
        WardState(
            ward_code=f"W{i}",
            name=f"Ruang {i}",
            bed_class="KL3",
            capacity=10,
            available=1,
            available_male=None,
            available_female=None,
            waiting=None,
            reported_at=at,
            received_at=at,
        )
        for i, at in enumerate(reported)
    ]
    return HospitalState(
        code=code,
        name=f"RS {code}",
        kind="RSUD",
        region_code="3274",
        address="",
        phone="",
        lat=None,
        lon=None,
        version=1,
        wards=wards,
    )


def test_wards_older_than_the_threshold_are_counted() -> None:
    staleness = Staleness(HOUR)
    a = hospital("A", NOW - 2 * HOUR, NOW - 10 * timedelta(minutes=1))
    b = hospital("B", NOW - 3 * HOUR)
    staleness.reset([a, b], NOW)
    assert staleness.counts == {"A": 1, "B": 1}
    assert staleness.total == 2
    # The next ward to cross is A's second, fifty minutes from now.
    assert staleness.next_transition == NOW + 50 * timedelta(minutes=1)


def test_the_clock_turns_wards_stale_and_says_which_hospitals() -> None:
    staleness = Staleness(HOUR)
    a = hospital("A", NOW - 30 * timedelta(minutes=1))
    b = hospital("B", NOW)
    states = {"A": a, "B": b}
    staleness.reset(states.values(), NOW)
    assert staleness.total == 0
    assert not staleness.catch_up(states, NOW + 29 * timedelta(minutes=1))
    assert staleness.catch_up(states, NOW + 31 * timedelta(minutes=1))
    assert (staleness.counts, staleness.turned) == ({"A": 1, "B": 0}, {"A"})
    assert staleness.catch_up(states, NOW + 2 * HOUR)
    assert (staleness.total, staleness.turned) == (2, {"A", "B"})
    assert staleness.next_transition == NEVER


def test_a_new_report_makes_a_hospital_fresh_again() -> None:
    staleness = Staleness(HOUR)
    staleness.reset([hospital("A", NOW - 2 * HOUR)], NOW)
    assert staleness.total == 1
    staleness.update(["A"], {"A": hospital("A", NOW)}, NOW)
    assert (staleness.counts, staleness.total) == ({"A": 0}, 0)
    staleness.update(["A"], {}, NOW)  # no longer listed
    assert (staleness.counts, staleness.total) == ({}, 0)


def test_the_next_transition_follows_each_hospitals_latest_report() -> None:
    """A hospital that reports again moves its transition later: the one it replaced no
    longer counts, however many reports came in between."""
    staleness = Staleness(HOUR)
    staleness.reset([hospital("A", NOW), hospital("B", NOW + timedelta(minutes=5))], NOW)
    for minutes in range(1, 500):
        staleness.update(["A"], {"A": hospital("A", NOW + minutes * timedelta(seconds=1))}, NOW)
    assert staleness.next_transition == NOW + HOUR + timedelta(minutes=5)  # B's
    staleness.update(["B"], {}, NOW)
    assert staleness.next_transition == NOW + HOUR + 499 * timedelta(seconds=1)  # A's latest
    staleness.update(["A"], {}, NOW)
    assert staleness.next_transition == NEVER
