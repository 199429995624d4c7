"""Alert conditions over time (hysteresis): since when each has held or been clear."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from bedsvc.store.db import Conn
from bedsvc.store.queries import Queries

Key = tuple[str, str]  # (rule, subject)


async def observe_conditions(
    conn: Conn, queries: Queries, rules: list[str], holding: Iterable[Key]
) -> None:
    """Records which conditions of the evaluated rules hold now; all others are clear."""
    pairs = sorted(set(holding))
    holding_rules = [rule for rule, _ in pairs]
    holding_subjects = [subject for _, subject in pairs]
    await queries.hold_conditions(conn, rules=holding_rules, subjects=holding_subjects)
    await queries.clear_conditions(
        conn, rules=rules, holding_rules=holding_rules, holding_subjects=holding_subjects
    )


async def conditions_due(
    conn: Conn, queries: Queries, rules: list[str], hold: timedelta
) -> set[Key]:
    """Conditions held at least `hold` with no open alert."""
    return {
        (row.rule, row.subject)
        async for row in queries.conditions_due(conn, rules=rules, hold=hold)
    }


async def alerts_due_to_resolve(
    conn: Conn, queries: Queries, rules: list[str], hold: timedelta
) -> list[Key]:
    """Open alerts whose condition has been clear at least `hold`."""
    return [
        (row.rule, row.subject)
        async for row in queries.alerts_due_to_resolve(conn, rules=rules, hold=hold)
    ]


async def forget_conditions(conn: Conn, queries: Queries, hold: timedelta) -> None:
    await queries.forget_conditions(conn, hold=hold)
