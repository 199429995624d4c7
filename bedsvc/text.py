"""Rules for the text people read back (names, labels) and for codes, the same for every payload.

Names reach citizens' pages, SIMRS screens, CSV exports and logs. Control characters (a NUL
byte cannot even be stored in PostgreSQL text) and the invisible bidirectional overrides (which
make "RS A" display as something else) have no place in them. msgspec checks a `pattern` with
re.search, where `$` also matches before a final newline: the patterns are anchored with `\\A`
and `\\Z` so that "W1\\n" is not a valid code.
"""

from __future__ import annotations

import re
from typing import Annotated

from msgspec import Meta

# C0 and C1 controls, DEL, the directional marks, embeddings, overrides and isolates.
_REFUSED_CHARACTERS = "\\x00-\\x1f\\x7f-\\x9f\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"
TEXT_PATTERN = f"\\A[^{_REFUSED_CHARACTERS}]*\\Z"
# Codes: ASCII letters and digits, then also '_'. Nothing else: not '.' or '-', and no letter
# of another script (`\w` would take "MAWAR" spelt with the Cyrillic A, U+0410: a second ward
# beside "MAWAR" that looks the same on every screen).
CODE_PATTERN = r"\A[A-Za-z0-9][A-Za-z0-9_]*\Z"

_CODE = re.compile(CODE_PATTERN)


def text(max_length: int, min_length: int = 0) -> Meta:
    """A name or label of at most `max_length` characters, none of them refused."""
    return Meta(min_length=min_length, max_length=max_length, pattern=TEXT_PATTERN)


def is_code(value: str, max_length: int = 64) -> bool:
    """The code rule for values that do not pass through a Struct (path values)."""
    return len(value) <= max_length and _CODE.match(value) is not None


Code = Annotated[str, Meta(min_length=1, max_length=32, pattern=CODE_PATTERN)]
WardCode = Annotated[str, Meta(min_length=1, max_length=64, pattern=CODE_PATTERN)]
