"""Browser fixtures shared by the end-to-end tests: one headless chromium per module, and a
fresh context (cookies, storage) per test at the screenshots' 1280x800.

The Stripe.js tests use fixtures of their own (tests/browser/stripe_fixtures.py), which record
every request a page makes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.browser import launch_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as instance:
        yield instance


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
