"""Helpers shared by the tests: factories, request bodies, polling waits, servers of a test's
own. The everyday ones are importable from here."""

from tests.support.factory import Factory
from tests.support.payloads import bearer, document_etag, report, ward
from tests.support.servers import RedisProcess, with_database
from tests.support.waits import (
    clear_of_minute_edge,
    global_version,
    push_until_refused,
    wait_for_global_version,
    wait_for_version,
    wait_until_current,
    wait_until_unlisted,
    waiting_on_a_lock,
)

__all__ = [
    "Factory",
    "RedisProcess",
    "bearer",
    "clear_of_minute_edge",
    "document_etag",
    "global_version",
    "push_until_refused",
    "report",
    "wait_for_global_version",
    "wait_for_version",
    "wait_until_current",
    "wait_until_unlisted",
    "waiting_on_a_lock",
    "ward",
    "with_database",
]
