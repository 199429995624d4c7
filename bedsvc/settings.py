"""Every setting of bedsvc, parsed once from ``BEDSVC_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    live_max_connections: int = Field(
        default=10_000, ge=1, description="Live (WebSocket and SSE) connections per worker."
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
