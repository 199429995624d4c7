"""The HTTP workers' middleware that counts and times the pushes (bedsvc/ops/metrics.py holds
the counts): apart, so that a live process loads the metrics without Litestar."""

from __future__ import annotations

import time

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, Scope, Send

from bedsvc.answered import Answered
from bedsvc.errors import BedsvcError
from bedsvc.ops.metrics import PUSH_COUNTED, push_route, record_push


def push_metrics(app: ASGIApp) -> ASGIApp:
    """Middleware counting and timing the pushes; a route not a push passes untouched."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        route = push_route(scope) if scope["type"] == ScopeType.HTTP else None
        if route is None or scope.get("state", {}).get(PUSH_COUNTED):
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        answered = Answered(send)
        try:
            await app(scope, receive, answered.send)
        except (HTTPException, BedsvcError) as exc:  # answered further out
            answered.status = exc.status_code
            raise
        finally:
            label, bridge = route
            record_push(label, answered.status, bridge, time.perf_counter() - started)

    return middleware
