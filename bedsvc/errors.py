"""Domain errors, raised where the rule lives, and their one mapping to problem+json
(`problem_of`). No framework here: a live process raises and answers these without loading
Litestar. The HTTP workers' exception handlers and the errors' OpenAPI descriptions are in
bedsvc/problems.py."""

from __future__ import annotations

import math

import asyncpg
import msgspec

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
    status_code = 500
    title = "Internal error"
    headers: dict[str, str] = {}

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class InvalidInput(BedsvcError):
    status_code = 422
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
    status_code = 503
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


def problem_of(exc: BedsvcError) -> tuple[Problem, dict[str, str]]:
    """The problem+json body and the headers of a domain error's answer."""
    problem = Problem(title=exc.title, status=exc.status_code, detail=exc.detail, errors=exc.errors)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else dict(exc.headers)
    return problem, headers


def too_deep() -> TooDeep:
    return TooDeep("The body is nested too deeply to be read.")


UNEXPECTED = Problem(
    title="Internal error", status=500, detail="The server could not complete the request."
)
