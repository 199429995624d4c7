"""Results that read the same on any machine: no absolute path of the one they ran on."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _prefixes() -> list[tuple[str, str]]:
    """Longest first, so that the virtual environment's site-packages wins over its root."""
    found = {
        sysconfig.get_paths()["purelib"]: "<site-packages>",
        sysconfig.get_paths()["stdlib"]: "<python>",
        sys.prefix: "<venv>",
        sys.base_prefix: "<python-prefix>",
        str(ROOT): ".",
    }
    return sorted(found.items(), key=lambda item: len(item[0]), reverse=True)


def portable(text: str) -> str:
    """`text` with this machine's checkout, Python and virtual environment named, not placed."""
    for prefix, name in _prefixes():
        text = text.replace(prefix, name)
    return text


def make_portable(path: Path) -> None:
    """Rewrites a result file (a profile py-spy wrote, say) with `portable` paths."""
    path.write_text(portable(path.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    for name in sys.argv[1:]:
        make_portable(Path(name))
