"""What an operator watches beyond the request counters: pushes, the change feed, the live
fan-out, errors of the servers bedsvc depends on.

The metric objects exist once per process (prometheus_client keeps them in its global
registry, so the many apps a test run builds share them and tests look at differences). Under
`bedsvc serve` every worker process writes its values to the folder in
PROMETHEUS_MULTIPROC_DIR (bedsvc/ops/metrics_folder.py), and `/metrics` on any worker reads all of
them: one scrape shows the whole instance. Gauges say how the processes' values combine
(`multiprocess_mode`); the `live…` modes drop a process's values once it has exited.

Code elsewhere records through the small functions at the end, one line per event; the HTTP
workers count their pushes with the middleware in bedsvc/ops/push_metrics.py.
"""

from __future__ import annotations

import bisect
import itertools
import os
import re
from collections import Counter as Tally
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from bedsvc.store.states import HospitalState

if TYPE_CHECKING:
    # Only named: a live process loads these metrics without Litestar
    # (the middleware is bedsvc/ops/push_metrics.py).
    from litestar.types import Scope

# Pushes are counted (route, outcome, bridge) and timed per bridge in plain ints and floats,
# read at scrape time by the collector below, as the fast path's answers are: a
# prometheus_client metric takes a lock per update, on the path that should cost the least.
PUSH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_PUSHES_HELP = "Pushes of hospital systems (native API and bridges) by route and outcome."
_PUSH_SECONDS_HELP = (
    "Time from a push's arrival to the end of its answer (acknowledged pushes include the "
    "PostgreSQL commit)."
)
PUSH_COUNTS: Tally[tuple[str, str, str]] = Tally()


class PushDurations:
    """One bridge's push durations: counts and sums per bucket (the last bucket is +Inf)."""

    __slots__ = ("counts", "sums")

    def __init__(self) -> None:
        self.counts = [0] * (len(PUSH_BUCKETS) + 1)
        self.sums = [0.0] * (len(PUSH_BUCKETS) + 1)

    def observe(self, seconds: float) -> None:
        index = bisect.bisect_left(PUSH_BUCKETS, seconds)
        self.counts[index] += 1
        self.sums[index] += seconds


PUSH_DURATIONS: dict[str, PushDurations] = {}


def record_push(route: str, status: int, bridge: str, seconds: float) -> None:
    """One push's answer: its outcome counted, its time observed; no lock taken."""
    PUSH_COUNTS[route, outcome_of(status), bridge] += 1
    durations = PUSH_DURATIONS.get(bridge)
    if durations is None:
        durations = PUSH_DURATIONS[bridge] = PushDurations()
    durations.observe(seconds)


class _PushesCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        pushes = CounterMetricFamily(
            "bedsvc_pushes", _PUSHES_HELP, labels=["route", "outcome", "bridge"]
        )
        for (route, outcome, bridge), count in sorted(PUSH_COUNTS.items()):
            pushes.add_metric([route, outcome, bridge], count)
        yield pushes
        seconds = HistogramMetricFamily(
            "bedsvc_push_duration_seconds", _PUSH_SECONDS_HELP, labels=["bridge"]
        )
        for bridge, durations in sorted(PUSH_DURATIONS.items()):
            cumulative = list(itertools.accumulate(durations.counts))
            bounds = [*(str(b) for b in PUSH_BUCKETS), "+Inf"]
            seconds.add_metric(
                [bridge], list(zip(bounds, cumulative, strict=True)), sum(durations.sums)
            )
        yield seconds


REGISTRY.register(_PushesCollector())

# The collector's values are per process. Under several workers the sampler moves them into
# these (outside the default registry), which write to the multiprocess folder a scrape reads.
PUSHES = Counter("bedsvc_pushes_total", _PUSHES_HELP, ["route", "outcome", "bridge"], registry=None)
PUSH_SECONDS = Histogram(
    "bedsvc_push_duration_seconds",
    _PUSH_SECONDS_HELP,
    ["bridge"],
    buckets=PUSH_BUCKETS,
    registry=None,
)
FEED_VERSIONS_BEHIND = Gauge(
    "bedsvc_feed_versions_behind",
    "Versions PostgreSQL holds that the worker's change feed has not applied yet.",
    multiprocess_mode="livemax",
)
FEED_LAG_SECONDS = Gauge(
    "bedsvc_feed_lag_seconds",
    "Since when PostgreSQL has held a version the worker's change feed has not applied.",
    multiprocess_mode="livemax",
)
FEED_CHANGES = Counter(
    "bedsvc_feed_changes_total", "Hospital changes the workers' change feeds applied."
)
NEARCACHE_REBUILDS = Counter(
    "bedsvc_nearcache_rebuilds_total",
    "Full reloads of a worker's change feed, each rebuilding its near-cache and resending "
    "live subscribers a snapshot.",
)
LIVE_CONNECTIONS = Gauge(
    "bedsvc_live_connections",
    "Live connections (WebSocket and event stream) held by the process.",
    multiprocess_mode="liveall",
)
LIVE_MAX_CONNECTIONS = Gauge(
    "bedsvc_live_max_connections",
    "The process's cap on live connections (BEDSVC_LIVE_MAX_CONNECTIONS).",
    multiprocess_mode="liveall",
)
FANOUT_SECONDS = Histogram(
    "bedsvc_live_fanout_seconds",
    "Time from a change reaching the live hub to its frame handed to every subscriber.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
REPORT_BATCH_SIZE = Histogram(
    "bedsvc_report_batch_reports",
    "Native pushes written together with one statement and one commit.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
REDIS_ERRORS = Counter(
    "bedsvc_redis_errors_total", "Redis calls that failed, by what was attempted.", ["operation"]
)
CACHE_FAILOVER_REPAIRS = Counter(
    "bedsvc_cache_failover_repairs_total",
    "Times a worker's reconciler found another Redis server answering (a Sentinel failover or a "
    "restart) and brought its cache back in line with PostgreSQL.",
)
CACHE_FAILOVER_LAG_VERSIONS = Histogram(
    "bedsvc_cache_failover_lag_versions",
    "Hospital versions the cache on the new Redis server lacked when the reconciler repaired it.",
    buckets=(0, 1, 2, 5, 10, 25, 50, 100, 250, 1000),
)
CACHE_FAILOVER_REPAIR_SECONDS = Histogram(
    "bedsvc_cache_failover_repair_seconds",
    "Time from the reconciler's last round on the previous Redis server to the repair of the "
    "cache on the new one.",
    buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
DATABASE_ERRORS = Counter(
    "bedsvc_database_errors_total",
    "PostgreSQL calls that failed, by what was attempted.",
    ["operation"],
)

# The public fast path (bedsvc/public/fastpath.py) counts its answers (path, status) in plain
# ints, read at scrape time by the collector below: a prometheus_client Counter takes a lock per
# increment, measured at a sixth of that path's own Python time.
FAST_RESPONSE_COUNTS: Tally[tuple[str, int]] = Tally()


class _FastResponsesCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "bedsvc_public_fast_responses",
            "Public reads answered from the near-cache before routing.",
            labels=["path", "status_code"],
        )
        for (path, status), count in sorted(FAST_RESPONSE_COUNTS.items()):
            family.add_metric([path, str(status)], count)
        yield family


REGISTRY.register(_FastResponsesCollector())

RELAY_SENDS = Counter(
    "bedsvc_relay_sends_total",
    "Sends of a hospital's state to a national registry, by registry and outcome (sent, or "
    "the kind of failure).",
    ["registry", "outcome"],
)
RELAY_LAG_SECONDS = Gauge(
    "bedsvc_relay_lag_seconds",
    "How long the oldest change not yet relayed to the registry has waited (0: all sent).",
    ["registry"],
    multiprocess_mode="livemax",
)

# The collector's counts are per process. Under several workers the sampler moves them into
# this counter, which (outside the default registry, so not clashing with that collector)
# still writes to the multiprocess folder a scrape reads.
FAST_RESPONSES = Counter(
    "bedsvc_public_fast_responses",
    "Public reads answered from the near-cache before routing.",
    ["path", "status_code"],
    registry=None,
)
REMINDERS = Counter(
    "bedsvc_reminders_total",
    "Stale reminders to hospitals by channel (email, telegram) and outcome: sent, retry (an "
    "attempt failed, another follows), failed (given up), cancelled (the lapse ended first).",
    ["channel", "outcome"],
)

# Writes of hospital systems, by the bridge they come through: (method, path template) → bridge.
_PUSH_ROUTES = (
    ("POST", re.compile(r"^/api/v1/hospitals/[^/]+/occupancy$"), "native"),
    ("DELETE", re.compile(r"^/api/v1/hospitals/[^/]+/wards/[^/]+$"), "native"),
    ("POST", re.compile(r"^/aplicaresws/rest/bed/(create|update|delete)/"), "aplicares"),
    ("POST", re.compile(r"/Fasyankes$"), "sirs"),
    ("PUT", re.compile(r"/Fasyankes$"), "sirs"),
)
_PATH_PARAMETER_TYPE = re.compile(r":\w+}")


def push_route(scope: Scope) -> tuple[str, str] | None:
    """(route label, bridge) of a hospital system's write, or None for any other request."""
    method = scope.get("method", "")
    template = scope.get("path_template", "")
    for push_method, pattern, bridge in _PUSH_ROUTES:
        if method == push_method and pattern.search(template):
            return f"{method} {_PATH_PARAMETER_TYPE.sub('}', template)}", bridge
    return None


def outcome_of(status: int) -> str:
    if status < 400:
        return "accepted"
    if status in (401, 403):
        return "refused"
    if status == 429:
        return "rate_limited"
    if status < 500:
        return "invalid"
    if status == 503:
        return "unavailable"
    return "error"


# Set in `scope["state"]` by a caller that counts and times the push itself (the push's
# fast path when it hands a request on).
PUSH_COUNTED = "bedsvc.push_counted"


def mark_push_counted(scope: Scope) -> None:
    scope.setdefault("state", {})[PUSH_COUNTED] = True


class FeedMetrics:
    """A listener of the worker's change feed: counts what it applies and how often it had to
    start over (each time the near-cache is rebuilt and live clients get a snapshot)."""

    def hospital_changed(self, version: int, code: str, state: HospitalState | None) -> None:
        FEED_CHANGES.inc()

    def reloaded(self, version: int) -> None:
        NEARCACHE_REBUILDS.inc()


def multiprocess_mode() -> bool:
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ


def worker_stopped() -> None:
    """A worker's live gauges leave the multiprocess folder with it."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


# One line at the place where each happens.


def record_redis_error(operation: str) -> None:
    REDIS_ERRORS.labels(operation=operation).inc()


def record_failover_repair(versions_behind: int, seconds: float) -> None:
    CACHE_FAILOVER_REPAIRS.inc()
    CACHE_FAILOVER_LAG_VERSIONS.observe(versions_behind)
    CACHE_FAILOVER_REPAIR_SECONDS.observe(seconds)


def record_database_error(operation: str) -> None:
    DATABASE_ERRORS.labels(operation=operation).inc()


def record_reminder(channel: str, outcome: str) -> None:
    REMINDERS.labels(channel=channel, outcome=outcome).inc()


def observe_report_batch(reports: int) -> None:
    REPORT_BATCH_SIZE.observe(reports)


def observe_fanout(seconds: float) -> None:
    FANOUT_SECONDS.observe(seconds)


def record_relay_send(registry: str, outcome: str) -> None:
    RELAY_SENDS.labels(registry=registry, outcome=outcome).inc()


def record_relay_lag(registry: str, seconds: float) -> None:
    RELAY_LAG_SECONDS.labels(registry=registry).set(seconds)


def record_live_connections(count: int) -> None:
    """For live processes without a sampler of their own (the workers sample their hub)."""
    LIVE_CONNECTIONS.set(count)


__all__ = [
    "FeedMetrics",
    "observe_fanout",
    "observe_report_batch",
    "record_database_error",
    "record_failover_repair",
    "record_live_connections",
    "record_push",
    "record_redis_error",
    "record_relay_lag",
    "record_relay_send",
    "record_reminder",
    "worker_stopped",
]
