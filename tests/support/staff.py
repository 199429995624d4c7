"""Ward-staff sign-in over HTTP and the hospitals the staff tests use."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]

HOSPITAL = "3274011"


OTHER = "3274022"


async def sign_in(client: Client, username: str, password: str) -> dict[str, object]:
    response = await client.post(
        "/api/v1/session", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body
