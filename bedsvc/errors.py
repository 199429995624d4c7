"""Domain errors, raised where the rule lives, and their one mapping to problem+json."""

from __future__ import annotations

import math
from typing import Any

import asyncpg
import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.status_codes import (
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


class FieldError(msgspec.Struct, frozen=True, omit_defaults=True):
    field: str
    reason: str
    # Where an uploaded file has the error (its header is line 1), and under which column.
    line: int | None = None
    column: str | None = None


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    """RFC 9457 problem details."""

    title: str
    status: int
    detail: str
    type: str = "about:blank"
    errors: list[FieldError] = []


class BedsvcError(Exception):
    status_code = HTTP_500_INTERNAL_SERVER_ERROR
    title = "Internal error"
    headers: dict[str, str] = {}

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class InvalidInput(BedsvcError):
    status_code = HTTP_422_UNPROCESSABLE_ENTITY
    title = "Invalid input"


class NotAuthenticated(BedsvcError):
    status_code = 401
    title = "Not authenticated"


class Forbidden(BedsvcError):
    status_code = 403
    title = "Forbidden"


class NotFound(BedsvcError):
    status_code = 404
    title = "Not found"


class DatabaseUnavailable(BedsvcError):
    status_code = HTTP_503_SERVICE_UNAVAILABLE
    title = "Service unavailable"
    # Long enough for a PostgreSQL restart or fail-over; a SIMRS retries the same report.
    headers = {"Retry-After": "5"}


class TooManyRequests(BedsvcError):
    """429: this client (an address, a credential, a login) must wait `retry_after` seconds."""

    status_code = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = max(1, math.ceil(retry_after))
        self.headers = {"Retry-After": str(self.retry_after)}


class TooDeep(BedsvcError):
    """400: a body nested deeper than the decoder goes (RecursionError), refused before any
    work; the same answer for every route, and nothing worth a stack trace in the log."""

    status_code = 400
    title = "Malformed request"


# Failures of the connection, not of the statement: the database is down, restarting, full,
# or the pool had no connection to give in time (TimeoutError is an OSError). A client may
# send the same request again later. asyncpg's client-side errors are what a connection cut
# mid-statement leaves behind ("the underlying connection is closed", "cannot switch to
# state …"), measured by stopping PostgreSQL under pushes (tests/state/test_faults.py).
DATABASE_DOWN: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


def database_unavailable() -> DatabaseUnavailable:
    return DatabaseUnavailable(
        "The database is unavailable; retry later (sending the same report again is harmless)."
    )


def unstorable_text() -> InvalidInput:
    # The last line of defence: the payload Structs refuse control characters where they can.
    return InvalidInput(
        "A text field holds a character PostgreSQL cannot store (NUL).",
        [FieldError(field="body", reason="NUL character")],
    )


def as_domain_error(exc: Exception) -> Exception:
    """A lost database connection as the 503 it means to a client, text PostgreSQL refuses as
    the 422 it is; anything else unchanged."""
    if isinstance(exc, DATABASE_DOWN):
        return database_unavailable()
    if isinstance(exc, asyncpg.CharacterNotInRepertoireError):
        return unstorable_text()
    if isinstance(exc, RecursionError):
        return too_deep()
    return exc


def unknown_hospital(code: str) -> NotFound:
    return NotFound(f"No hospital with code '{code}'.")


def inactive_hospital(code: str) -> Forbidden:
    return Forbidden(f"Hospital '{code}' is inactive: it may not report.")


def invalid(field: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{field}: {reason}", [FieldError(field=field, reason=reason)])


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content=problem,
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _validation_errors(exc: ValidationException) -> list[FieldError]:
    # Litestar reports msgspec's message, e.g. "Expected `int`, got `str` - at `$.wards[0]`".
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = str(item.get("key", "body"))
            message = str(item.get("message", "invalid"))
            field, sep, path = message.rpartition(" - at `$")
            if sep:
                key, message = key + path.rstrip("`"), field
            errors.append(FieldError(field=key, reason=message))
    return errors


def problem_of(exc: BedsvcError) -> tuple[Problem, dict[str, str]]:
    """The problem+json body and the headers of a domain error's answer."""
    problem = Problem(title=exc.title, status=exc.status_code, detail=exc.detail, errors=exc.errors)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else dict(exc.headers)
    return problem, headers


def handle_bedsvc_error(_: Request[Any, Any, Any], exc: BedsvcError) -> Response[Any]:
    problem, headers = problem_of(exc)
    return problem_response(problem, headers or None)


def handle_database_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("database unavailable", path=request.url.path, error=repr(exc))
    return handle_bedsvc_error(request, database_unavailable())


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e.field}: {e.reason}" for e in errors) or exc.detail
        problem = Problem(
            title="Invalid input",
            status=HTTP_422_UNPROCESSABLE_ENTITY,
            detail=detail,
            errors=errors,
        )
        return problem_response(problem)
    problem = Problem(title=exc.detail, status=exc.status_code, detail=exc.detail)
    return problem_response(problem, exc.headers)


def handle_unstorable_text(
    request: Request[Any, Any, Any], _: asyncpg.CharacterNotInRepertoireError
) -> Response[Any]:
    return handle_bedsvc_error(request, unstorable_text())


def handle_too_deep(request: Request[Any, Any, Any], _: RecursionError) -> Response[Any]:
    log.info("body nested too deeply", path=request.url.path)
    return handle_bedsvc_error(request, too_deep())


def too_deep() -> TooDeep:
    return TooDeep("The body is nested too deeply to be read.")


UNEXPECTED = Problem(
    title="Internal error", status=500, detail="The server could not complete the request."
)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error", path=request.url.path, exc_info=exc)
    return problem_response(UNEXPECTED)


exception_handlers: ExceptionHandlersMap = {
    BedsvcError: handle_bedsvc_error,
    HTTPException: handle_http_exception,
    **dict.fromkeys(DATABASE_DOWN, handle_database_down),
    asyncpg.CharacterNotInRepertoireError: handle_unstorable_text,
    RecursionError: handle_too_deep,
    Exception: handle_unexpected,
}

# What each documented error status means on the routes that answer it.
_PROBLEMS = {
    400: "Malformed request: the body is not JSON, or a parameter cannot be read.",
    401: "No API key, or an unknown one (`WWW-Authenticate: Bearer`).",
    403: "The key was revoked, or may not use this route or hospital.",
    404: "No such hospital, ward, key or resource.",
    409: "The request conflicts with the stored state.",
    413: "The body is larger than `BEDSVC_MAX_BODY_BYTES`.",
    415: "The body is not of a content type this route takes.",
    422: "A field is invalid; `errors` names each field and the reason.",
    429: "Too many requests from this client; see `Retry-After`.",
    503: "PostgreSQL is unavailable: not acknowledged, retry after `Retry-After` seconds.",
}
_PROBLEM_SPECS = {
    status: ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM_JSON,
        description=description,
        generate_examples=False,
    )
    for status, description in _PROBLEMS.items()
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The `responses=` of a route handler: its error statuses, as problem+json.

    400 always: Litestar documents one for every route with parameters, in the shape of its
    own error body, which this service never sends."""
    return {status: _PROBLEM_SPECS[status] for status in (400, *statuses)}
