"""How a send to a registry fails, in kinds an operator can act on, and when to try again."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import msgspec

# The kinds of failure, as stored, counted and shown (the pages word them in Bahasa).
CREDENTIAL_REFUSED = "credential_refused"
UNREACHABLE = "unreachable"
TIMEOUT = "timeout"
SERVER_ERROR = "server_error"
RATE_LIMITED = "rate_limited"
REJECTED = "rejected"
INVALID_RESPONSE = "invalid_response"
NO_PPK_CODE = "no_ppk_code"
KEY_UNUSABLE = "secret_key"  # BEDSVC_SECRET_KEY cannot decrypt the credential

# Retry-After is honoured up to this: a registry's typo must not park a relay for days.
_MAX_RETRY_AFTER = 3600.0
_DETAIL_LENGTH = 300


class SendFailed(Exception):
    """A send that did not complete; `retry_after` when the registry said when to retry."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail[:_DETAIL_LENGTH]
        self.retry_after = retry_after

    @property
    def refused(self) -> bool:
        return self.kind == CREDENTIAL_REFUSED


def retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Retry-After in seconds (delay-seconds or an HTTP date), or None when absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), _MAX_RETRY_AFTER)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def backoff(failures: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Before the next try after `failures` failures in a row (1 for the first): exponential,
    capped, with jitter (half to all of it) so that relays failing together spread out."""
    exponent = min(max(failures - 1, 0), 30)
    delay = min(base * 2.0**exponent, cap)
    return delay * (rng or random).uniform(0.5, 1.0)


async def call(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
) -> tuple[int, Any]:
    """One request; (status, decoded JSON body). Raises SendFailed for what no envelope can
    save: no answer, a timeout, 429, 401/403, 5xx, a body that is not JSON."""
    content = None if body is None else msgspec.json.encode(body)
    if content is not None:
        headers = headers | {"Content-Type": "application/json"}
    try:
        response = await http.request(method, url, headers=headers, content=content)
    except httpx.TimeoutException as exc:
        raise SendFailed(TIMEOUT, f"{method} {_path(url)}: {type(exc).__name__}") from None
    except httpx.ConnectError as exc:
        raise SendFailed(UNREACHABLE, f"{method} {_path(url)}: {type(exc).__name__}") from None
    except httpx.TransportError as exc:  # the connection broke after the request went out
        raise SendFailed(SERVER_ERROR, f"{method} {_path(url)}: {type(exc).__name__}") from None
    status = response.status_code
    where = f"{method} {_path(url)}: HTTP {status}"
    if status == 429:
        raise SendFailed(RATE_LIMITED, where, retry_after(response))
    if status in (401, 403):
        message = _message(response)
        # A clock too far from the registry's is refused like a credential, but is not one:
        # it is retried, so that the relay resumes once the clocks agree again.
        kind = REJECTED if "timestamp" in message.casefold() else CREDENTIAL_REFUSED
        raise SendFailed(kind, f"{where} {message}".strip())
    if status >= 500:
        raise SendFailed(SERVER_ERROR, where, retry_after(response))
    try:
        return status, msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        raise SendFailed(INVALID_RESPONSE, f"{where}, not JSON") from None


def _path(url: str) -> str:
    """The URL's path only: hosts and queries stay out of stored errors and logs."""
    return httpx.URL(url).path


def _message(response: httpx.Response) -> str:
    """The registry's own words in an error envelope, if any (either registry's shape)."""
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return ""
    if not isinstance(body, dict):
        return ""
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        return str(metadata.get("message", ""))
    items = body.get("fasyankes")
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return str(items[0].get("message", ""))
    return ""


def as_int(value: Any) -> int | None:
    """Registries send numbers as numbers or as text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None
