"""Schemathesis against the app's own OpenAPI document, on real PostgreSQL and Redis.

Every route is called with the credentials its guards check (admin, monitor and hospital keys,
the Aplicares signature, the SIRS login), found from the app's own routes, so that new routes
are fuzzed as they come; with data that fits the schema and data that does not.
No answer may be a 5xx, and every answer's status, content type, headers and body must be the
ones the document gives for that route: a client generated from it must understand them all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from litestar.routes import HTTPRoute
from schemathesis import GenerationMode, checks
from schemathesis.core.control import SkipTest
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.schemas import APIOperation, BaseSchema

from bedsvc.app import create_app
from bedsvc.bridges.credentials import (
    AplicaresCredential,
    SirsCredential,
    issue_aplicares,
    issue_sirs,
)
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, bearer

HOSPITAL = "3274011"
PPK = "0122R001"
# Generated cases per operation and generation mode; operations without parameters give one.
# The whole run makes over 3,000 requests (3,208 over 49 operations; the same every run:
# generation is derandomized).
EXAMPLES = 55
# Each shard's floor: so many requests per operation it was dealt, on average.
MIN_REQUESTS_PER_OPERATION = 35
# The operations are dealt out to this many tests, which pytest-xdist runs side by side.
SHARDS = 8
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
# The path parameters of the pushing routes: the positive cases go to the hospital the credentials
# are for, so that they reach the handlers; the negative cases try any code.
OWN_HOSPITAL = {"hospital_code": HOSPITAL, "kodeppk": PPK}


class Credentials:
    """What each route authenticates with, as the client of that route would send it."""

    def __init__(
        self,
        admin: str,
        monitor: str,
        hospital: str,
        aplicares: AplicaresCredential,
        sirs: SirsCredential,
    ) -> None:
        self.admin = admin
        self.monitor = monitor
        self.hospital = hospital
        self.aplicares = aplicares
        self.sirs = sirs

    def aplicares_headers(self) -> dict[str, str]:
        stamp = str(int(time.time()))
        message = f"{self.aplicares.cons_id}&{stamp}".encode()
        secret = self.aplicares.secret.encode()
        digest = hmac.new(secret, message, hashlib.sha256).digest()
        return {
            "X-cons-id": self.aplicares.cons_id,
            "X-timestamp": stamp,
            "X-signature": base64.b64encode(digest).decode(),
        }

    def sirs_headers(self) -> dict[str, str]:
        return {
            "X-rs-id": self.sirs.rs_id,
            "X-pass": self.sirs.password,
            "X-Timestamp": str(int(time.time())),
        }

    def by_guard(self) -> dict[str, Callable[[], dict[str, str]]]:
        """The credentials each guard checks. A route is called with those of its guards, as
        the app declares them: a new route behind one of these guards is covered as it is;
        a new guard needs its line here (the test fails on a guard it does not know)."""
        return {
            "admin_key_guard": lambda: bearer(self.admin),
            "monitor_key_guard": lambda: bearer(self.monitor),
            "hospital_actor_guard": lambda: bearer(self.hospital),
            "aplicares_guard": self.aplicares_headers,
            "sirs_guard": self.sirs_headers,
        }


def route_guards(app: Litestar) -> dict[tuple[str, str], list[str]]:
    """(method, path as the OpenAPI document writes it) -> the names of its guards."""
    found = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)
        for handler in route.route_handlers:
            names = [guard.__name__ for guard in handler.resolve_guards()]
            for method in handler.http_methods:
                found[(method, path)] = names
    return found


class Authenticator:
    def __init__(self, app: Litestar, credentials: Credentials) -> None:
        self.guards = route_guards(app)
        self.by_guard = credentials.by_guard()

    def headers(self, method: str, path: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        for guard in self.guards.get((method.upper(), path), []):
            if guard not in self.by_guard:
                raise AssertionError(f"{method} {path}: no credentials known for {guard}")
            headers |= self.by_guard[guard]()
        return headers


@pytest.fixture
async def credentials(factory: Factory, services: Services) -> Credentials:
    await factory.hospital(HOSPITAL, bpjs_ppk_code=PPK)
    await factory.hospital("3274022")
    return Credentials(
        admin=await factory.key("admin"),
        monitor=await factory.key("monitor"),
        hospital=await factory.key("hospital", HOSPITAL),
        aplicares=await issue_aplicares(
            services.pool, services.queries, services.secret_box, HOSPITAL
        ),
        sirs=await issue_sirs(services.pool, services.queries, services.secret_box, HOSPITAL),
    )


@pytest.fixture
def fuzzed_app(settings: Settings, credentials: Credentials) -> Iterator[Litestar]:
    # The rate limits and the sign-in throttle are tested elsewhere; here they would turn
    # many cases into 429s or hold them up (the negative cases' refused credentials count
    # against the address and the login), and the handlers behind them would go unfuzzed.
    unlimited = {
        "write_rate_limit_per_minute": 1_000_000,
        "unauthenticated_rate_limit_per_minute": 1_000_000,
        "sign_in_max_failures": 1_000_000,
        "sign_in_max_failures_per_address": 1_000_000,
        "sign_in_max_delay_seconds": 0,
    }
    app = create_app(settings.replace(**unlimited))
    try:
        yield app
    finally:
        shutdown_lifespans()  # the lifespan schemathesis started for the app


def fuzzed_schema(app: Litestar, mode: GenerationMode) -> BaseSchema:
    """The app's document, set to generate in one mode. Told to make negative cases only,
    schemathesis skips an operation it cannot make one for (SkipTest) at its first case; with
    both modes allowed, it rejects each case, and Hypothesis gives up (Unsatisfiable) only
    after about 1,400 of them: a seventh of the fuzzer's time went on 22 such operations."""
    # An event stream never ends: its first event is enough to check the answer.
    config = {"max-stream-events": 1, "generation": {"mode": mode.value}}
    return schemathesis.openapi.from_asgi(
        "/schema/openapi.json", app, config=schemathesis.Config.from_dict(config)
    )


def generation_cost(operation: APIOperation) -> int:
    """Roughly what generating an operation's cases costs: a body weighs most."""
    bodies = len(operation.get_request_payload_content_types())
    return len(list(operation.iter_parameters())) + 5 * bodies


def dealt_to(position: int) -> int:
    """The shard of the operation at `position`: 0 to 7, then 7 to 0, and so on."""
    turn, seat = divmod(position, SHARDS)
    return seat if turn % 2 == 0 else SHARDS - 1 - seat


@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_response_is_documented(
    fuzzed_app: Litestar, credentials: Credentials, shard: int
) -> None:
    schemas = {mode: fuzzed_schema(fuzzed_app, mode) for mode in GenerationMode}
    authenticator = Authenticator(fuzzed_app, credentials)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = sorted(
        (result.ok() for result in schemas[GenerationMode.POSITIVE].get_all_operations()),
        key=lambda operation: (-generation_cost(operation), operation.label),
    )
    # Dealt back and forth, dearest first, so that every shard takes about as long.
    ours = [operation for i, operation in enumerate(operations) if dealt_to(i) == shard]
    for operation in ours:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fixed = OWN_HOSPITAL if mode is GenerationMode.POSITIVE else {}
            path_parameters = {
                name: value for name, value in fixed.items() if f"{{{name}}}" in operation.path
            }
            strategy = schemas[mode][operation.path][operation.method].as_strategy(
                generation_mode=mode, path_parameters=path_parameters or None
            )

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )
            def call(case: schemathesis.Case) -> None:
                headers = authenticator.headers(case.method, case.operation.path)
                response = case.call(headers=headers)
                statuses[response.status_code] += 1
                case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                call()
            except (SkipTest, Unsatisfiable):
                # Nothing can be invalid about a route without constrained parameters.
                assert mode is GenerationMode.NEGATIVE, operation.label
            # One failing operation must not hide the others; schemathesis reports its
            # failures as a BaseExceptionGroup.
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001
                failures.append(f"{operation.label} ({mode.value}):\n{exc}")
    requests = sum(statuses.values())
    assert not failures, "\n\n".join(failures)
    assert not [status for status in statuses if status >= 500], statuses
    expected = MIN_REQUESTS_PER_OPERATION * len(ours)
    assert requests >= expected, f"only {requests} requests: {statuses}"
