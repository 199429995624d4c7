"""Every setting of bedsvc, parsed once from ``BEDSVC_*`` environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

AlertRule = Literal["class_exhausted", "hospital_stale"]


def _comma_separated(value: Any) -> Any:
    """Lists in the environment are comma-separated: `a,b`; an empty value is an empty list."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Typed settings; the README lists each one with its default."""

    model_config = SettingsConfigDict(env_prefix="BEDSVC_", frozen=True, extra="ignore")

    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset starts an embedded PostgreSQL."
    )
    database_replica_url: str | None = Field(
        default=None,
        description="PostgreSQL streaming replica the monitor's history and exports read from.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL; unset (and no sentinels) starts an embedded Redis."
    )
    redis_sentinels: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Redis Sentinel addresses (host:port, comma-separated), instead of a URL.",
    )
    redis_sentinel_master: str | None = Field(
        default=None, description="Name of the Sentinel-watched group whose primary to use."
    )
    data_dir: Path = Field(
        default=Path(".bedsvc"), description="Folder of the embedded servers' data."
    )
    redis_prefix: str = Field(
        default="bedsvc", description="Prefix of every Redis key and channel bedsvc uses."
    )
    db_pool_min: int = Field(default=1, ge=0)
    db_pool_max: int = Field(default=10, ge=1)
    stale_after_seconds: int = Field(
        default=1800, ge=1, description="A report older than this is marked stale."
    )
    max_future_seconds: int = Field(
        default=300, ge=0, description="How far in the future a reported_at may lie."
    )
    max_wards_per_report: int = Field(default=500, ge=1)
    max_wards_per_hospital: int = Field(
        default=2000, ge=1, description="Open wards one hospital may have; more is refused."
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    write_rate_limit_per_minute: int = Field(
        default=600,
        ge=1,
        description="Requests per minute per API key or bridge credential, across all "
        "workers and instances.",
    )
    unauthenticated_rate_limit_per_minute: int = Field(
        default=120,
        ge=1,
        description="Requests per minute per client address without a credential (or with "
        "one refused), across all workers and instances; public reads are not limited.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Addresses/CIDRs of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed (comma-separated); empty: none.",
    )
    key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a checked API key is trusted without asking PostgreSQL again "
        "(a revocation takes effect within this time).",
    )
    change_stream_length: int = Field(
        default=10_000, ge=100, description="Entries the Redis change stream keeps."
    )
    cache_reconcile_seconds: float = Field(
        default=2.0, gt=0, description="How often a worker checks Redis against PostgreSQL."
    )
    timezone: str = Field(
        default="Asia/Jakarta", description="Time zone that history buckets are aligned to."
    )
    alert_rules: Annotated[list[AlertRule], NoDecode] = Field(
        default=["class_exhausted", "hospital_stale"],
        description="Alert rules to evaluate (comma-separated); empty turns alerts off.",
    )
    alert_bed_classes: Annotated[list[str], NoDecode] = Field(
        default=[], description="Bed classes the class_exhausted rule watches; empty: all."
    )
    alert_interval_seconds: float = Field(
        default=30.0, gt=0, description="How often each worker evaluates the alert rules."
    )
    alert_webhook_urls: Annotated[list[str], NoDecode] = Field(
        default=[], description="URLs every alert transition is POSTed to (comma-separated)."
    )
    alert_webhook_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        default=[],
        description="One secret per webhook URL, in the same order (comma-separated): each "
        "delivery carries an HMAC-SHA256 signature of its body under its URL's secret.",
    )
    alert_webhook_allow_http: bool = Field(
        default=False, description="Allow http:// webhook URLs (the body and signature in clear)."
    )
    alert_webhook_max_attempts: int = Field(default=6, ge=1)
    alert_webhook_backoff_seconds: float = Field(
        default=5.0, gt=0, description="Wait before the first retry; doubles per attempt."
    )
    alert_webhook_backoff_max_seconds: float = Field(default=300.0, gt=0)
    alert_webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    public_max_age_seconds: int = Field(
        default=1, ge=0, description="Cache-Control max-age of the public reads."
    )
    public_stale_while_revalidate_seconds: int = Field(
        default=10, ge=0, description="Cache-Control stale-while-revalidate of the public reads."
    )
    public_gzip_level: int = Field(
        default=1, ge=0, le=3, description="ISA-L gzip level (0-3) of the public documents."
    )
    public_cache_max_bytes: int = Field(
        default=64 << 20,
        ge=1 << 20,
        description="Memory of the public documents each worker keeps (least recently used go).",
    )
    public_fast_path: bool = Field(
        default=True, description="Answer cached public reads before the framework's routing."
    )
    monitor_max_points: int = Field(
        default=100_000,
        ge=1,
        description="Most points (series x buckets) one JSON history answer may hold.",
    )
    monitor_max_export_rows: int = Field(
        default=1_000_000, ge=1, description="Most rows one CSV export may stream."
    )
    monitor_statement_timeout_seconds: float = Field(
        default=30.0, gt=0, description="PostgreSQL statement_timeout of the monitor queries."
    )
    readiness_interval_seconds: float = Field(
        default=2.0, gt=0, description="How often each worker checks PostgreSQL and Redis."
    )
    signin_max_failures_per_login: int = Field(
        default=10, ge=1, description="Failed bridge sign-ins per login before 429."
    )
    signin_max_failures_per_address: int = Field(
        default=100, ge=1, description="Failed bridge sign-ins per client address before 429."
    )
    password_hash_profile: Literal["rfc_9106_low_memory", "cheapest"] = Field(
        default="rfc_9106_low_memory",
        description="Argon2 parameters of ward-staff passwords: `rfc_9106_low_memory`, RFC "
        "9106's recommendation for machines with little memory; `cheapest` is for test suites "
        "only, and leaves stolen password hashes open to guessing.",
    )
    signin_failure_window_seconds: int = Field(
        default=300, ge=1, description="How long failed sign-ins are counted (from the first)."
    )
    live_max_connections: int = Field(
        default=10_000,
        ge=1,
        description="Live connections per process (WebSocket per live process, SSE per worker).",
    )
    live_max_connections_per_address: int = Field(
        default=20, ge=1, description="Live connections one client address may hold per process."
    )
    live_workers: int = Field(
        default=1, ge=0, description="Live WebSocket processes `bedsvc serve` starts."
    )
    live_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of the live WebSocket processes; unset: the HTTP port + 1.",
    )
    live_public_url: str | None = Field(
        default=None,
        pattern=r"^wss?://",
        description="WebSocket URL advertised by GET /api/v1/live (behind a proxy: wss://...).",
    )
    live_tick_ms: int = Field(
        default=50, ge=1, le=1000, description="At most one live frame per subscriber this often."
    )
    live_resync_min_seconds: float = Field(
        default=2.0, ge=0, description="A client's resync requests are served this far apart."
    )
    live_write_buffer_bytes: int = Field(
        default=65_536,
        ge=1024,
        description="Unsent bytes a live connection may hold before it counts as busy.",
    )
    live_max_message_bytes: int = Field(
        default=4096, ge=64, description="Largest message a live client may send."
    )
    live_allowed_origins: str = Field(
        default="*", description="Comma-separated Origins allowed to subscribe; * for any."
    )
    live_ping_seconds: float = Field(
        default=20.0, gt=0, description="A live connection quiet this long is sent a ping."
    )
    live_send_timeout_seconds: float = Field(
        default=30.0, gt=0, description="A live client that takes nothing this long is closed."
    )
    session_seconds: int = Field(
        default=43_200, ge=60, description="How long a ward-staff sign-in lasts (a shift)."
    )
    sign_in_window_seconds: int = Field(
        default=900, ge=1, description="Window in which failed sign-ins are counted."
    )
    sign_in_max_failures_per_user: int = Field(
        default=5, ge=1, description="Failed sign-ins per username per window before refusal."
    )
    sign_in_max_failures_per_address: int = Field(
        default=20, ge=1, description="Failed sign-ins per client address per window."
    )
    public_url: str = Field(
        default="",
        description="Base URL citizens and staff reach bedsvc at (e.g. https://beds.example); "
        "alerts link to the entry page with it.",
    )
    log_level: str = Field(default="INFO")
    log_json: bool = Field(default=True, description="JSON log lines; false for console.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s) encrypting bridge secrets at rest; unset: a key file "
        "generated under the data folder.",
    )
    sirs_prefix: str = Field(
        default="/sirs/fo/index.php/",
        pattern=r"^/[\w.\-/]*$",
        description="Path under which the SIRS Online-compatible bridge answers.",
    )
    aplicares_max_skew_seconds: int = Field(
        default=60, ge=1, description="How far an Aplicares X-timestamp may be from our clock."
    )
    bridge_utc_offset_hours: int = Field(
        default=7, ge=-12, le=14, description="Time zone of the times the bridges report back."
    )

    @field_validator(
        "alert_rules",
        "alert_bed_classes",
        "alert_webhook_urls",
        "alert_webhook_secrets",
        "redis_sentinels",
        "trusted_proxies",
        mode="before",
    )
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        return _comma_separated(value)

    @model_validator(mode="after")
    def _check_webhooks(self) -> Settings:
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

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"not an address or CIDR: {value!r}") from None
        return values

    @field_validator("redis_sentinels")
    @classmethod
    def _check_sentinels(cls, addresses: list[str]) -> list[str]:
        for address in addresses:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"sentinel address must be host:port: {address!r}")
        return addresses

    @model_validator(mode="after")
    def _one_redis(self) -> Settings:
        if self.redis_sentinels and not self.redis_sentinel_master:
            raise ValueError("BEDSVC_REDIS_SENTINELS needs BEDSVC_REDIS_SENTINEL_MASTER")
        if self.redis_sentinels and self.redis_url:
            raise ValueError("set BEDSVC_REDIS_URL or BEDSVC_REDIS_SENTINELS, not both")
        return self

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    def urls(self) -> tuple[str, str | None]:
        """Both server URLs, once the embedded servers (if any) have filled them in; no
        Redis URL when Redis is found through Sentinel."""
        if self.database_url is None or (self.redis_url is None and not self.redis_sentinels):
            raise RuntimeError(
                "BEDSVC_DATABASE_URL and BEDSVC_REDIS_URL are unset: "
                "'bedsvc serve' starts embedded servers for them."
            )
        return self.database_url, self.redis_url

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        addresses = []
        for address in self.redis_sentinels:
            host, _, port = address.rpartition(":")
            addresses.append((host.strip("[]"), int(port)))
        return addresses

    def server_environment(self) -> dict[str, str]:
        """The settings that processes started from this one (workers, the demo's server)
        need to reach the same servers, embedded ones included."""
        database_url, redis_url = self.urls()
        env = {"BEDSVC_DATABASE_URL": database_url}
        if redis_url is not None:
            env["BEDSVC_REDIS_URL"] = redis_url
        return env


def load_settings() -> Settings:
    return Settings()
