"""Which push endpoints bedsvc may POST to: the browsers' push services only, so that a caller
cannot make the server send requests to an address of their choosing."""

from __future__ import annotations

from urllib.parse import urlsplit

from bedsvc.settings import NotificationsSettings


def host_allowed(host: str, patterns: list[str]) -> bool:
    """`host` is a listed host, or a subdomain of a `*.domain` pattern."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower().rstrip(".")
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def endpoint_problem(endpoint: str, webpush: NotificationsSettings) -> str | None:
    """Why bedsvc will not send to `endpoint`, or None when it may."""
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "not a URL"
    schemes = ("https", "http") if webpush.webpush_allow_http else ("https",)
    if parts.scheme not in schemes:
        return "must be an https:// URL of a browser push service"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials"
    if not parts.hostname or not host_allowed(parts.hostname, webpush.webpush_endpoint_hosts):
        return "is not on a push service bedsvc sends to (BEDSVC_WEBPUSH_ENDPOINT_HOSTS)"
    return None
