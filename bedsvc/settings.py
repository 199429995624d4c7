"""Every setting of bedsvc, parsed once from ``BEDSVC_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
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
    redis_url: str | None = Field(
        default=None, description="Redis URL; unset starts an embedded Redis."
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
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    write_rate_limit_per_minute: int = Field(
        default=600, ge=1, description="Authenticated writes per client address per worker."
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
        default=300, ge=1, description="How far an Aplicares X-timestamp may be from our clock."
    )
    bridge_utc_offset_hours: int = Field(
        default=7, ge=-12, le=14, description="Time zone of the times the bridges report back."
    )

    @field_validator("alert_rules", "alert_bed_classes", "alert_webhook_urls", mode="before")
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        return _comma_separated(value)

    @field_validator("alert_webhook_urls")
    @classmethod
    def _check_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"webhook URL must start with http:// or https://: {url!r}")
        return urls

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    def urls(self) -> tuple[str, str]:
        """Both server URLs, once the embedded servers (if any) have filled them in."""
        if self.database_url is None or self.redis_url is None:
            raise RuntimeError(
                "BEDSVC_DATABASE_URL and BEDSVC_REDIS_URL are unset: "
                "'bedsvc serve' starts embedded servers for them."
            )
        return self.database_url, self.redis_url


def load_settings() -> Settings:
    return Settings()
