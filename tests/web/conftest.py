"""The browser tests' server and Chromium, shared by the tests of a module.

Each module that uses the server is an xdist group of its own, so that its tests run on one
pytest-xdist worker and share one server; every test still starts from empty tables."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from bedsvc.settings import Settings
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    require_chromium,
    serve_bedsvc,
)
from tests.support.servers import empty_state
from tests.support.waits import eventually


@pytest.fixture
async def clean(settings: Settings, request: pytest.FixtureRequest) -> None:
    """Empty tables, and the cache left as rebuilt from them; a test on the module's server
    starts once that server has followed (its pages read what its worker holds, and a hospital
    of the test before would otherwise show until the worker's change feed caught up)."""
    await empty_state(settings, rebuilt=True)
    if "server" not in request.fixturenames:
        return
    base_url: str = request.getfixturevalue("server")

    async def listed() -> list[object]:
        async with httpx.AsyncClient(base_url=base_url) as http:
            hospitals: list[object] = (await http.get("/api/v1/availability")).json()["hospitals"]
            return hospitals

    await eventually(listed, lambda hospitals: not hospitals, "the server to list no hospital")


@pytest.fixture(scope="module")
def server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_bedsvc(settings, tmp_path_factory.mktemp("server")) as served:
        yield served.base_url


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    require_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture(autouse=True)
async def pages_closed_after_each_test(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """The pages a test opened are closed when it ends: left open, each would keep its live
    stream, polls and timers running (and the module's server sending to it) through the
    module's later tests."""
    yield
    if "browser" in request.fixturenames:
        browser: Browser = request.getfixturevalue("browser")
        for context in browser.contexts:
            await context.close()
