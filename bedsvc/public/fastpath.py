"""The hottest public GETs, answered from the near-cache before the framework's routing.

Measured (docs/performance.md): routing, the middleware stack and the response machinery cost
more per request than the cached answer itself. So the app checks these two paths first and
answers requests it fully understands from the same `replies` the documented handlers use;
anything else (an unusual query, an unknown hospital, another method) goes on to Litestar,
which validates, documents and reports errors as for any route.

Requests answered here skip the rate limit (public reads are excluded from it anyway) and the
Prometheus middleware, whose cost on this path is measured in docs/performance.md; they are
counted in `bedsvc_public_fast_responses_total` instead.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from cachetools import LRUCache
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import (
    LifeSpanReceive,
    LifeSpanScope,
    LifeSpanSend,
    Receive,
    Scope,
    Send,
)

from bedsvc.errors import InvalidInput
from bedsvc.ops.metrics import FAST_RESPONSE_COUNTS
from bedsvc.public.availability import AvailabilityFilter
from bedsvc.public.nearcache import PublicCache
from bedsvc.public.params import parse_near
from bedsvc.public.replies import Reply, availability_reply, hospital_reply

AVAILABILITY = "/api/v1/availability"
HOSPITALS = "/api/v1/hospitals/"

# What the fast path takes as is; anything else (escapes, '+', odd values) goes to Litestar.
_PLAIN = re.compile(rb"[A-Za-z0-9_.\-]{1,32}")
_NEAR = re.compile(rb"-?[0-9.]{1,20}(,|%2C|%2c)-?[0-9.]{1,20}")
_BOOLEANS = {b"true": True, b"false": False}
_FIELDS = {b"region", b"bed_class", b"available_only", b"near", b"limit"}
# Parsed query strings are remembered, least recently used out: at most this many, each of at
# most _MAX_REMEMBERED_BYTES (a longer one is parsed every time), so about 0.5 MB at most.
_MAX_REMEMBERED = 1024
_MAX_REMEMBERED_BYTES = 256
_UNSEEN = object()


def _filter(query_string: bytes) -> AvailabilityFilter | None:
    """The filter of a plain query string, or None to leave it to Litestar."""
    values: dict[bytes, bytes] = {}
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name in values or b"%" in name or b"+" in name:
            return None
        if name in _FIELDS:
            values[name] = value
    region = values.get(b"region")
    bed_class = values.get(b"bed_class")
    available_only = values.get(b"available_only", b"false")
    near = values.get(b"near")
    limit = values.get(b"limit")
    if region is not None and not _PLAIN.fullmatch(region):
        return None
    if bed_class is not None and not _PLAIN.fullmatch(bed_class):
        return None
    if available_only not in _BOOLEANS:
        return None
    if limit is not None and not (
        len(limit) <= 4 and limit.isdigit() and limit[:1] != b"0" and int(limit) <= 5000
    ):
        return None
    point = None
    if near is not None:
        if not _NEAR.fullmatch(near):
            return None
        try:
            point = parse_near(near.decode().replace("%2C", ",").replace("%2c", ","))
        except InvalidInput:
            return None
    return AvailabilityFilter(
        region=None if region is None else region.decode(),
        bed_class=None if bed_class is None else bed_class.decode(),
        available_only=_BOOLEANS[available_only],
        near=point,
        limit=None if limit is None else int(limit),
    )


class FastPath:
    """Answers what it can; `cache` is set while the worker's feed runs."""

    def __init__(self) -> None:
        self.cache: PublicCache | None = None
        # Parsed query strings (None: leave it to Litestar); most clients repeat theirs.
        self._filters: LRUCache[bytes, AvailabilityFilter | None] = LRUCache(_MAX_REMEMBERED)

    def answer(self, scope: Mapping[str, Any]) -> Reply | None:
        cache = self.cache
        if cache is None or scope["method"] != "GET":
            return None
        path: str = scope["path"]
        if path == AVAILABILITY:
            query_string = scope["query_string"]
            flt = self._filters.get(query_string, _UNSEEN)
            if flt is _UNSEEN:
                flt = _filter(query_string) if query_string else AvailabilityFilter()
                if len(query_string) <= _MAX_REMEMBERED_BYTES:
                    self._filters[query_string] = flt
            if not isinstance(flt, AvailabilityFilter):
                return None
            # Unknown values are refused (422) by the documented handler.
            if flt.region is not None and flt.region not in cache.regions():
                return None
            if flt.bed_class is not None and flt.bed_class not in cache.bed_classes:
                return None
            if_none_match, accept_encoding = _conditional_headers(scope)
            reply: Reply | None = availability_reply(cache, flt, if_none_match, accept_encoding)
        elif path.startswith(HOSPITALS):
            code = path[len(HOSPITALS) :]
            if not code or "/" in code:
                return None
            if_none_match, accept_encoding = _conditional_headers(scope)
            reply = hospital_reply(cache, code, if_none_match, accept_encoding)
            path = HOSPITALS + "{hospital_code}"
        else:
            return None
        if reply is not None:
            FAST_RESPONSE_COUNTS[path, reply.status] += 1
        return reply


def _conditional_headers(scope: Mapping[str, Any]) -> tuple[bytes | None, bytes | None]:
    if_none_match = accept_encoding = None
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            if_none_match = value if if_none_match is None else if_none_match + b"," + value
        elif name == b"accept-encoding":
            accept_encoding = value if accept_encoding is None else accept_encoding + b"," + value
    return if_none_match, accept_encoding


class FrontDoor(Protocol):
    """Another request answered before routing (the native push, bedsvc/ingest/fastpath.py):
    `takes` says whether it is one (and gives what it found), `answer` answers it, handing it
    on to `litestar` where it chooses."""

    def takes(self, scope: Scope) -> str | None: ...

    async def answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        found: str,
        litestar: Callable[[Scope, Receive, Send], Awaitable[None]],
    ) -> None: ...


class FastPathApp(Litestar):
    """Litestar with `FastPath` (and a `FrontDoor`) in front: the only change is where a
    request enters."""

    def __init__(
        self, *, fast_path: FastPath, front_door: FrontDoor | None = None, **config: Any
    ) -> None:
        super().__init__(**config)
        self.fast_path = fast_path
        self.front_door = front_door

    async def _litestar(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)

    async def __call__(
        self,
        scope: Scope | LifeSpanScope,
        receive: Receive | LifeSpanReceive,
        send: Send | LifeSpanSend,
    ) -> None:
        if scope["type"] == ScopeType.HTTP:
            door = self.front_door
            if door is not None:
                http_scope: Scope = scope  # type: ignore[assignment]  # an http scope
                found = door.takes(http_scope)
                if found is not None:
                    await door.answer(
                        http_scope,
                        receive,  # type: ignore[arg-type]  # an http scope's
                        send,  # type: ignore[arg-type]
                        found,
                        self._litestar,
                    )
                    return
            reply = self.fast_path.answer(scope)
            if reply is not None:
                status, headers, body = reply
                http_send: Send = send  # type: ignore[assignment]  # an http scope's send
                await http_send(
                    {"type": "http.response.start", "status": status, "headers": headers}
                )
                await http_send({"type": "http.response.body", "body": body, "more_body": False})
                return
        await super().__call__(scope, receive, send)
