"""The native push (`POST /api/v1/hospitals/{hospital_code}/occupancy` with an API key),
answered before the framework's routing and middleware.

Measured (docs/performance.md): the write is a small part of a push's cost; Litestar's
middleware stack, routing, dependencies and response machinery were most of the rest. So the
app hands a push that carries `Authorization` here first, and this module does what the stack
would, in the same order and with the same pieces:

1. the trusted proxies' `X-Forwarded-For` (bedsvc/access/proxies.py);
2. the rate limits (bedsvc/ratelimit/middleware.py `RateLimits`): a 429 answered here;
3. the API key, through the worker's key cache (bedsvc/access/keys.py), as the route's guard
   checks it when a request carries `Authorization` (a session cookie is then ignored);
4. the body, read up to `BEDSVC_MAX_BODY_BYTES`, decoded into `OccupancyReport`;
5. `IngestService.take_report` (bedsvc/ingest/service.py), the route handler's own code: the
   rules, the write, the commit; its errors become the problem+json the exception handlers
   give;
6. the push's metrics (bedsvc/ops/metrics.py `record_push`).

Anything it does not answer itself goes on to Litestar unchanged, body included, marked so
that the limits and the push metrics are not applied twice: a refused credential (401, 403,
404, or the database down while checking it), a body too large (413), one that is not
exactly an `OccupancyReport` (400, 422). The documented route answers those, with the
framework's own messages. From `take_report` on, errors are answered here with the
exception handlers' own `problem_of` (the write must not run twice), so every answer stays
one the OpenAPI document describes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import structlog
from litestar.types import HTTPReceiveMessage, Receive, Scope, Send

from bedsvc.access.accepted import credential_accepted
from bedsvc.access.actor import Actor
from bedsvc.access.gate import Gate
from bedsvc.access.proxies import TrustedProxies, apply_forwarded
from bedsvc.answered import Answered
from bedsvc.errors import (
    PROBLEM_JSON,
    UNEXPECTED,
    BedsvcError,
    DatabaseUnavailable,
    Problem,
    TooManyRequests,
    as_domain_error,
    problem_of,
)
from bedsvc.ingest.schemas import OccupancyReport
from bedsvc.ingest.service import IngestService
from bedsvc.ops.metrics import mark_push_counted, record_push
from bedsvc.ratelimit.middleware import RateLimits, credential_of, mark_admitted

log = structlog.get_logger(__name__)

ROUTE = "POST /api/v1/hospitals/{hospital_code}/occupancy"
_PATH = re.compile(r"/api/v1/hospitals/([^/]+)/occupancy")
_JSON = [(b"content-type", b"application/json")]
_PROBLEM = [(b"content-type", PROBLEM_JSON.encode())]
_decode_report = msgspec.json.Decoder(OccupancyReport).decode
_encode = msgspec.json.Encoder().encode

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Body:
    __slots__ = ("data", "more")

    def __init__(self, data: bytes, more: bool) -> None:
        self.data = data
        self.more = more


class _HandOn(Exception):
    """Litestar answers this request (see the module's docstring), given back what was read
    of its body."""

    def __init__(self, body: _Body | None) -> None:
        super().__init__()
        self.body = body

    def receive(self, receive: Receive) -> Receive:
        body = self.body
        if body is None:
            return receive
        given = False

        async def replay() -> Any:
            nonlocal given
            if given:
                return await receive()
            given = True
            message: HTTPReceiveMessage = {
                "type": "http.request",
                "body": body.data,
                "more_body": body.more,
            }
            return message

        return replay


class FastPush:
    """Set up in the worker's lifespan (`start`); until then every push goes to Litestar."""

    def __init__(self, proxies: TrustedProxies) -> None:
        self.proxies = proxies
        self.wired: tuple[Gate, IngestService, RateLimits] | None = None

    def start(self, gate: Gate, ingest: IngestService, limits: RateLimits) -> None:
        """What the route's guard (`gate`), its handler (`ingest`) and its router's rate
        limits use."""
        self.wired = (gate, ingest, limits)

    def stop(self) -> None:
        self.wired = None

    def takes(self, scope: Scope) -> str | None:
        """The hospital code of a keyed native push this path answers, or None."""
        if self.wired is None or scope["method"] != "POST":  # type: ignore[typeddict-item]
            return None
        matched = _PATH.fullmatch(scope["path"])
        if matched is None:
            return None
        for name, _ in scope["headers"]:
            if name == b"authorization":
                return matched.group(1)
        return None

    async def answer(
        self, scope: Scope, receive: Receive, send: Send, code: str, litestar: ASGIApp
    ) -> None:
        wired = self.wired
        if wired is None:
            await litestar(scope, receive, send)
            return
        gate, ingest, limits = wired
        answered = Answered(send)
        started = time.perf_counter()
        try:
            await self._answer(scope, receive, answered, code, gate, ingest, limits, litestar)
        finally:
            record_push(ROUTE, answered.status, "native", time.perf_counter() - started)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        answered: Answered,
        code: str,
        gate: Gate,
        ingest: IngestService,
        limits: RateLimits,
        litestar: ASGIApp,
    ) -> None:
        send = answered.send
        if self.proxies:
            apply_forwarded(scope, self.proxies)
        try:
            failures = await limits.admit(scope, credential_of(scope["headers"]))
        except TooManyRequests as exc:
            await _send_problem(send, exc)
            return
        # From here on the limits and the metrics are this module's, whoever answers.
        mark_admitted(scope)
        mark_push_counted(scope)
        accepted = False
        try:
            actor = await _actor(scope, gate, code)
            accepted = True
            body = await _read_body(scope, receive, ingest.limits.max_body_bytes)
            try:
                report = _decode_report(body.data)
            except (msgspec.DecodeError, RecursionError):
                raise _HandOn(body) from None
            await _write(send, ingest, code, report, actor)
        except _HandOn as hand_on:
            await litestar(scope, hand_on.receive(receive), send)
            accepted = accepted or credential_accepted(scope)
        finally:
            await limits.settle(failures, accepted=accepted, status=answered.status)


async def _actor(scope: Scope, gate: Gate, code: str) -> Actor:
    """The key's actor, as the route's guard finds it; anything else is Litestar's."""
    authorization = _header(scope, b"authorization")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _HandOn(None)
    try:
        access = await gate.keys.hospital_access(gate.pool, gate.queries, token.strip(), code)
        access.require(code)
    except Exception:  # noqa: BLE001 - the guard runs again and answers, whatever it was
        raise _HandOn(None) from None
    return Actor(key_id=access.key.id, hospital_code=code)


async def _write(
    send: Send, ingest: IngestService, code: str, report: OccupancyReport, actor: Actor
) -> None:
    try:
        result = await ingest.take_report(code, report, actor)
    except BedsvcError as exc:
        await _send_problem(send, exc)
        return
    except Exception as exc:  # noqa: BLE001 - the app's exception handlers, in short
        await _send_problem(send, _domain_error(exc, code))
        return
    await _send(send, 200, _JSON, _encode(result))


async def _read_body(scope: Scope, receive: Receive, limit: int) -> _Body:
    """The whole body; a body over `limit` goes to Litestar for its 413."""
    length = _header(scope, b"content-length")
    if length.isdigit() and int(length) > limit:
        raise _HandOn(_Body(b"", True))
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _HandOn(_Body(b"".join(chunks), True))
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
        if size > limit:
            raise _HandOn(_Body(b"".join(chunks), more))
        if not more:
            return _Body(chunks[0] if len(chunks) == 1 else b"".join(chunks), False)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _domain_error(exc: Exception, code: str) -> BedsvcError | None:
    error = as_domain_error(exc)
    if isinstance(error, DatabaseUnavailable):
        log.warning(
            "database unavailable", path=f"/api/v1/hospitals/{code}/occupancy", error=repr(exc)
        )
    if isinstance(error, BedsvcError):
        return error
    log.error("unhandled error", path=f"/api/v1/hospitals/{code}/occupancy", exc_info=exc)
    return None


async def _send_problem(send: Send, exc: BedsvcError | None) -> None:
    problem: Problem = UNEXPECTED
    headers: dict[str, str] = {}
    if exc is not None:
        problem, headers = problem_of(exc)
    extra = [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]
    await _send(send, problem.status, [*_PROBLEM, *extra], _encode(problem))


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
