"""Fixtures for the Stripe.js browser tests (imported by name by the modules that use them):
one Billfold (SQLite) and one headless chromium per module, and a merchant's checkout pages
on another origin that load Billfold's ``/v3/`` script."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.checkout_site import Site, checkout_site
from tests.support.browser import launch_chromium
from tests.support.server import Server


@pytest.fixture(scope="module")
def billfold(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("billfold-browser")
    instance = Server(backend="sqlite", database_url=str(workdir / "billfold.db"), workdir=workdir)
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def sdk(billfold: Server) -> stripe.StripeClient:
    return stripe.StripeClient(
        billfold.secret_key, base_addresses={"api": billfold.url}, max_network_retries=0
    )


@pytest.fixture(scope="module")
def site(billfold: Server) -> Iterator[Site]:
    with checkout_site(billfold.url) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as running:
        yield running


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    context: BrowserContext = browser.new_context()
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()
