"""How `bedsvc serve` shares the cores it may use between the HTTP workers and the live
processes."""

from __future__ import annotations

from bedsvc.runtime.server import CoreSplit, split_cores


def test_one_core_or_no_live_process_is_left_to_the_kernel() -> None:
    assert split_cores({0}, 1) is None
    assert split_cores({0, 1, 2, 3}, 0) is None


def test_the_live_process_gets_a_core_of_its_own() -> None:
    assert split_cores({0, 1}, 1) == CoreSplit(http=frozenset({0}), live=frozenset({1}))
    assert split_cores({0, 1, 2, 3, 4, 5, 6, 7}, 1) == CoreSplit(
        http=frozenset(range(7)), live=frozenset({7})
    )


def test_live_processes_get_one_core_each_but_at_most_half() -> None:
    assert split_cores(set(range(8)), 2) == CoreSplit(
        http=frozenset(range(6)), live=frozenset({6, 7})
    )
    assert split_cores({0, 1}, 2) == CoreSplit(http=frozenset({0}), live=frozenset({1}))
    assert split_cores({0, 1, 2, 3}, 3) == CoreSplit(http=frozenset({0, 1}), live=frozenset({2, 3}))


def test_only_the_cores_the_server_was_given() -> None:
    # e.g. started under `taskset -c 2,5,7`
    assert split_cores({7, 2, 5}, 1) == CoreSplit(http=frozenset({2, 5}), live=frozenset({7}))
