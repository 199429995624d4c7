"""How errors become problem+json answers of the HTTP workers, and how the OpenAPI document
describes them: Litestar's exception handlers and each route's `responses=`, for the domain
errors of bedsvc/errors.py and the framework's own."""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY
from litestar.types import ExceptionHandlersMap

from bedsvc.errors import (
    DATABASE_DOWN,
    PROBLEM_JSON,
    UNEXPECTED,
    BedsvcError,
    FieldError,
    Problem,
    database_unavailable,
    problem_of,
    too_deep,
    unstorable_text,
)

log = structlog.get_logger(__name__)


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
