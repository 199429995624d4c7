"""Real PostgreSQL and Redis for every test: the servers in BEDSVC_TEST_DATABASE_URL /
BEDSVC_TEST_REDIS_URL when set, embedded ones otherwise. Each test session gets a database and
a Redis key prefix of its own, and each test starts from empty tables and an empty cache."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.app import build_services, create_app
from bedsvc.runtime.embedded import start_postgres, start_redis
from bedsvc.services import Services
from bedsvc.settings import Settings
from bedsvc.store import migrate
from tests.support.factory import Factory
from tests.support.servers import (
    RedisProcess,
    empty_state,
    rebuild_empty_cache,
    with_database,
    without_durability,
)

pytest_plugins = ["tests.support.live", "tests.support.relay"]

# What pytest_configure started, stopped at the end of the run.
EMBEDDED = pytest.StashKey[list[Callable[[], object]]]()


def pytest_configure(config: pytest.Config) -> None:
    """Without BEDSVC_TEST_* servers, the run starts one embedded PostgreSQL and one Redis
    before any test, in the process that runs the tests or, with pytest-xdist, in the one that
    hands them out: every worker inherits their URLs and makes its own database and prefix."""
    if hasattr(config, "workerinput"):
        return
    servers: list[Any] = []
    folder = Path(tempfile.mkdtemp(prefix="bedsvc-servers-"))
    if not os.environ.get("BEDSVC_TEST_DATABASE_URL"):
        url, postgres = start_postgres(folder)
        asyncio.run(without_durability(url))
        os.environ["BEDSVC_TEST_DATABASE_URL"] = url
        servers.append(postgres.cleanup)
    if not os.environ.get("BEDSVC_TEST_REDIS_URL"):
        url, redis_server = start_redis(folder)
        os.environ["BEDSVC_TEST_REDIS_URL"] = url
        servers.append(partial(redis_server.shutdown, save=False))
    servers.append(partial(shutil.rmtree, folder, ignore_errors=True))
    config.stash[EMBEDDED] = servers


# Tests that hold a pytest-xdist worker longest: a module's group (the browser modules, the
# registries, the demo runs, nginx) runs on one worker from end to end, the fuzzer's shards
# each take tens of seconds, and the failover, restart, reminder and pool tests mostly wait
# on their servers. Handed out first, none of them is the last to start while the other
# workers run out of tests, and their waits overlap the rest of the suite's work.
LONGEST_FIRST = (
    "tests/web/",
    "tests/contract/",
    "tests/relay/test_relay.py",
    "tests/runtime/test_shutdown.py",
    "tests/deploy/",
    "tests/state/test_sentinel.py",
    "tests/state/test_faults.py",
    "tests/reminders/test_reminders.py",
    "tests/store/test_pools.py",
    "tests/live/test_live_instances.py",
    "tests/ops/test_metrics.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def turn(item: pytest.Item) -> int:
        for position, folder in enumerate(LONGEST_FIRST):
            if item.nodeid.startswith(folder):
                return position
        return len(LONGEST_FIRST)

    items.sort(key=turn)  # stable: the order within each part stays as collected


def pytest_unconfigure(config: pytest.Config) -> None:
    for stop in config.stash.get(EMBEDDED, []):
        stop()


@pytest.fixture(scope="session")
def embedded_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bedsvc-test-") as folder:
        yield Path(folder)


@pytest.fixture(scope="session")
def server_database_url() -> str:
    return os.environ["BEDSVC_TEST_DATABASE_URL"]


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ["BEDSVC_TEST_REDIS_URL"]


@pytest.fixture(scope="session")
async def database_url(server_database_url: str) -> AsyncIterator[str]:
    """A database of this session's own, dropped at the end."""
    name = f"bedsvc_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_database_url, name)
    await migrate(url)
    yield url
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str, embedded_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=embedded_dir / "data",
        redis_prefix=f"bedsvc-test-{secrets.token_hex(4)}",
        cache_reconcile_seconds=0.2,
        # Tests wait for one worker to show a change and then read another (or its live
        # stream): a feed that reads the stream again at once keeps the workers within a
        # round trip of each other. The read gap has a test of its own.
        change_read_gap_ms=0,
        password_hash_profile="cheapest",
        key_cache_seconds=1.0,
        log_json=False,
        log_level="WARNING",
    )


@pytest.fixture
async def clean(settings: Settings) -> None:
    await empty_state(settings)


@pytest.fixture(scope="session")
def emptier(settings: Settings) -> Callable[[], Awaitable[None]]:
    """Empties the tables and the cache when called: for fixtures broader than one test."""
    return partial(empty_state, settings)


@pytest.fixture(scope="session")
def session_app(settings: Settings) -> Litestar:
    """The app of the session's tests that take the default settings, built once: building
    one costs 0.08 to 0.15 s of CPU, most of it Litestar registering the routes. Each
    test's client runs the app's lifespan, which builds the services, pools and caches afresh,
    so only the routing is shared. Two clients at once need apps of their own.

    Without the worker's background loops (cache reconciliation, alerts, notifications,
    relays, readiness, metrics sampling): a test of a route does not need them, and they cost
    each test a few PostgreSQL connections and their first rounds, and raced tests for work
    the tests do themselves."""
    return create_app(settings, background_loops=False)


@pytest.fixture(scope="session")
def session_app_with_loops(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def app(session_app: Litestar, settings: Settings, clean: None) -> Litestar:
    """On the emptied tables, with the cache rebuilt from them, as the reconciler's first round
    leaves it when the worker starts."""
    await rebuild_empty_cache(settings)
    return session_app


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def client_with_loops(
    session_app_with_loops: Litestar, clean: None
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The app with its background loops, on an empty cache: for a test of what they do."""
    async with AsyncTestClient(app=session_app_with_loops) as test_client:
        yield test_client


@pytest.fixture
async def services(settings: Settings, clean: None) -> AsyncIterator[Services]:
    """The service's resources on the test's own event loop (the test client runs the app on
    a loop of its own), as a second process of bedsvc would hold them."""
    services = await build_services(settings)
    yield services
    await services.redis.aclose()
    await services.pool.close()


@pytest.fixture
def factory(services: Services) -> Factory:
    return Factory(services)


@pytest.fixture(scope="module")
async def module_factory(
    settings: Settings, emptier: Callable[[], Awaitable[None]]
) -> AsyncIterator[Factory]:
    """For a module whose servers run across its tests: the tables emptied once, before they
    start (emptying them under a running server would turn its versions back), and the
    module's tests each register hospitals of their own."""
    await emptier()
    services = await build_services(settings)
    yield Factory(services)
    await services.redis.aclose()
    await services.pool.close()


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def own_redis_client(
    settings: Settings, clean: None, redis_process: RedisProcess
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The app on a Redis server the test can stop and start."""
    app = create_app(settings.replace(redis_url=redis_process.url))
    async with AsyncTestClient(app=app) as client:
        yield client
