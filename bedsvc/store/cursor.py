"""A server-side cursor that hands out a query's rows as its Struct, a batch at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

Row = TypeVar("Row")


class RowCursor(Generic[Row]):
    def __init__(self, cursor: Any, row: Callable[..., Row]) -> None:
        self._cursor = cursor
        self._row = row

    async def fetch(self, n: int) -> list[Row]:
        """Up to n more rows; none when the cursor is exhausted."""
        return [self._row(*record) for record in await self._cursor.fetch(n)]
