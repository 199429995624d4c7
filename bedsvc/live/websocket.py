"""`WS /api/v1/live`: the live stream over WebSocket.

A plain ASGI handler rather than a Litestar websocket handler, and reached before Litestar's
middleware (`BedsvcApp` in bedsvc/app.py): the fan-out hands each frame straight to the
server's own `send` and chains the next one from its completion (see `Subscriber`). Through
Litestar every `send` is wrapped in a coroutine (its exception middleware, its WebSocket class),
so each message to each subscriber would cost a task: measured with 10,000 subscribers, task
creation alone took a fifth of the worker's time and one report's fan-out over a second.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import parse_qs

import msgspec
from litestar import asgi
from litestar.enums import ScopeType
from litestar.types import Receive, Scope, Send

from bedsvc.errors import InvalidInput
from bedsvc.live.access import live_filter, origin_allowed
from bedsvc.live.hub import Frame, RawSend, Subscriber
from bedsvc.live.messages import (
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN_LATER,
    Ping,
    Resync,
    client_decoder,
    encoder,
)
from bedsvc.services import Services, get_services

LIVE_PATH = "/api/v1/live"

# A client that takes nothing (the reason for some closes) takes no close frame either.
CLOSE_WAIT_SECONDS = 1.0


class SocketSubscriber(Subscriber):
    __slots__ = ()

    ping_event = {"type": "websocket.send", "text": encoder.encode(Ping()).decode()}

    def event_of(self, frame: Frame) -> dict[str, Any]:
        return frame.ws_event


async def read_until_gone(receive: Receive, subscriber: Subscriber, on_message: Any = None) -> None:
    """Reads what the client sends until it leaves or the subscriber is closed."""
    while not subscriber.closed:
        incoming = asyncio.ensure_future(receive())
        await asyncio.wait((incoming, subscriber.done), return_when=asyncio.FIRST_COMPLETED)
        if not incoming.done():
            incoming.cancel()
            return
        if incoming.cancelled() or incoming.exception() is not None:
            return
        message = incoming.result()
        if message["type"] in ("websocket.disconnect", "http.disconnect"):
            return
        if on_message is not None:
            on_message(message)


def client_message(subscriber: Subscriber, max_bytes: int) -> Callable[[dict[str, Any]], None]:
    def handle(message: dict[str, Any]) -> None:
        data = message.get("text") or message.get("bytes") or b""
        if len(data) > max_bytes:
            subscriber.close(CLOSE_TOO_BIG, f"messages are limited to {max_bytes} bytes")
            return
        try:
            request = client_decoder.decode(data)
        except msgspec.DecodeError:
            return  # unknown messages are ignored, so that clients may be newer than us
        if isinstance(request, Resync):
            subscriber.resync()

    return handle


async def _refuse(send: RawSend, code: int, reason: str) -> None:
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code, "reason": reason})


@asgi(LIVE_PATH, copy_scope=False)
async def live_socket(scope: Scope, receive: Receive, send: Send) -> None:
    """Snapshot, then deltas, of the hospitals matching `region` and `bed_class`."""
    await serve_live_socket(scope, receive, send)


async def serve_live_socket(scope: Scope, receive: Receive, send: Send) -> None:
    raw_send = cast(RawSend, send)
    if scope["type"] != ScopeType.WEBSOCKET:
        await _not_websocket(raw_send)
        return
    services: Services = get_services(scope["app"].state)
    hub = services.live
    origin = dict(scope["headers"]).get(b"origin")
    if not origin_allowed(origin.decode("latin-1") if origin else None, hub.origins):
        # Closing before accepting refuses the handshake itself (HTTP 403).
        await raw_send({"type": "websocket.close", "code": CLOSE_POLICY})
        return
    if (await receive())["type"] != "websocket.connect":
        return
    if hub.full:
        await _refuse(raw_send, CLOSE_TRY_AGAIN_LATER, "too many live connections on this server")
        return
    query = parse_qs(scope["query_string"].decode("latin-1"))
    try:
        flt = live_filter(
            query.get("region", [None])[-1],
            query.get("bed_class", [None])[-1],
            services.bed_class_codes,
        )
    except InvalidInput as exc:
        await _refuse(raw_send, CLOSE_POLICY, exc.detail[:120])
        return
    await raw_send({"type": "websocket.accept"})
    done = asyncio.get_running_loop().create_future()
    subscriber = SocketSubscriber(hub.group(flt), raw_send, done)
    hub.join(subscriber)
    subscriber.wake()  # the snapshot
    limit = services.settings.live_max_message_bytes
    try:
        await read_until_gone(receive, subscriber, client_message(subscriber, limit))
    finally:
        subscriber.close(None, "")
    if subscriber.close_code is not None:
        event = {
            "type": "websocket.close",
            "code": subscriber.close_code,
            "reason": subscriber.close_reason,
        }
        with contextlib.suppress(TimeoutError, RuntimeError, OSError):
            await asyncio.wait_for(raw_send(event), CLOSE_WAIT_SECONDS)


async def _not_websocket(send: RawSend) -> None:
    body = b'{"title":"Upgrade Required","status":426,"detail":"Connect with a WebSocket."}'
    await send(
        {
            "type": "http.response.start",
            "status": 426,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"upgrade", b"websocket"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
