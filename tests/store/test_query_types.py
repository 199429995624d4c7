"""The typed Protocol of the named queries (bedsvc/store/queries.py) matches sql/queries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_query_types_are_current() -> None:
    """A query renamed, added or given other parameters without running
    scripts/gen-query-types would leave mypy checking the call sites against the old ones."""
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen-query-types"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
