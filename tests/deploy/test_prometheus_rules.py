"""deploy/prometheus/alerts.yml as Prometheus reads it: valid, and each rule fires when it
should (the cases in alerts.test.yml) on the metric names bedsvc really exposes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Factory, bearer, report, ward

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing (Debian package prometheus; `make test` installs it)"
)


@needs_promtool
@pytest.mark.parametrize(
    ("command", "file"), [("check", "alerts.yml"), ("test", "alerts.test.yml")]
)
def test_promtool_accepts_the_rules(command: str, file: str) -> None:
    result = subprocess.run(
        [str(PROMTOOL), command, "rules", file],
        cwd=RULES,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


async def test_the_rules_use_metrics_bedsvc_exposes(
    client: AsyncTestClient[Litestar], factory: Factory
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    push = await client.post(
        f"/api/v1/hospitals/{code}/occupancy", json=report(ward()), headers=bearer(key)
    )
    assert push.status_code == 200
    # The request counters are Litestar's, made at the first request its middleware sees; the
    # push above is answered before it, so a routed request is needed whatever ran before.
    routed = await client.get("/api/v1/bed-classes")
    assert routed.status_code == 200
    exposed = (await client.get("/metrics")).text
    used = set(re.findall(r"\b(bedsvc_\w+)", (RULES / "alerts.yml").read_text()))
    assert used
    for name in used:
        assert f"# HELP {name} " in exposed, name
