"""deploy/systemd/: the units pass `systemd-analyze verify` (unknown keys, bad values, a
command that is not there), with the unit's path to bedsvc pointed at this installation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).parent.parent / "deploy" / "systemd"
INSTALLED = "/opt/bedsvc/.venv/bin/bedsvc"


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (it comes with systemd)")
    bedsvc = Path(sys.executable).parent / "bedsvc"
    for unit in ("bedsvc@.service", "bedsvc-migrate.service"):
        text = (UNITS / unit).read_text()
        assert INSTALLED in text, f"{unit} no longer runs {INSTALLED}"
        (tmp_path / unit).write_text(text.replace(INSTALLED, str(bedsvc)))
    result = subprocess.run(
        [analyze, "verify", "bedsvc-migrate.service", "bedsvc@8000.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    # verify returns 0 even for an unknown key: every complaint about our units counts.
    complaints = [line for line in result.stderr.splitlines() if "bedsvc" in line]
    assert result.returncode == 0, result.stderr
    assert not complaints, "\n".join(complaints)


def test_the_units_are_sandboxed() -> None:
    for unit in ("bedsvc@.service", "bedsvc-migrate.service"):
        lines = set((UNITS / unit).read_text().splitlines())
        assert {
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/bedsvc",
            "User=bedsvc",
            "EnvironmentFile=/etc/bedsvc/bedsvc.env",
        } <= lines, unit
