"""The typed Protocol of the named queries (bedsvc/store/queries.py) matches sql/queries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_query_types_are_current(database_url: str) -> None:
    """A query renamed, added, given other parameters or other columns without running
    scripts/gen-query-types would leave mypy checking the call sites against the old ones.
    The columns are described by the session's migrated database."""
    checked = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "gen-query-types"),
            "--check",
            "--dsn",
            database_url,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
