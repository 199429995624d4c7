"""PostgreSQL access: the pool, the named queries of sql/queries and the migrations."""

from bedsvc.store.db import Conn, Queries, connect_pool, load_queries, sql_dir
from bedsvc.store.migrate import migrate

__all__ = ["Conn", "Queries", "connect_pool", "load_queries", "migrate", "sql_dir"]
