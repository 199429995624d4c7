"""The browser tests' servers and Chromium, shared by the tests of a module."""

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


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[str]:
    """`python -m bedsvc serve` on a free port, on this session's database and Redis prefix."""
    yield from serve_bedsvc(settings)


@pytest.fixture
def fresh_server(settings: Settings, clean: None) -> Iterator[str]:
    """The same, started after the tables were emptied: its versions start from the data the
    test makes (a server that held a later version would not take the same versions again)."""
    yield from serve_bedsvc(settings)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    require_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()
