"""Which requests' credentials were accepted: a guard says so once every check passed.

The rate limit counts every other request that carried a credential and got a 4xx as a refused
one against the client's address (401, 403, 404 before any check, 422 for a malformed one):
inventing a credential per request must not escape the per-address limit. A 5xx is not
counted: bedsvc could not check the credential.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.types import Scope

_ACCEPTED = "credential_accepted"


def accept_credential(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    connection.state[_ACCEPTED] = True


def credential_accepted(scope: Scope) -> bool:
    state = scope.get("state")
    return bool(state and state.get(_ACCEPTED))
