"""`/api/v1/session` (sign in, who am I, sign out) and the operators' `/api/v1/admin/users`."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from bedsvc.access.actor import Actor
from bedsvc.access.client_address import client_address
from bedsvc.access.guards import admin_key_guard
from bedsvc.access.sessions import (
    COOKIE_NAME,
    HospitalRef,
    SessionInfo,
    cleared_cookie,
    current_session,
    hash_session_token,
    over_tls,
    session_cookie,
    start_session,
)
from bedsvc.errors import PROBLEM_JSON, BedsvcError, Forbidden, NotAuthenticated, Problem
from bedsvc.problems import problem_responses
from bedsvc.staff.service import StaffService
from bedsvc.staff.users import (
    IssuedLogin,
    UserDisabled,
    UserRequest,
    UserUnlocked,
    add_user,
    disable_user,
    find_user,
    password_matches,
    rehash_if_needed,
    staff_login,
    unlock_user,
)


class SignIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    username: Annotated[str, Meta(min_length=1, max_length=64)]
    password: Annotated[str, Meta(min_length=1, max_length=256)]


class SignedOut(msgspec.Struct, frozen=True):
    signed_out: bool


_WRONG = "Wrong username or password."


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(
        Problem, description=description, media_type=PROBLEM_JSON, generate_examples=False
    )


_SIGN_IN_ERRORS = {
    401: _problem("Wrong username or password (the same answer for an unknown user)"),
    403: _problem("The user was disabled"),
    415: _problem("The body was not sent as application/json"),
    429: _problem(
        "Too many failed sign-ins for this username from this address, or from this address; "
        "see Retry-After"
    ),
}
_SESSION_ERRORS = {
    401: _problem("Not signed in, or the session has ended"),
    403: _problem("A change without the session's X-CSRF-Token header"),
}


class UnsupportedMediaType(BedsvcError):
    status_code = 415
    title = "Unsupported media type"


class SessionController(Controller):
    path = "/api/v1/session"
    tags = ["ward staff"]

    @post(
        "/",
        status_code=200,
        summary="Sign in with a ward-staff username and password",
        responses=_SIGN_IN_ERRORS | problem_responses(413, 422, 503),
    )
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        staff: NamedDependency[StaffService],
        data: JSONBody[SignIn],
    ) -> Response[SessionInfo]:
        """Sets the session cookie and returns the CSRF token to send as `X-CSRF-Token` with
        every change. Failed attempts are limited per username and per client address."""
        # A form of another site can post JSON-looking text/plain; only a script of this
        # origin can send application/json (others need CORS, which bedsvc does not grant).
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise UnsupportedMediaType("Send the sign-in as application/json.")
        username = data.username.strip().lower()
        async with staff.throttle.attempt(staff_login(username), client_address(request)) as (
            attempt
        ):
            async with staff.pool.acquire() as conn:
                user = await find_user(conn, staff.queries, username)
            # The hash is checked even for an unknown user: the answer takes as long either way.
            matched = await password_matches(user, data.password, staff.password_hash_profile)
            if not matched or user is None:
                attempt.failed()
                raise NotAuthenticated(_WRONG)
            attempt.succeeded()
        if user.disabled_at is not None:
            raise Forbidden("This user was disabled: ask the operator for a new login.")
        usable = user
        async with staff.pool.acquire() as conn, conn.transaction():
            # Sign-ins are rare: each clears what has expired, so the table does not only grow.
            await staff.queries.delete_expired_sessions(conn)
            await rehash_if_needed(
                conn, staff.queries, usable, data.password, staff.password_hash_profile
            )
            token, info = await start_session(
                conn,
                staff.queries,
                usable.username,
                HospitalRef(code=usable.hospital_code, name=usable.hospital_name),
                staff.session_seconds,
            )
        cookie = session_cookie(token, staff.session_seconds, over_tls(request))
        return Response(info, cookies=[cookie], headers={"Cache-Control": "no-store"})

    @get(
        "/",
        summary="The signed-in ward-staff session",
        responses=_SESSION_ERRORS | problem_responses(429, 503),
    )
    async def show(self, request: Request[Any, Any, Any]) -> Response[SessionInfo]:
        """For the entry page after a reload: the user, the hospital and the CSRF token."""
        session = await current_session(request)
        return Response(session.info(), headers={"Cache-Control": "no-store"})

    @delete(
        "/",
        status_code=200,
        summary="Sign out",
        responses=_SESSION_ERRORS | problem_responses(429, 503),
    )
    async def sign_out(
        self, request: Request[Any, Any, Any], staff: NamedDependency[StaffService]
    ) -> Response[SignedOut]:
        """Ends the session at once (it needs the X-CSRF-Token header, like every change)."""
        await current_session(request)
        async with staff.pool.acquire() as conn:
            await staff.queries.delete_session(
                conn, token_hash=hash_session_token(request.cookies[COOKIE_NAME])
            )
        return Response(SignedOut(signed_out=True), cookies=[cleared_cookie(over_tls(request))])


class UsersController(Controller):
    path = "/api/v1/admin/users"
    tags = ["operators"]
    guards = [admin_key_guard]

    @post(
        "/",
        status_code=201,
        summary="Issue a ward-staff user (password shown once)",
        responses=problem_responses(401, 403, 404, 409, 413, 422, 429, 503),
    )
    async def add(
        self,
        actor: NamedDependency[Actor],
        staff: NamedDependency[StaffService],
        data: JSONBody[UserRequest],
    ) -> IssuedLogin:
        """A disabled user of the same name is enabled again with a new password; an enabled
        one is a conflict (409)."""
        profile = staff.password_hash_profile
        return await add_user(staff.pool, staff.queries, data, actor, profile)

    @delete(
        "/{username:str}",
        status_code=200,
        summary="Disable a ward-staff user",
        responses=problem_responses(401, 403, 404, 429, 503),
    )
    async def disable(
        self,
        actor: NamedDependency[Actor],
        staff: NamedDependency[StaffService],
        username: FromPath[str],
    ) -> UserDisabled:
        """Ends the user's sessions at once."""
        await disable_user(staff.pool, staff.queries, username, actor)
        return UserDisabled(username=username, disabled=True)

    @post(
        "/{username:str}/unlock",
        status_code=200,
        summary="Unlock a ward-staff user locked out by failed sign-ins",
        responses=problem_responses(401, 403, 404, 429, 503),
    )
    async def unlock(
        self,
        actor: NamedDependency[Actor],
        staff: NamedDependency[StaffService],
        username: FromPath[str],
    ) -> UserUnlocked:
        """Forgets the user's failed sign-ins from every address, so that the user may sign
        in at once."""
        return await unlock_user(staff.pool, staff.queries, staff.throttle, username, actor)
