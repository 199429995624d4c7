"""The HTTP workers' side of bedsvc/access/proxies.py: the real client written into every
request's scope before anything else reads it."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from bedsvc.access.proxies import TrustedProxies, apply_forwarded


class ForwardedMiddleware(ASGIMiddleware):
    """First in the stack, so that every other middleware and handler sees the real client."""

    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, proxies: TrustedProxies) -> None:
        self.proxies = proxies

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        apply_forwarded(scope, self.proxies)
        await next_app(scope, receive, send)
