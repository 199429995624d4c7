"""The browser tests' server and Chromium, shared by the tests of a module.

Each module that uses the server is an xdist group of its own, so that its tests run on one
pytest-xdist worker and share one server; every test still starts from empty tables."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

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


@pytest.fixture
async def clean(settings: Settings) -> None:
    """Empty tables, and the cache left as rebuilt from them: the module's server reloads."""
    await empty_state(settings, rebuilt=True)


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
