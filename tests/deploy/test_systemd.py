"""deploy/systemd/: the units pass `systemd-analyze verify` (unknown keys, bad values, a
command that is not there), with the unit's path to bedsvc pointed at this installation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
INSTALLED = "/opt/bedsvc/.venv/bin/bedsvc"


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (it comes with systemd)")
    bedsvc = Path(sys.executable).parent / "bedsvc"
    for unit in UNITS.glob("*.*"):
        if unit.suffix in (".service", ".timer"):
            (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED, str(bedsvc)))
    units = [
        "bedsvc-migrate.service",
        "bedsvc@8000.service",
        "bedsvc-backup.service",
        "bedsvc-backup.timer",
    ]
    result = subprocess.run(
        [analyze, "verify", *units],
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
    for unit, writable in [
        ("bedsvc@.service", "/var/lib/bedsvc"),
        ("bedsvc-migrate.service", "/var/lib/bedsvc"),
        ("bedsvc-backup.service", "/var/backups/bedsvc"),
    ]:
        lines = set((UNITS / unit).read_text().splitlines())
        assert {
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            f"ReadWritePaths={writable}",
            "User=bedsvc",
            "EnvironmentFile=/etc/bedsvc/bedsvc.env",
        } <= lines, unit
