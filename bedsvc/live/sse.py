"""`GET /api/v1/live/events`: the live stream as Server-Sent Events, for clients behind
proxies that break WebSockets. `id:` is the version; a client that reconnects with
`Last-Event-ID` gets what changed since, or a snapshot when that cannot be told."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import Stream

from bedsvc.availability import AvailabilityFilter
from bedsvc.errors import BedsvcError, Forbidden
from bedsvc.live.access import live_filter, origin_allowed
from bedsvc.live.hub import FilterGroup, LiveHub, Subscriber
from bedsvc.services import Services

PING_CHUNK = b": ping\n\n"
RETRY_CHUNK = b"retry: 2000\n\n"


class TooManyConnections(BedsvcError):
    status_code = 503
    title = "Too many live connections"


class EventSubscriber(Subscriber):
    """Frames are pulled by the response stream; `wake` only tells it there is something."""

    __slots__ = ("event", "ping_due", "task")

    def __init__(self, group: FilterGroup) -> None:
        super().__init__(group)
        self.event = asyncio.Event()
        self.ping_due = False
        self.task = asyncio.current_task()

    def wake(self) -> None:
        self.event.set()

    def ping(self) -> None:
        self.ping_due = True
        self.event.set()

    def close(self, code: int | None, reason: str) -> None:
        if self.closed:
            return
        super().close(code, reason)
        self.event.set()
        if self.sending and self.task is not None:
            self.task.cancel()  # stuck in a write the client does not take

    def resume(self, since: int | None) -> None:
        """Starts after `since` with the changes since, when the hub can tell them."""
        changes = None if since is None else self.group.changes_since(since)
        if since is None or changes is None:
            return
        self.needs_snapshot = False
        self.last_version = since
        for code, frame in changes:
            self.pending[code] = frame

    def next_chunk(self) -> bytes | None:
        frame = self.next_frame()
        if frame is not None:
            return frame.sse
        if self.ping_due:
            return PING_CHUNK
        self.event.clear()
        return None


async def event_stream(
    hub: LiveHub, flt: AvailabilityFilter, since: int | None
) -> AsyncIterator[bytes]:
    # Subscribed only once the response streams, so that nothing stays subscribed if the
    # response never starts.
    subscriber = EventSubscriber(hub.group(flt))
    hub.join(subscriber)
    subscriber.resume(since)
    try:
        yield RETRY_CHUNK
        while not subscriber.closed:
            chunk = subscriber.next_chunk()
            if chunk is None:
                await subscriber.event.wait()
                continue
            subscriber.ping_due = False
            subscriber.sending, subscriber.busy_since = True, time.monotonic()
            yield chunk
            subscriber.sending = False
    finally:
        subscriber.close(None, "")


def _last_event_id(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # not one of ours: start with a snapshot


class LiveEventsController(Controller):
    path = "/api/v1/live"
    tags = ["live"]

    @get(
        "/events", summary="Live availability as Server-Sent Events", media_type="text/event-stream"
    )
    async def events(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        region: Annotated[str | None, QueryParameter(max_length=32)] = None,
        bed_class: Annotated[str | None, QueryParameter(max_length=32)] = None,
        last_event_id: Annotated[
            str | None,
            HeaderParameter(name="Last-Event-ID", description="Resume after this version."),
        ] = None,
    ) -> Stream:
        """The same messages as `WS /api/v1/live`, one per event, `id:` = version.

        With `Last-Event-ID`, the stream starts with the hospitals changed since that version
        (each as `delta` or `removed`) when this server can tell them, else with a snapshot."""
        hub = services.live
        origin = request.headers.get("origin")
        if not origin_allowed(origin, hub.origins):
            raise Forbidden("This Origin may not subscribe.")
        flt = live_filter(region, bed_class, services.bed_class_codes)
        if hub.full:
            raise TooManyConnections("This server holds its maximum of live connections.")
        chunks = event_stream(hub, flt, _last_event_id(last_event_id))
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        if origin is not None:
            headers["Access-Control-Allow-Origin"] = "*" if hub.origins is None else origin
            headers["Vary"] = "Origin"
        return Stream(chunks, media_type="text/event-stream", headers=headers)
