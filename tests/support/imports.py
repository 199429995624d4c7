"""What a module loads with it, seen from a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys


def loaded_with(module: str, names: set[str]) -> list[str]:
    """Which of the modules `names` a new Python process holds after importing `module`."""
    script = f"import json, sys, {module}; print(json.dumps(sorted(set(sys.modules) & {names!r})))"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    found: list[str] = json.loads(run.stdout)
    return found
