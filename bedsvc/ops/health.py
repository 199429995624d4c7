"""What a worker knows of its own health, kept up to date by its background tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(slots=True)
class Health:
    """Read by /readyz; written by the readiness check and the alert loop."""

    database: str = "unchecked"
    redis: str = "unchecked"
    alerts: str = "ok"
    checked_at: datetime | None = None
    alerts_failing_since: datetime | None = None

    def servers_checked(self, database: str, redis: str) -> None:
        self.database, self.redis = database, redis
        self.checked_at = datetime.now(UTC)

    def alerts_evaluated(self) -> None:
        self.alerts, self.alerts_failing_since = "ok", None

    def alerts_failed(self, error: str) -> None:
        since = self.alerts_failing_since or datetime.now(UTC)
        self.alerts_failing_since = since
        self.alerts = f"failing since {since.isoformat(timespec='seconds')}: {error}"
