"""`GET /api/v1/live`: where a client connects for the live stream.

The live WebSocket is served by processes of its own (bedsvc/live/process.py) on another port
than the HTTP workers, so browsers ask the HTTP origin first. Behind a proxy that routes both
under one origin, `BEDSVC_LIVE_PUBLIC_URL` is what is advertised; otherwise the URL is the
request's own host with the live port (`BEDSVC_LIVE_PORT`, default the HTTP port + 1).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import Request, get
from litestar.di import NamedDependency

from bedsvc.live.paths import EVENTS_PATH, LIVE_PATH
from bedsvc.settings import LiveSettings, Settings

_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(?::([0-9]{1,5}))?")


class LiveEndpoints(msgspec.Struct, frozen=True):
    websocket: str
    events: str


def websocket_url(live: LiveSettings, scheme: str, host: str | None, server: Any) -> str:
    """The advertised live WebSocket URL for a request with this scheme and Host header."""
    if live.live_public_url:
        return live.live_public_url
    name, port = "127.0.0.1", None
    match = _HOST.fullmatch(host or "")
    if match is not None:
        name, port = match.group(1), match.group(2)
    elif isinstance(server, tuple | list) and len(server) == 2:
        name = str(server[0])
    if port is None and isinstance(server, tuple | list) and len(server) == 2:
        port = str(server[1])
    live_port = live.live_port or int(port or (443 if scheme == "https" else 80)) + 1
    ws = "wss" if scheme in ("https", "wss") else "ws"
    return f"{ws}://{name}:{live_port}{LIVE_PATH}"


def live_origin(url: str) -> str:
    """`scheme://host:port` of a WebSocket URL, for the pages' Content-Security-Policy."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def request_websocket_url(request: Request[Any, Any, Any], live: LiveSettings) -> str:
    return websocket_url(
        live, request.url.scheme, request.headers.get("host"), request.scope.get("server")
    )


@get(
    LIVE_PATH,
    summary="Where to connect for live availability",
    tags=["live"],
    description=(
        "A plain GET (no upgrade): the URL of the live WebSocket (served by the live "
        "processes, possibly on another port) and the path of the Server-Sent Events stream."
    ),
)
async def live_endpoints(
    request: Request[Any, Any, Any], settings: NamedDependency[Settings]
) -> LiveEndpoints:
    return LiveEndpoints(
        websocket=request_websocket_url(request, settings.live), events=EVENTS_PATH
    )
