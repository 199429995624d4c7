"""`WS /api/v1/live`: the live stream over WebSocket.

A plain ASGI handler rather than a Litestar websocket handler, and reached before Litestar's
middleware (`BedsvcApp` in bedsvc/app.py): the fan-out hands each subscriber's frame straight to
the server's own `send`, which granian starts at once and answers with a future, and chains the
next frame from that future's callback, with no task or coroutine per message. Through Litestar
every `send` is wrapped in a coroutine (its exception middleware, and its WebSocket class), so
each message to each subscriber costs a task: measured with 10,000 subscribers, task creation
alone was a fifth of the worker's time and one report's fan-out took over a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast
from urllib.parse import parse_qs

import msgspec
from litestar import asgi
from litestar.enums import ScopeType
from litestar.types import Receive, Scope, Send

from bedsvc.errors import InvalidInput
from bedsvc.live.access import live_filter, origin_allowed
from bedsvc.live.hub import FilterGroup, Frame, Subscriber
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

# The ASGI send, with events as plain dicts (Litestar types each event; these are few and fixed).
RawSend = Callable[[dict[str, Any]], Awaitable[Any]]

CLOSE_WAIT_SECONDS = 1.0

PING_EVENT = {"type": "websocket.send", "text": encoder.encode(Ping()).decode()}


class SocketSubscriber(Subscriber):
    """Sends one frame at a time; the next is chosen when the previous one has left."""

    __slots__ = ("close_event", "done", "send")

    def __init__(self, group: FilterGroup, send: RawSend, done: asyncio.Future[None]) -> None:
        super().__init__(group)
        self.send = send
        self.done = done
        self.close_event: dict[str, Any] | None = None

    def offer(self, code: str, frame: Frame) -> None:
        # The common case, a subscriber keeping up: straight to the server, nothing queued.
        if self.sending or self.closed or self.needs_snapshot or self.pending:
            super().offer(code, frame)
        elif frame.version > self.last_version:
            self.last_version = frame.version
            self._transmit(frame.ws)
        else:
            self.resync()

    def wake(self) -> None:
        if not self.sending and not self.closed:
            self._pump()

    def ping(self) -> None:
        if not self.sending and not self.closed:
            self._transmit(PING_EVENT)

    def _pump(self) -> None:
        frame = self.next_frame()
        if frame is not None:
            self._transmit(frame.ws)

    def _transmit(self, event: dict[str, Any]) -> None:
        self.sending = True
        self.busy_since = time.monotonic()
        try:
            sent = self.send(event)
        except (RuntimeError, OSError):
            self.close(None, "")
            return
        try:
            # granian has started the write already and answers with a future.
            sent.add_done_callback(self._sent)  # type: ignore[attr-defined]
        except AttributeError:
            # Other servers answer with a coroutine, to be run as a task.
            asyncio.ensure_future(sent).add_done_callback(self._sent)

    def _sent(self, sent: asyncio.Future[None]) -> None:
        self.sending = False
        if sent.cancelled() or sent.exception() is not None:
            self.close(None, "")  # the client is gone
        elif not self.closed:
            self._pump()

    def close(self, code: int | None, reason: str) -> None:
        if self.closed:
            return
        super().close(code, reason)
        if code is not None:
            self.close_event = {"type": "websocket.close", "code": code, "reason": reason}
        if not self.done.done():
            self.done.set_result(None)


async def _read(receive: Receive, subscriber: SocketSubscriber, max_bytes: int) -> None:
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
        if message["type"] != "websocket.receive":
            return
        data = message.get("text") or message.get("bytes") or b""
        if len(data) > max_bytes:
            subscriber.close(CLOSE_TOO_BIG, f"messages are limited to {max_bytes} bytes")
            return
        try:
            request = client_decoder.decode(data)
        except msgspec.DecodeError:
            continue  # unknown messages are ignored, so that clients may be newer than us
        if isinstance(request, Resync):
            subscriber.resync()


async def _refuse(send: RawSend, code: int, reason: str) -> None:
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code, "reason": reason})


LIVE_PATH = "/api/v1/live"


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
    headers = dict(scope["headers"])
    origin = headers.get(b"origin")
    if not origin_allowed(origin.decode("latin-1") if origin else None, services.live.origins):
        # Closing before accepting refuses the handshake itself (HTTP 403).
        await raw_send({"type": "websocket.close", "code": CLOSE_POLICY})
        return
    if (await receive())["type"] != "websocket.connect":
        return
    hub = services.live
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
    try:
        await _read(receive, subscriber, services.settings.live_max_message_bytes)
    finally:
        subscriber.close(None, "")
    if subscriber.close_event is not None:
        # Bounded: a client that takes nothing (the reason for some closes) takes no close
        # frame either.
        with contextlib.suppress(TimeoutError, RuntimeError, OSError):
            await asyncio.wait_for(raw_send(subscriber.close_event), CLOSE_WAIT_SECONDS)


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
