"""The named queries of sql/queries, loaded once, each returning its rows as Structs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import cache
from types import SimpleNamespace
from typing import Any, cast

import aiosql
import msgspec

from bedsvc.store.cursor import RowCursor
from bedsvc.store.db import sql_dir
from bedsvc.store.queries import ROWS, Queries


def _one(query: Callable[..., Any], row: type[msgspec.Struct]) -> Callable[..., Any]:
    async def one(conn: Any, **params: Any) -> msgspec.Struct | None:
        record = await query(conn, **params)
        # A record iterates over its values in column order, the order of the Struct's fields.
        return None if record is None else row(*record)

    return one


def _many(query: Callable[..., Any], row: type[msgspec.Struct]) -> Callable[..., Any]:
    async def many(conn: Any, **params: Any) -> AsyncIterator[msgspec.Struct]:
        async for record in query(conn, **params):
            yield row(*record)

    return many


def _cursor(
    query: Callable[..., Any], row: type[msgspec.Struct]
) -> Callable[..., AbstractAsyncContextManager[RowCursor[msgspec.Struct]]]:
    @asynccontextmanager
    async def cursor(conn: Any, **params: Any) -> AsyncIterator[RowCursor[msgspec.Struct]]:
        async with query(conn, **params) as factory:
            yield RowCursor(await factory, row)

    return cursor


@cache
def load_queries() -> Queries:
    """aiosql builds the methods at run time; `Queries` (generated from the same files) types
    them, and the queries that return rows are wrapped to build their row Structs."""
    loaded = aiosql.from_path(sql_dir() / "queries", "asyncpg")
    typed = SimpleNamespace()
    for name in loaded.available_queries:
        setattr(typed, name, getattr(loaded, name))
    for name, (row, at_most_one) in ROWS.items():
        query = getattr(loaded, name)
        if at_most_one:
            setattr(typed, name, _one(query, row))
        else:
            setattr(typed, name, _many(query, row))
            setattr(typed, f"{name}_cursor", _cursor(getattr(loaded, f"{name}_cursor"), row))
    return cast(Queries, typed)
