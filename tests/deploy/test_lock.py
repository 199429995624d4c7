"""The lock that `make demo` and `make test` install from pins every dependency that
pyproject.toml names, at a version pyproject.toml allows: a dependency added without
`make lock` fails here rather than on a fresh machine."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def pins(lock: Path) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PIN.findall(lock.read_text())}


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra in extras:
        names += project["optional-dependencies"][extra]
    return [Requirement(name) for name in names]


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements/runtime.txt", ()), ("requirements/test.txt", ("test",))]
)
def test_the_lock_pins_every_declared_dependency(lock: str, extras: tuple[str, ...]) -> None:
    pinned = pins(ROOT / lock)
    missing = []
    for requirement in declared(*extras):
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            missing.append(str(requirement))
    assert not missing, f"{missing} not pinned, or outside their range, in {lock}: run `make lock`"


def test_every_pin_has_a_hash() -> None:
    for lock in ("requirements/runtime.txt", "requirements/test.txt"):
        text = (ROOT / lock).read_text()
        for block in re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[-1]):
            if PIN.match(block):
                assert "--hash=sha256:" in block, f"{lock}: {block.splitlines()[0]} has no hash"


@pytest.mark.xdist_group("lock")
def test_grouped_tests_keep_their_group_under_pytest_xdist(request: pytest.FixtureRequest) -> None:
    """The modules that share one server rely on `--dist loadgroup` sending their tests to
    one worker. pytest 9.2's node IDs silently turned the groups off (pytest-xdist#1386), so
    the lock holds pytest below it."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run by pytest-xdist with --dist loadgroup")
    assert request.node.nodeid.endswith("@lock"), request.node.nodeid
