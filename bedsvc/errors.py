"""Domain errors, raised where the rule lives, and their one mapping to problem+json."""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY, HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


class FieldError(msgspec.Struct, frozen=True):
    field: str
    reason: str


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


def handle_bedsvc_error(_: Request[Any, Any, Any], exc: BedsvcError) -> Response[Any]:
    problem = Problem(title=exc.title, status=exc.status_code, detail=exc.detail, errors=exc.errors)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return problem_response(problem, headers)


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


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error", path=request.url.path, exc_info=exc)
    problem = Problem(
        title="Internal error", status=500, detail="The server could not complete the request."
    )
    return problem_response(problem)


exception_handlers: ExceptionHandlersMap = {
    BedsvcError: handle_bedsvc_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
