"""PostgreSQL access: the pool, the named queries of sql/queries and the migrations."""

from bedsvc.store.db import Conn, connect_pool, sql_dir
from bedsvc.store.migrate import migrate
from bedsvc.store.named import load_queries
from bedsvc.store.queries import Queries

__all__ = ["Conn", "Queries", "connect_pool", "load_queries", "migrate", "sql_dir"]
