"""The named queries of sql/queries, loaded once."""

from __future__ import annotations

from functools import cache
from typing import cast

import aiosql

from bedsvc.store.db import sql_dir
from bedsvc.store.queries import Queries


@cache
def load_queries() -> Queries:
    # aiosql builds the methods at run time; `Queries` (generated from the same files) types them.
    return cast(Queries, aiosql.from_path(sql_dir() / "queries", "asyncpg"))
