"""What a worker knows of its own health, kept up to date by its background tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(slots=True)
class Health:
    """Read by /readyz; written by the readiness check (every `check_interval` seconds) and
    the alert loop."""

    check_interval: float = 5.0
    database: str = "unchecked"
    redis: str = "unchecked"
    alerts: str = "ok"
    checked_at: datetime | None = None
    alerts_failing_since: datetime | None = None

    def servers_checked(self, database: str, redis: str) -> None:
        self.database, self.redis = database, redis
        self.checked_at = datetime.now(UTC)

    def checked_lately(self) -> bool:
        # A check that stopped coming is no evidence of health.
        overdue = timedelta(seconds=max(3 * self.check_interval, 5.0))
        return self.checked_at is not None and datetime.now(UTC) - self.checked_at <= overdue

    def alerts_evaluated(self) -> None:
        self.alerts, self.alerts_failing_since = "ok", None

    def alerts_failed(self, error: str) -> None:
        since = self.alerts_failing_since or datetime.now(UTC)
        self.alerts_failing_since = since
        self.alerts = f"failing since {since.isoformat(timespec='seconds')}: {error}"
