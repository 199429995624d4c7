"""Every setting of bedsvc, parsed once from ``BEDSVC_*`` environment variables.

The settings are grouped by area (``settings.database``, ``settings.live`` ...) so that a part
of bedsvc can be handed its own group only, while each field keeps its variable's full name:
``BEDSVC_`` + the field name, upper case. pydantic-settings only maps flat variables onto nested
models through a delimiter (``BEDSVC_LIVE__PORT``), so one small source reads each field's flat
variable and the flat names given in code are grouped by area before validation.
"""

from __future__ import annotations

import ipaddress
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self, TypeVar, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

AlertRule = Literal[
    "class_exhausted", "hospital_stale", "hospital_stale_escalated", "relay_failing"
]

PREFIX = "BEDSVC_"

# Names of earlier releases -> the setting now read instead.
OLD_NAMES = {
    "BEDSVC_SIGNIN_MAX_FAILURES_PER_LOGIN": "sign_in_max_failures",
    "BEDSVC_SIGN_IN_MAX_FAILURES_PER_USER": "sign_in_max_failures",
    "BEDSVC_SIGNIN_MAX_FAILURES_PER_ADDRESS": "sign_in_max_failures_per_address",
    "BEDSVC_SIGNIN_FAILURE_WINDOW_SECONDS": "sign_in_window_seconds",
}


def _comma_separated(value: Any) -> Any:
    """Lists in the environment are comma-separated: `a,b`; an empty value is an empty list."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


T = TypeVar("T")
# A list set as one comma-separated variable, split once as the settings are read.
CommaList = Annotated[list[T], NoDecode, BeforeValidator(_comma_separated)]


class Area(BaseModel):
    """The settings of one area; every field is read from ``BEDSVC_`` + its name."""

    # Unknown names are refused so that a misspelt override fails instead of doing nothing.
    model_config = ConfigDict(frozen=True, extra="forbid")


class DatabaseSettings(Area):
    """PostgreSQL: where it is and how many connections each worker keeps."""

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL. Unset: an embedded PostgreSQL under the data folder.",
    )
    database_replica_url: str | None = Field(
        default=None,
        description="PostgreSQL streaming replica that the monitor's history and exports "
        "read from. Unset: the primary.",
    )
    db_pool_min: int = Field(
        default=1, ge=0, description="PostgreSQL connections each worker process keeps open."
    )
    db_pool_max: int = Field(
        default=10, ge=1, description="Most PostgreSQL connections one worker process opens."
    )
    db_monitor_pool_max: int = Field(
        default=2,
        ge=1,
        description="Most connections each worker opens for the monitor's history and exports, "
        "in a pool of their own (on the replica when one is set), so that they never take the "
        "connections pushes need.",
    )
    db_acquire_timeout_seconds: float = Field(
        default=3.0,
        gt=0,
        description="Longest wait for a free database connection; past it the request is "
        "answered 503 with Retry-After.",
    )
    db_idle_in_transaction_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="PostgreSQL idle_in_transaction_session_timeout of bedsvc's connections: "
        "a transaction left waiting this long is ended by the server.",
    )


class RedisSettings(Area):
    """Redis, the shared cache and change stream."""

    redis_url: str | None = Field(
        default=None,
        description="Redis URL (`redis://`, `rediss://`, `unix://`). Unset, and no "
        "sentinels: an embedded Redis.",
    )
    redis_sentinels: CommaList[str] = Field(
        default=[],
        description="Redis Sentinel addresses, `host:port` comma-separated, instead of "
        "`BEDSVC_REDIS_URL`: bedsvc asks them for the current primary on every "
        "(re)connection.",
    )
    redis_sentinel_master: str | None = Field(
        default=None,
        description="Name of the Sentinel-watched group (`sentinel monitor NAME …`); "
        "required with `BEDSVC_REDIS_SENTINELS`.",
    )
    redis_username: str | None = Field(
        default=None,
        description="ACL user name for the Redis primary found through Sentinel (with "
        "BEDSVC_REDIS_URL, give it in the URL: redis://user:password@host:6379/0).",
    )
    redis_password: SecretStr | None = Field(
        default=None,
        description="Password for the Redis primary found through Sentinel (with "
        "BEDSVC_REDIS_URL, give it in the URL).",
    )
    redis_sentinel_username: str | None = Field(
        default=None, description="ACL user name for the sentinels themselves."
    )
    redis_sentinel_password: SecretStr | None = Field(
        default=None,
        description="Password for the sentinels themselves (their requirepass), which may "
        "differ from the primary's.",
    )
    redis_prefix: str = Field(
        default="bedsvc",
        description="Prefix of every Redis key (cache and change stream), so instances of "
        "several regions can share one Redis.",
    )
    change_stream_length: int = Field(
        default=10_000,
        ge=100,
        description="Entries the Redis change stream keeps (about; trimmed as it grows). A "
        "worker that falls further behind reloads from the cache.",
    )
    change_read_gap_ms: int = Field(
        default=10,
        ge=0,
        le=1000,
        description="After a read of the change stream that found changes, each process "
        "waits this long before the next, so that under many changes a read takes several: "
        "at most this much later seen, far fewer round trips to Redis. 0: read again at "
        "once.",
    )
    cache_reconcile_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often each worker compares the hospital versions in Redis with "
        "PostgreSQL's and writes again those Redis lags on (and, with Redis "
        "down, how often the feed polls PostgreSQL).",
    )

    @field_validator("redis_sentinels")
    @classmethod
    def _check_sentinels(cls, addresses: list[str]) -> list[str]:
        for address in addresses:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"sentinel address must be host:port: {address!r}")
        return addresses

    @model_validator(mode="after")
    def _one_redis(self) -> Self:
        if self.redis_sentinels and not self.redis_sentinel_master:
            raise ValueError("BEDSVC_REDIS_SENTINELS needs BEDSVC_REDIS_SENTINEL_MASTER")
        if self.redis_sentinels and self.redis_url:
            raise ValueError("set BEDSVC_REDIS_URL or BEDSVC_REDIS_SENTINELS, not both")
        if self.redis_url and (self.redis_password or self.redis_username):
            raise ValueError(
                "with BEDSVC_REDIS_URL give the user and password in the URL "
                "(redis://user:password@host:6379/0); BEDSVC_REDIS_PASSWORD and "
                "BEDSVC_REDIS_USERNAME are for the primary found through Sentinel"
            )
        return self

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        addresses = []
        for address in self.redis_sentinels:
            host, _, port = address.rpartition(":")
            addresses.append((host.strip("[]"), int(port)))
        return addresses


class ServerSettings(Area):
    """The processes themselves: data folder, logs, readiness, clock and keys."""

    data_dir: Path = Field(
        default=Path(".bedsvc"), description="Folder of the embedded servers' data."
    )
    log_level: str = Field(default="INFO", description="Log level.")
    log_json: bool = Field(
        default=True,
        description="One JSON object per log line; `false` for readable console lines.",
    )
    readiness_interval_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often each worker checks PostgreSQL and Redis for `/readyz`.",
    )
    timezone: str = Field(
        default="Asia/Jakarta",
        description="Time zone that history buckets of a day or more start at midnight of.",
    )
    public_url: str = Field(
        default="",
        description="The address people reach bedsvc at (`https://beds.example.go.id`); "
        "alert messages link the entry page with it.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s) that encrypt the Aplicares secrets at rest, "
        "comma-separated (the first encrypts, all decrypt). Unset: `secret.key` "
        "in the data folder, generated once with mode 0600.",
    )

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name


class IngestSettings(Area):
    """What a report may hold, and how pushes are answered."""

    stale_after_seconds: int = Field(
        default=1800,
        ge=1,
        description="A hospital, class or ward without a report for this long is marked `stale`.",
    )
    max_future_seconds: int = Field(
        default=300,
        ge=0,
        description="How far a report's `reported_at` may lie ahead of the server clock.",
    )
    max_wards_per_report: int = Field(
        default=500, ge=1, description="More wards in one report is refused (422)."
    )
    max_report_age_seconds: int = Field(
        default=86_400,
        ge=60,
        description="How far in the past a reported_at may lie; an older report is refused "
        "(422), so that history already read is not rewritten.",
    )
    max_wards_per_hospital: int = Field(
        default=2000,
        ge=1,
        description="Open wards one hospital may have; a report (or bridge write) that "
        "would open more is refused whole (422 naming `wards`). Closed wards do "
        "not count.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Larger request bodies are refused (413)."
    )
    max_ward_capacity: int = Field(
        default=500,
        ge=1,
        description="Most beds one ward may report; a larger capacity is refused as a typo.",
    )
    push_fast_path: bool = Field(
        default=True,
        description="Answer the native push with an API key before the framework's "
        "middleware and routing (the same checks, limits, metrics and answers); `false` "
        "sends it through Litestar's handler (slower).",
    )
    report_batch_max: int = Field(
        default=64,
        ge=1,
        description="Most native pushes of different hospitals a worker writes with one "
        "statement and one commit: the reports that arrive while a batch is being written "
        "make up the next.",
    )
    report_batches: int = Field(
        default=1,
        ge=1,
        description="Batches of pushed reports one worker writes at the same time; one "
        "makes the largest batches, and measured the most reports per second.",
    )


class AccessSettings(Area):
    """Rate limits, proxies, API keys and ward-staff sign-in."""

    write_rate_limit_per_minute: int = Field(
        default=600,
        ge=1,
        description="Requests per minute per API key or bridge credential (pushes, bridges, "
        "monitor, admin), counted across all workers and instances in Redis. "
        "Public reads, pages and health checks are not limited.",
    )
    unauthenticated_rate_limit_per_minute: int = Field(
        default=120,
        ge=1,
        description="Requests per minute per client address without a credential, or with "
        "one that was refused (401); an address over it cannot try more "
        "credentials this minute. Counted like the above.",
    )
    rate_limit_batch: int = Field(
        default=32,
        ge=1,
        description="Requests of one credential or address a worker may let through before "
        "Redis confirms the shared count (it counts them itself and sends them in batches, "
        "and every request within this many of the limit goes to Redis). A limit can be "
        "exceeded by at most this many requests per worker; `1` sends every request to Redis.",
    )
    trusted_proxies: CommaList[str] = Field(
        default=[],
        description="Addresses or CIDRs of reverse proxies (`127.0.0.1`, `10.0.0.0/8`), "
        "comma-separated, whose `X-Forwarded-For` / `X-Forwarded-Proto` are "
        "believed; from anyone else those headers are ignored. Behind nginx, "
        "set it to nginx's address.",
    )
    ipv6_prefix_length: int = Field(
        default=64,
        ge=1,
        le=128,
        description="IPv6 clients are grouped by this prefix for every per-address limit "
        "(one household or server usually holds a whole /64).",
    )
    key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a worker trusts an API key it checked against PostgreSQL; a "
        "revocation (or a hospital set inactive) takes effect within this time. "
        "`0` checks every request.",
    )
    password_hash_profile: Literal["rfc_9106_low_memory", "cheapest"] = Field(
        default="rfc_9106_low_memory",
        description="Argon2 parameters of ward-staff passwords: `rfc_9106_low_memory`, RFC "
        "9106's recommendation for machines with little memory; `cheapest` is for test suites "
        "only, and leaves stolen password hashes open to guessing.",
    )
    session_seconds: int = Field(
        default=43_200,
        ge=60,
        description="How long a ward-staff sign-in lasts (a shift); then the entry page "
        "asks again.",
    )
    sign_in_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins of one login (staff username, SIRS X-rs-id, Aplicares "
        "X-cons-id) from one client address per window, after which that pair is refused (429); "
        "the same login from another address is not.",
    )
    sign_in_max_failures_per_address: int = Field(
        default=10,
        ge=1,
        description="Failed sign-ins from one client address per window, whatever the login, "
        "after which that address's sign-ins are refused (429).",
    )
    sign_in_window_seconds: int = Field(
        default=900,
        ge=1,
        description="How long failed sign-ins are counted, from the first failure of a login "
        "or address.",
    )
    sign_in_max_delay_seconds: float = Field(
        default=2.0,
        ge=0,
        description="Longest delay before a login's password is checked once it has failed "
        "BEDSVC_SIGN_IN_MAX_FAILURES times from all addresses together: the delay doubles with "
        "each failure up to this, and the right password still passes.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"not an address or CIDR: {value!r}") from None
        return values


class PublicSettings(Area):
    """The public reads and pages."""

    public_max_age_seconds: int = Field(
        default=1,
        ge=0,
        description="`Cache-Control: max-age` of the public reads, for browsers and a "
        "micro-cache (nginx, CDN) in front.",
    )
    public_stale_while_revalidate_seconds: int = Field(
        default=10, ge=0, description="`Cache-Control: stale-while-revalidate` of the public reads."
    )
    public_gzip_level: int = Field(
        default=1,
        ge=0,
        le=3,
        description="gzip level (ISA-L's 0-3) of the public documents; a changed document "
        "is compressed again on its next request.",
    )
    public_cache_max_bytes: int = Field(
        default=64 << 20,
        ge=1 << 20,
        description="Memory of the public documents each process keeps (64 MiB); the least "
        "recently used go first.",
    )
    public_fast_path: bool = Field(
        default=True,
        description="Answer the cached public reads before the framework's routing; `false` "
        "sends them through Litestar's handlers (same answers, slower).",
    )
    map_tile_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        pattern=r"^https?://[^/]+/",
        description="Map tiles of the /peta page, as a Leaflet URL template ({z}/{x}/{y}); "
        "its host is allowed in the pages' Content-Security-Policy.",
    )
    map_tile_attribution: str = Field(
        default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
        "contributors",
        description="Attribution shown on the map, as the tiles' licence requires (HTML).",
    )


class LiveSettings(Area):
    """The live WebSocket and event-stream subscriptions."""

    live_max_connections: int = Field(
        default=10_000,
        ge=1,
        description="Live connections per process (WebSockets per live process, event "
        "streams per HTTP worker); more are refused at the handshake (HTTP "
        "503).",
    )
    live_max_connections_per_address: int = Field(
        default=20,
        ge=1,
        description="Live connections one client address may hold per process; more are "
        "refused (HTTP 429).",
    )
    live_workers: int = Field(
        default=1,
        ge=0,
        description="Live WebSocket processes `bedsvc serve` starts (`--live-workers` "
        "overrides); `0` serves SSE and polling only.",
    )
    live_cpu_affinity: bool = Field(
        default=True,
        description=(
            "When `bedsvc serve` may use two cores or more, run the live processes on cores of "
            "their own and the HTTP workers on the others, so that a fan-out never waits behind "
            "a push or a read; false lets the kernel place every process."
        ),
    )
    live_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port the live processes share (SO_REUSEPORT); `GET /api/v1/live` "
        "advertises it.",
    )
    live_public_url: str | None = Field(
        default=None,
        pattern=r"^wss?://",
        description="WebSocket URL `GET /api/v1/live` advertises instead, e.g. "
        "`wss://lengko.example/api/v1/live` behind a proxy that routes it under "
        "the site's origin. Unset: `ws://` (`wss://` for an https request) + "
        "the request's host + `BEDSVC_LIVE_PORT`.",
    )
    live_tick_ms: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="A subscriber gets at most one frame this often, with every hospital "
        "changed since its last one.",
    )
    live_resync_min_seconds: float = Field(
        default=2.0,
        ge=0,
        description="A client's `resync` requests are served at most this often (the extra "
        "ones share the next snapshot).",
    )
    live_write_buffer_bytes: int = Field(
        default=65_536,
        ge=1024,
        description="Unsent bytes a WebSocket may hold before it counts as busy: it is then "
        "sent nothing more until it drains (latest wins meanwhile).",
    )
    live_max_message_bytes: int = Field(
        default=4096,
        ge=64,
        description="Largest message a WebSocket client may send (`max_size`); larger "
        "closes with 1009 before it is buffered.",
    )
    live_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default=["*"],
        description="Comma-separated `Origin`s allowed to subscribe "
        "(`https://lengko.example,https://rs.example`); `*` for any. Clients "
        "that send no `Origin` (not browsers) are always let in.",
    )
    live_ping_seconds: float = Field(
        default=20.0,
        gt=0,
        description="A WebSocket is pinged (protocol ping) this often, an event stream "
        "quiet this long gets a `: ping` comment.",
    )
    live_send_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A live client busy (taking nothing) this long, or a WebSocket not "
        "answering a ping within it, is closed (4008 / 1011).",
    )

    @field_validator("live_allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        # An Origin header never ends in "/"; a configured one may.
        origins = _comma_separated(value)
        return [origin.rstrip("/") for origin in origins] if isinstance(origins, list) else origins


class MonitorSettings(Area):
    """The health office's monitor: history queries, alert rules and webhooks."""

    monitor_max_points: int = Field(
        default=100_000,
        ge=1,
        description="Most points (series x buckets) one JSON history answer may hold; more "
        "is refused (422).",
    )
    monitor_max_export_rows: int = Field(
        default=1_000_000,
        ge=1,
        description="Most rows one CSV export may stream; more is refused (422).",
    )
    monitor_statement_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="PostgreSQL `statement_timeout` of the monitor queries; longer ones are "
        "stopped (503).",
    )
    alert_rules: CommaList[AlertRule] = Field(
        default=["class_exhausted", "hospital_stale", "hospital_stale_escalated", "relay_failing"],
        description="Alert rules to evaluate, comma-separated; empty turns alerts off.",
    )
    alert_bed_classes: CommaList[str] = Field(
        default=[],
        description="Bed classes `class_exhausted` watches, comma-separated, e.g. `ICU,NICU,PICU`.",
    )
    alert_interval_seconds: float = Field(
        default=30.0, gt=0, description="How often each worker evaluates the alert rules."
    )
    alert_hold_seconds: float = Field(
        default=120.0,
        ge=0,
        description="An alert rule fires only after its condition has held this long, and "
        "fires again only after the condition has been clear this long (no alert per flap).",
    )
    stale_escalate_seconds: int = Field(
        default=7200,
        ge=1,
        description="A hospital still stale this long after its first reminder gets a second "
        "one, and the health office an alert (hospital_stale_escalated) that says so.",
    )
    alert_webhook_urls: CommaList[str] = Field(
        default=[], description="URLs every alert transition is POSTed to, comma-separated."
    )
    alert_webhook_secrets: CommaList[SecretStr] = Field(
        default=[],
        description="One signing secret per webhook URL, same order, comma-separated (see "
        "[Alerts](api.md#alerts)).",
    )
    alert_webhook_allow_http: bool = Field(
        default=False, description="Allow `http://` webhook URLs; otherwise only `https://`."
    )
    alert_webhook_max_attempts: int = Field(
        default=6, ge=1, description="Attempts per webhook delivery before it is given up."
    )
    alert_webhook_backoff_seconds: float = Field(
        default=5.0, gt=0, description="Wait before the first retry; doubles per attempt."
    )
    alert_webhook_backoff_max_seconds: float = Field(
        default=300.0, gt=0, description="Longest wait between two attempts."
    )
    alert_webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Timeout of one webhook call."
    )

    @model_validator(mode="after")
    def _check_webhooks(self) -> Self:
        schemes = ("http://", "https://") if self.alert_webhook_allow_http else ("https://",)
        for url in self.alert_webhook_urls:
            parts = urlsplit(url)
            # The URL is shown in logs and the alerts API: no credentials in it.
            shown = parts._replace(netloc=parts.hostname or "").geturl()
            if not url.startswith(schemes):
                raise ValueError(
                    f"webhook URL must start with {' or '.join(schemes)}: {shown!r} "
                    "(BEDSVC_ALERT_WEBHOOK_ALLOW_HTTP=true allows http://)"
                )
            if parts.username is not None or parts.password is not None:
                raise ValueError(
                    f"webhook URL {shown!r} carries credentials: the receiver checks the "
                    "signature made with BEDSVC_ALERT_WEBHOOK_SECRETS instead"
                )
        if len(self.alert_webhook_secrets) != len(self.alert_webhook_urls):
            raise ValueError(
                f"BEDSVC_ALERT_WEBHOOK_SECRETS holds {len(self.alert_webhook_secrets)} secrets "
                f"for {len(self.alert_webhook_urls)} webhook URLs: give one per URL, same order"
            )
        return self

    def webhook_secret(self, url: str) -> bytes:
        """The signing secret of one webhook URL."""
        index = self.alert_webhook_urls.index(url)
        return self.alert_webhook_secrets[index].get_secret_value().encode()


class RemindersSettings(Area):
    """Stale reminders to hospitals by mail and Telegram."""

    smtp_url: SecretStr | None = Field(
        default=None,
        description="Mail server of the stale reminders: smtp://user:password@host:587 "
        "(STARTTLS when the server offers it) or smtps://user:password@host:465; unset: no mail.",
    )
    smtp_from: str = Field(
        default="",
        description="Sender address of the reminder mails, e.g. "
        "'Dinas Kesehatan <bedsvc@dinkes.example.go.id>'.",
    )
    smtp_timeout_seconds: float = Field(
        default=20.0, gt=0, description="How long one reminder mail may take to send."
    )
    telegram_bot_token: SecretStr | None = Field(
        default=None,
        description="Token of the Telegram bot that sends stale reminders to the chats in "
        "the registry's telegram_chat_ids; unset: no Telegram messages.",
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org",
        pattern=r"^https?://",
        description="Base URL of the Telegram Bot API (another server speaking it in tests).",
    )
    reminder_max_attempts: int = Field(
        default=8,
        ge=1,
        description="Attempts at one reminder (mail or Telegram) before it is given up.",
    )
    reminder_backoff_seconds: float = Field(
        default=30.0, gt=0, description="Wait before a reminder's first retry; doubles per attempt."
    )
    reminder_backoff_max_seconds: float = Field(
        default=900.0, gt=0, description="Longest wait between two attempts at a reminder."
    )

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value())
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
                # The URL may hold a password: name the scheme only.
                raise ValueError(
                    f"BEDSVC_SMTP_URL must be smtp://host[:port] or smtps://host[:port], "
                    f"not {parts.scheme or 'no scheme'}://..."
                )
        return value


class NotificationsSettings(Area):
    """Citizens' Web Push notifications."""

    webpush_endpoint_hosts: CommaList[str] = Field(
        default=[
            "fcm.googleapis.com",
            "updates.push.services.mozilla.com",
            "*.notify.windows.com",
            "*.push.apple.com",
        ],
        description="Hosts a Web Push subscription's endpoint may be on (comma-separated; "
        "`*.example.com` takes any subdomain): the browsers' push services, so that nobody can "
        "make bedsvc POST to an address of their choosing.",
    )
    webpush_allow_http: bool = Field(
        default=False,
        description="Accept `http://` Web Push endpoints besides `https://` (for tests only).",
    )
    webpush_subject: str = Field(
        default="mailto:bedsvc@localhost",
        pattern=r"^(mailto:|https://)",
        description="The VAPID `sub` claim push services may contact the operator at: a "
        "`mailto:` or `https://` address (Apple's push service refuses `localhost`).",
    )
    webpush_max_per_address: int = Field(
        default=20,
        ge=1,
        description="Waiting notify-when-free subscriptions one client address may hold.",
    )
    webpush_subscription_seconds: int = Field(
        default=86_400,
        ge=60,
        description="How long an unused notify-when-free subscription waits before it expires.",
    )
    webpush_ttl_seconds: int = Field(
        default=3600,
        ge=0,
        description="How long a push service keeps a notification for a browser that is offline.",
    )
    webpush_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Time limit of one request to a push service."
    )
    webpush_max_attempts: int = Field(
        default=5,
        ge=1,
        description="Attempts at sending one notification before it is given up and dropped.",
    )
    webpush_backoff_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Wait before a failed notification is sent again, doubling per attempt "
        "up to five minutes.",
    )


class BridgesSettings(Area):
    """The SIRS Online- and Aplicares-compatible bridges."""

    sirs_prefix: str = Field(
        default="/sirs/fo/index.php/",
        pattern=r"^/[\w.\-/]*$",
        description="Path under which the SIRS Online-compatible bridge answers.",
    )
    aplicares_max_skew_seconds: int = Field(
        default=60,
        ge=1,
        description="An Aplicares `X-timestamp` further than this from the server clock is "
        "refused; it is also how long captured headers could be replayed (the "
        "signature does not cover the body).",
    )
    bridge_utc_offset_hours: int = Field(
        default=7,
        ge=-12,
        le=14,
        description="Time zone (WIB 7, WITA 8, WIT 9) of the times the bridges report back "
        "(`lastupdate`, `tglupdate`).",
    )


class RelaySettings(Area):
    """Relaying reports to SIRS Online and Aplicares."""

    relay_sirs_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Kemenkes SIRS Online base URL, the part before /Fasyankes (e.g. "
        "https://sirs.kemkes.go.id/fo/index.php): hospitals with SIRS credentials set are "
        "relayed there. Unset: the SIRS Online relay is off.",
    )
    relay_aplicares_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="BPJS Aplicares base URL, the part before /bed/... (e.g. "
        "https://new-api.bpjs-kesehatan.go.id/aplicaresws/rest): hospitals with Aplicares "
        "credentials set are relayed there. Unset: the Aplicares relay is off.",
    )
    relay_min_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        description="At most one send per hospital and registry this often, carrying the "
        "hospital's latest state.",
    )
    relay_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long the relay waits for one answer of a registry before it counts "
        "the send as failed and retries later.",
    )
    relay_backoff_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Wait before the first retry of a failed relay send; doubles per failure "
        "(with jitter) up to BEDSVC_RELAY_BACKOFF_MAX_SECONDS, or what Retry-After asks.",
    )
    relay_backoff_max_seconds: float = Field(
        default=300.0, gt=0, description="Longest wait between retries of a failed relay send."
    )
    relay_alert_after_seconds: float = Field(
        default=600.0,
        gt=0,
        description="A relay failing this long fires the relay_failing alert (a refused "
        "credential fires it at once).",
    )

    @field_validator("relay_sirs_url", "relay_aplicares_url", mode="before")
    @classmethod
    def _empty_is_off(cls, value: Any) -> Any:
        """An empty value switches a relay off, as leaving it unset does."""
        return None if isinstance(value, str) and not value.strip() else value


class _FlatEnvironment(PydanticBaseSettingsSource):
    """Each field of every area from its own ``BEDSVC_*`` variable (names in any case, as
    pydantic-settings reads them), and the variables of earlier releases with a warning."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Abstract in the base class, which asks it per top-level field (per area); the
        # variables are per setting, so __call__ reads them all at once instead.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        environment = {name.upper(): value for name, value in os.environ.items()}
        values = {
            name: environment[f"{PREFIX}{name.upper()}"]
            for name in AREA_OF
            if f"{PREFIX}{name.upper()}" in environment
        }
        for old, name in OLD_NAMES.items():
            if old not in environment:
                continue
            new = f"{PREFIX}{name.upper()}"
            warnings.warn(f"{old} is deprecated: set {new} instead", FutureWarning, stacklevel=2)
            values.setdefault(name, environment[old])
        return values


class Settings(BaseSettings):
    """Typed settings, one group per area; docs/operations.md lists each one with its default.

    ``Settings(database_url=..., public_fast_path=False)`` and ``settings.replace(...)`` take
    the flat names; a name that no area has is refused.
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    public: PublicSettings = Field(default_factory=PublicSettings)
    live: LiveSettings = Field(default_factory=LiveSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    reminders: RemindersSettings = Field(default_factory=RemindersSettings)
    notifications: NotificationsSettings = Field(default_factory=NotificationsSettings)
    bridges: BridgesSettings = Field(default_factory=BridgesSettings)
    relay: RelaySettings = Field(default_factory=RelaySettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (_Grouped(settings_cls, init_settings, _FlatEnvironment(settings_cls)),)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed, by their flat names, validated like the
        environment's values (``model_copy`` would check neither names nor values); the
        environment is not read again."""
        grouped = _group(changes)
        areas = {
            area: AREAS[area].model_validate({**getattr(self, area).model_dump(), **values})
            for area, values in grouped.items()
            if values
        }
        return self.model_copy(update=areas)

    def flat(self) -> dict[str, Any]:
        """Every setting by its flat name."""
        return {
            name: value
            for area in AREAS
            for name, value in getattr(self, area).model_dump().items()
        }

    def urls(self) -> tuple[str, str | None]:
        """Both server URLs, once the embedded servers (if any) have filled them in; no
        Redis URL when Redis is found through Sentinel."""
        database_url, redis = self.database.database_url, self.redis
        if database_url is None or (redis.redis_url is None and not redis.redis_sentinels):
            raise RuntimeError(
                "BEDSVC_DATABASE_URL and BEDSVC_REDIS_URL are unset: "
                "'bedsvc serve' starts embedded servers for them."
            )
        return database_url, redis.redis_url

    def server_environment(self) -> dict[str, str]:
        """The settings that processes started from this one (workers, the demo's server)
        need to reach the same servers, embedded ones included."""
        database_url, redis_url = self.urls()
        env = {"BEDSVC_DATABASE_URL": database_url}
        if redis_url is not None:
            env["BEDSVC_REDIS_URL"] = redis_url
        return env


AREAS = {name: cast(type[Area], field.annotation) for name, field in Settings.model_fields.items()}
# Flat setting name -> the area holding it.
AREA_OF = {name: area for area, model in AREAS.items() for name in model.model_fields}


def _group(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Flat names (and whole areas) -> one mapping per area; an unknown name is refused."""
    grouped: dict[str, dict[str, Any]] = {area: {} for area in AREAS}
    for name, value in values.items():
        if name in AREAS:
            given = value.model_dump() if isinstance(value, Area) else value
            grouped[name].update(given)
            continue
        area = AREA_OF.get(name.lower())
        if area is None:
            raise ValueError(f"no setting is named {name!r} (BEDSVC_{name.upper()})")
        grouped[area][name.lower()] = value
    return grouped


class _Grouped(PydanticBaseSettingsSource):
    """Values given in code win over the environment's; both use the flat names."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        given: PydanticBaseSettingsSource,
        environment: PydanticBaseSettingsSource,
    ) -> None:
        super().__init__(settings_cls)
        self._given = given
        self._environment = environment

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ merges the two sources it wraps.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return _group({**self._environment(), **self._given()})


def load_settings() -> Settings:
    return Settings()
