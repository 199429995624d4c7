"""The folder where `bedsvc serve`'s worker processes keep their metric values
(prometheus_client's multiprocess mode), so that one scrape of any worker shows them all.

Each start gets a fresh folder of its own: values of an earlier run (or of another instance
sharing the data folder) must never be added to this one's. Folders of runs that ended
without cleaning up are removed at the next start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_abandoned(parent: Path) -> None:
    for folder in parent.glob("serve-*"):
        pid = folder.name.removeprefix("serve-")
        if not pid.isdigit() or not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def metrics_folder(data_dir: Path) -> Iterator[Path]:
    """Sets PROMETHEUS_MULTIPROC_DIR for the worker processes about to be started.

    Must run before prometheus_client is first imported in this process: the library picks
    its storage at import time, and the workers are forked from here.
    """
    parent = (data_dir / "metrics").resolve()
    parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(parent)
    folder = parent / f"serve-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    os.environ[ENV] = str(folder)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
