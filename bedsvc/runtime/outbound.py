"""The HTTP client of what bedsvc sends out: the relay to the registries, the alert webhooks
and Web Push."""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def _trusted_authorities() -> ssl.SSLContext:
    # Loading the trusted certificate authorities costs tens of milliseconds of CPU: once per
    # process, not once for each client a worker (or each test's app) starts.
    return httpx.create_ssl_context()


def outbound_client(timeout: httpx.Timeout) -> httpx.AsyncClient:
    """A client that verifies certificates and does not follow redirects: a registry or
    webhook that moved is set again by its operator, not chased to wherever it points."""
    return httpx.AsyncClient(timeout=timeout, follow_redirects=False, verify=_trusted_authorities())
