"""The status an ASGI app answered with, for what counts a request once it is answered: the
push metrics, the rate limits' refused credentials, the push's fast path."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from litestar.types import Message, Send


class Answered:
    """An ASGI `send` that remembers the status it passed on (`status` until it does)."""

    __slots__ = ("_send", "status")

    def __init__(self, send: Send, status: int = 500) -> None:
        self._send = send
        self.status = status

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)
