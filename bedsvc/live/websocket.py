"""The live stream over WebSocket, served by the `websockets` library's asyncio server.

Everything that can be refused is refused at the handshake (`process_request`), before the
connection costs more than its HTTP request: another path (404), an Origin not allowed (403),
an unknown region or bed class (422), a full process (503) or address (429); `/healthz`
answers 200 while the process runs. A frame is serialized as a WebSocket frame once per group
and tick (`Frame.websocket`) and written as is to each connection's transport, as
`websockets.broadcast` would write it but without framing it again for every connection, and
without a task or a coroutine per message. A connection whose write buffer is over
`BEDSVC_LIVE_WRITE_BUFFER_BYTES` is busy
(asyncio's flow control tells it: `pause_writing`); it is sent nothing more until the buffer
drains, meanwhile it falls behind in the hub (latest wins), and one busy for longer than
`BEDSVC_LIVE_SEND_TIMEOUT_SECONDS` is closed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import msgspec
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from bedsvc.access.proxies import TrustedProxies
from bedsvc.errors import PROBLEM_JSON, BedsvcError, Forbidden, NotFound, Problem
from bedsvc.live.access import origin_allowed
from bedsvc.live.frames import Frame
from bedsvc.live.groups import GroupKey
from bedsvc.live.hub import LiveHub
from bedsvc.live.messages import Resync, client_decoder
from bedsvc.live.paths import LIVE_PATH
from bedsvc.live.subscribers import Subscriber

HEALTH_PATH = "/healthz"  # for a proxy's or supervisor's health check of a live process


class LiveConnection(ServerConnection):
    """A connection that tells its subscriber when its write buffer fills and drains
    (asyncio's flow-control callbacks of the connection's protocol)."""

    subscriber: SocketSubscriber | None = None
    group_key: GroupKey = (None, None)
    busy_since: float | None = None
    # The client's address: the peer's, or behind a trusted proxy the one it forwarded.
    client_address: str = ""
    wire: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # A stream transport (uvloop's does not derive from asyncio's classes).
        self.wire = cast(asyncio.Transport, transport)

    def send_serialized(self, data: bytes) -> None:
        """Writes one already-serialized frame as `websockets.broadcast` would: nothing once
        the closing handshake began, and nothing is awaited."""
        wire = self.wire
        if wire is not None and self.state is State.OPEN and not wire.is_closing():
            wire.write(data)

    def pause_writing(self) -> None:
        super().pause_writing()
        self.busy_since = time.monotonic()

    def resume_writing(self) -> None:
        super().resume_writing()
        self.busy_since = None
        if self.subscriber is not None:
            self.subscriber.hub.writable_again(self.subscriber)


class SocketSubscriber(Subscriber):
    __slots__ = ("connection", "hub")

    def __init__(self, hub: LiveHub, connection: LiveConnection, address: str) -> None:
        super().__init__(hub.group(connection.group_key), address)
        self.hub = hub
        self.connection = connection

    @property
    def writable(self) -> bool:
        return self.connection.busy_since is None

    @property
    def busy_since(self) -> float | None:
        return self.connection.busy_since

    def deliver(self, frame: Frame) -> None:
        self.connection.send_serialized(frame.websocket)

    @classmethod
    def deliver_all(cls, subscribers: Sequence[Subscriber], frame: Frame) -> None:
        # Measured (docs/performance.md, live): the library's `broadcast` frames the message
        # again for every connection, a fifth of the fan-out's CPU; this frames it once.
        data = frame.websocket
        for subscriber in subscribers:
            if isinstance(subscriber, SocketSubscriber):
                subscriber.connection.send_serialized(data)

    def end(self, code: int | None, reason: str) -> None:
        if code is not None:
            self.hub.closing(self.connection.close(code, reason))


def _refusal(error: BedsvcError) -> Response:
    problem = Problem(
        title=error.title, status=error.status_code, detail=error.detail, errors=error.errors
    )
    body = msgspec.json.encode(problem)
    status = HTTPStatus(error.status_code)
    headers = Headers(
        [
            ("Content-Type", PROBLEM_JSON),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            *error.headers.items(),
        ]
    )
    return Response(status.value, status.phrase, headers, body)


def _peer(connection: ServerConnection) -> str:
    peer: Any = connection.remote_address
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)


class LiveSocketServer:
    """`process_request` and the handler of the live WebSocket, for `websockets.serve`."""

    def __init__(self, hub: LiveHub, proxies: TrustedProxies) -> None:
        self.hub = hub
        self.proxies = proxies

    def _address(self, connection: ServerConnection, request: Request) -> str:
        """The client's address, for the limit per address: behind nginx every peer is nginx."""
        address, _ = self.proxies.real_client(
            _peer(connection), "http", request.headers.get("X-Forwarded-For"), None
        )
        return self.hub.limits.address_group(address or "")

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        try:
            target = urlsplit(request.path)
            if target.path == HEALTH_PATH:
                return connection.respond(HTTPStatus.OK, "ok\n")
            if target.path != LIVE_PATH:
                raise NotFound(f"The live stream is at {LIVE_PATH}.")
            if not origin_allowed(request.headers.get("Origin"), self.hub.origins):
                raise Forbidden("This Origin may not subscribe.")
            query = parse_qs(target.query)
            key = self.hub.check_filter(
                query.get("region", [None])[-1], query.get("bed_class", [None])[-1]
            )
            address = self._address(connection, request)
            self.hub.admit(address)
        except BedsvcError as error:
            return _refusal(error)
        if isinstance(connection, LiveConnection):
            connection.group_key = key
            connection.client_address = address
        return None

    async def handler(self, connection: ServerConnection) -> None:
        if not isinstance(connection, LiveConnection):
            raise TypeError("serve the live stream with create_connection=LiveConnection")
        hub = self.hub
        address = connection.client_address
        try:
            hub.admit(address)  # again: others may have joined since the handshake began
        except BedsvcError as error:
            await connection.close(1013, error.detail[:120])
            return
        subscriber = SocketSubscriber(hub, connection, address)
        connection.subscriber = subscriber
        hub.join(subscriber)
        try:
            async for message in connection:
                try:
                    request = client_decoder.decode(message)
                except (msgspec.DecodeError, RecursionError):
                    continue  # unknown messages are ignored, so that clients may be newer
                if isinstance(request, Resync):
                    hub.request_resync(subscriber)
        except ConnectionClosed:
            pass
        finally:
            hub.leave(subscriber)
            connection.subscriber = None
