"""Every error under a bridge's path answers in that bridge's envelope, in Indonesian.

A SIMRS shows the envelope's message to its user and cannot read problem+json or an HTML
page; so this wraps the app's exception handlers and picks the envelope by path: failed
authentication, invalid bodies, unknown routes and unexpected errors alike. The HTTP status
stays that of the error, so a 2xx still always means committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.openapi import ResponseSpec
from litestar.types import ExceptionHandlersMap

from bedsvc.bridges.aplicares.schemas import Metadata, Reply
from bedsvc.bridges.sirs.schemas import BedTypeStatusReply, Status, StatusReply
from bedsvc.errors import BedsvcError, as_domain_error

log = structlog.get_logger(__name__)

APLICARES_ROOT = "/aplicaresws"

Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]

_HTTP_MESSAGES = {
    400: "Permintaan tidak valid.",
    401: "Autentikasi gagal.",
    403: "Akses ditolak.",
    413: "Isi permintaan terlalu besar.",
    429: "Terlalu banyak permintaan; coba lagi sebentar lagi.",
}


def _status_and_message(request: Request[Any, Any, Any], exc: Exception) -> tuple[int, str]:
    if isinstance(exc, BedsvcError):
        return exc.status_code, exc.detail
    if isinstance(exc, HTTPException):
        status = exc.status_code
        if status == 404:
            return status, f"Alamat {request.url.path} tidak dikenal."
        if status == 405:
            return status, f"Metode {request.method} tidak didukung untuk {request.url.path}."
        return status, _HTTP_MESSAGES.get(status, "Permintaan tidak dapat diproses.")
    log.error("unhandled error", path=request.url.path, exc_info=exc)
    return 500, "Terjadi kesalahan di server; data tidak diproses. Coba lagi nanti."


def _headers(exc: Exception) -> dict[str, str] | None:
    # Retry-After of a 429 or a 503, for instance; not WWW-Authenticate (that is for Bearer).
    if isinstance(exc, HTTPException) and exc.headers:
        return dict(exc.headers)
    if isinstance(exc, BedsvcError) and exc.headers:
        return dict(exc.headers)
    return None


def aplicares_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status, message = _status_and_message(request, exc)
    body = Reply(metadata=Metadata(code=0, message=message))
    return Response(body, status_code=status, headers=_headers(exc))


def sirs_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status, message = _status_and_message(request, exc)
    items = [Status(status=str(status), message=message)]
    body: BedTypeStatusReply | StatusReply
    if "/Referensi/" in request.url.path:
        body = BedTypeStatusReply(tempat_tidur=items)
    else:
        body = StatusReply(fasyankes=items)
    return Response(body, status_code=status, headers=_headers(exc))


def with_bridge_envelopes(handlers: ExceptionHandlersMap, sirs_prefix: str) -> ExceptionHandlersMap:
    """The app's handlers, answering in a bridge's envelope under that bridge's path."""
    sirs_root = "/" + sirs_prefix.strip("/")

    def under(path: str, root: str) -> bool:
        return path == root or path.startswith(root + "/")

    def wrap(original: Handler) -> Handler:
        def handler(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
            path = request.url.path
            if under(path, APLICARES_ROOT):
                return aplicares_error(request, as_domain_error(exc))
            if under(path, sirs_root):
                return sirs_error(request, as_domain_error(exc))
            return original(request, exc)

        return handler

    return {key: wrap(original) for key, original in handlers.items()}


_ERRORS = {
    400: "The body is neither JSON nor form data.",
    401: "Missing or wrong credentials.",
    403: "The credentials may not change this hospital.",
    404: "Unknown room or row.",
    413: "The body is larger than `BEDSVC_MAX_BODY_BYTES`.",
    422: "A field is invalid; the message names it.",
    429: "Too many requests from this client; see `Retry-After`.",
    503: "PostgreSQL is unavailable: not acknowledged, retry after `Retry-After` seconds.",
}


def _envelope_responses(container: type, statuses: tuple[int, ...]) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=container, description=_ERRORS[status], generate_examples=False
        )
        for status in statuses
    }


def aplicares_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The `responses=` of an Aplicares route: its errors in the `metadata` envelope."""
    return _envelope_responses(Reply, statuses)


def sirs_responses(*statuses: int, reference: bool = False) -> dict[int, ResponseSpec]:
    """The `responses=` of a SIRS route: its errors in the `fasyankes` (or, for the reference
    route, `tempat_tidur`) envelope."""
    return _envelope_responses(BedTypeStatusReply if reference else StatusReply, statuses)
