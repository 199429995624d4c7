"""`GET /api/v1/live/events`: the live stream as Server-Sent Events, for clients behind
proxies that break WebSockets. `id:` is the version; a client that reconnects with
`Last-Event-ID` gets what changed since, or a snapshot when that cannot be told.

The route is a Litestar handler (validation, errors, the OpenAPI entry), which answers with an
ASGI app that streams the events itself. It writes to the server's own `send` when `BedsvcApp`
left it in the scope, as for the WebSocket and for the same reason (see `Subscriber`): granian
takes an event-stream chunk that fits its buffer at once, so a keeping-up subscriber costs one
call per message, and one that does not gets a future to wait on (latest wins meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any, cast

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter
from litestar.types import ASGIApp, Receive, Scope, Send

from bedsvc.availability import AvailabilityFilter
from bedsvc.errors import BedsvcError, Forbidden, problem_responses
from bedsvc.live.access import live_filter, origin_allowed
from bedsvc.live.hub import Frame, LiveHub, RawSend, Subscriber
from bedsvc.live.websocket import CLOSE_WAIT_SECONDS, read_until_gone
from bedsvc.services import Services

EVENTS_PATH = "/api/v1/live/events"
RAW_SEND = "bedsvc.raw_send"  # scope key: the server's send, put there by BedsvcApp

RETRY_EVENT = {"type": "http.response.body", "body": b"retry: 2000\n\n", "more_body": True}
END_EVENT = {"type": "http.response.body", "body": b"", "more_body": False}


class TooManyConnections(BedsvcError):
    status_code = 503
    title = "Too many live connections"


class EventSubscriber(Subscriber):
    __slots__ = ()

    ping_event = {"type": "http.response.body", "body": b": ping\n\n", "more_body": True}

    def event_of(self, frame: Frame) -> dict[str, Any]:
        return frame.sse_event

    def resume(self, since: int | None) -> None:
        """Starts after `since` with the changes since, when the hub can tell them."""
        changes = None if since is None else self.group.changes_since(since)
        if since is None or changes is None:
            return
        self.needs_snapshot = False
        self.last_version = since
        for code, frame in changes:
            self.pending[code] = frame


class EventStream:
    """The response: subscribes when it starts streaming, so nothing stays subscribed for a
    response that never starts."""

    def __init__(
        self, hub: LiveHub, flt: AvailabilityFilter, since: int | None, headers: dict[str, str]
    ) -> None:
        self.hub = hub
        self.flt = flt
        self.since = since
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_send = cast(RawSend, scope.get(RAW_SEND) or send)
        await raw_send({"type": "http.response.start", "status": 200, "headers": self.headers})
        await raw_send(RETRY_EVENT)
        done = asyncio.get_running_loop().create_future()
        subscriber = EventSubscriber(self.hub.group(self.flt), raw_send, done)
        self.hub.join(subscriber)
        subscriber.resume(self.since)
        subscriber.wake()
        try:
            await read_until_gone(receive, subscriber)
        finally:
            subscriber.close(None, "")
        # A client that takes nothing takes no end of stream either: granian then keeps the
        # socket (and the little it buffered, its bounded channel) until the client leaves.
        with contextlib.suppress(TimeoutError, RuntimeError, OSError):
            await asyncio.wait_for(raw_send(end_event(subscriber.close_reason)), CLOSE_WAIT_SECONDS)


def end_event(reason: str) -> dict[str, Any]:
    """The stream's last chunk; when the server ends it (shutting down, client too slow), a
    comment says why. Clients reconnect by themselves after `retry`."""
    if not reason:
        return END_EVENT
    return {"type": "http.response.body", "body": b": %s\n\n" % reason.encode(), "more_body": False}


def _last_event_id(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # not one of ours: start with a snapshot


class LiveEventsController(Controller):
    path = "/api/v1/live"
    tags = ["live"]

    @get(
        "/events",
        summary="Live availability as Server-Sent Events",
        media_type="text/event-stream",
        response_description="`snapshot`, then `delta` / `removed` events; `id:` = version.",
        responses=problem_responses(403, 422, 503),
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
    ) -> ASGIApp:
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
        headers = {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
        if origin is not None:
            headers["Access-Control-Allow-Origin"] = "*" if hub.origins is None else origin
            headers["Vary"] = "Origin"
        return EventStream(hub, flt, _last_event_id(last_event_id), headers)
