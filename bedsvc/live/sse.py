"""`GET /api/v1/live/events`: the live stream as Server-Sent Events, on the HTTP workers, for
clients behind proxies that break WebSockets. The same frames as the WebSocket, one event
each, `id:` = the frame's version; a client that reconnects with `Last-Event-ID` gets what
changed since, or a snapshot when that cannot be told.

Each stream has one task that writes its frames: a frame is handed over only while the
previous one has been taken (`writable`), so a client that reads slowly falls behind in the
hub (latest wins) instead of queueing, and one stuck on a write for longer than
`BEDSVC_LIVE_SEND_TIMEOUT_SECONDS` is ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter
from litestar.types import ASGIApp, HTTPResponseBodyEvent, Receive, Scope, Send

from bedsvc.errors import Forbidden
from bedsvc.live.access import origin_allowed
from bedsvc.live.frames import Frame
from bedsvc.live.groups import GroupKey
from bedsvc.live.hub import LiveHub
from bedsvc.live.paths import EVENTS_PATH
from bedsvc.live.subscribers import Subscriber
from bedsvc.problems import problem_responses

RETRY = b"retry: 2000\n\n"
PING = b": ping\n\n"
END: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
# A client that takes nothing takes no end of stream either: how long that is tried.
END_WAIT_SECONDS = 1.0


class EventSubscriber(Subscriber):
    __slots__ = ("_busy_since", "_outbox", "_ready", "_reason", "_writer", "hub")

    def __init__(self, hub: LiveHub, key: GroupKey, address: str) -> None:
        super().__init__(hub.group(key), address)
        self.hub = hub
        self._outbox: list[bytes] = []
        self._ready = asyncio.Event()
        self._busy_since: float | None = None
        self._writer: asyncio.Task[None] | None = None
        self._reason = ""

    @property
    def busy_since(self) -> float | None:
        return self._busy_since

    @property
    def writable(self) -> bool:
        return self._busy_since is None and not self._outbox

    def deliver(self, frame: Frame) -> None:
        self._outbox.append(frame.event)
        self._ready.set()

    def ping(self) -> None:
        if self.writable:
            self._outbox.append(PING)
            self._ready.set()

    def end(self, code: int | None, reason: str) -> None:
        self._reason = reason
        if self._writer is not None:
            self._writer.cancel()

    async def write(self, send: Send) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._outbox:
                chunk = self._outbox.pop(0)
                self._busy_since = time.monotonic()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                self._busy_since = None
            self.hub.writable_again(self)

    async def run(self, send: Send, receive: Receive) -> None:
        """Streams until the client leaves or the hub ends the stream."""
        writer = self._writer = asyncio.create_task(self.write(send))
        gone = asyncio.create_task(_disconnected(receive))
        try:
            await asyncio.wait((writer, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.hub.leave(self)
            writer.cancel()
            gone.cancel()
        if not gone.done() or gone.cancelled():
            with contextlib.suppress(TimeoutError, RuntimeError, OSError):
                await asyncio.wait_for(send(end_event(self._reason)), END_WAIT_SECONDS)


def end_event(reason: str) -> HTTPResponseBodyEvent:
    """The stream's last chunk; when the server ends it (shutting down, client too slow), a
    comment says why. Clients reconnect by themselves after `retry`."""
    if not reason:
        return END
    return {"type": "http.response.body", "body": b": %s\n\n" % reason.encode(), "more_body": False}


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class EventStream:
    """The response: subscribes when it starts streaming, so nothing stays subscribed for a
    response that never starts."""

    def __init__(
        self,
        hub: LiveHub,
        key: GroupKey,
        address: str,
        since: int | None,
        headers: dict[str, str],
    ) -> None:
        self.hub = hub
        self.key = key
        self.address = address
        self.since = since
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        await send({"type": "http.response.body", "body": RETRY, "more_body": True})
        subscriber = EventSubscriber(self.hub, self.key, self.address)
        if self.since is not None:
            self.hub.resume(subscriber, self.since)
        self.hub.join(subscriber)
        await subscriber.run(send, receive)


def _last_event_id(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # not one of ours: start with a snapshot


class LiveEventsController(Controller):
    path = EVENTS_PATH
    tags = ["live"]

    @get(
        "/",
        summary="Live availability as Server-Sent Events",
        media_type="text/event-stream",
        response_description="`snapshot`, then `changes` events; `id:` = version.",
        responses=problem_responses(403, 422, 429, 503),
    )
    async def events(
        self,
        request: Request[Any, Any, Any],
        live: NamedDependency[LiveHub],
        region: Annotated[str | None, QueryParameter(max_length=32)] = None,
        bed_class: Annotated[str | None, QueryParameter(max_length=32)] = None,
        last_event_id: Annotated[
            str | None,
            HeaderParameter(name="Last-Event-ID", description="Resume after this version."),
        ] = None,
    ) -> ASGIApp:
        """The same frames as the live WebSocket (`GET /api/v1/live` says where), one per
        event, `id:` = version.

        With `Last-Event-ID`, the stream starts with what changed since that version (one
        `changes` event) when this server can tell it, else with a snapshot."""
        hub = live
        origin = request.headers.get("origin")
        if not origin_allowed(origin, hub.origins):
            raise Forbidden("This Origin may not subscribe.")
        key = hub.check_filter(region, bed_class)
        address = hub.limits.address_group(request.client.host if request.client else "")
        hub.admit(address)
        headers = {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
        if origin is not None:
            headers["Access-Control-Allow-Origin"] = "*" if hub.origins is None else origin
            headers["Vary"] = "Origin"
        return EventStream(hub, key, address, _last_event_id(last_event_id), headers)
