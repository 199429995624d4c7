"""The address a request came from, for limits and address restrictions."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The peer's address. Behind a reverse proxy this is the proxy's: the one place to read
    a trusted proxy's forwarded address instead, so every caller follows."""
    client = connection.client
    return client.host if client is not None else ""
