"""The dashboard in a real browser: log in with the secret key, find the payment made through
the SDK, read its timeline and webhook delivery attempts, and resend an event.

``BILLFOLD_SCREENSHOTS=1`` also saves the payment page to ``docs/screenshots/dashboard.png``
(1280x800); without it the test runs and asserts just the same.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import stripe
from playwright.sync_api import Browser, Page, expect

from tests.conftest import new_server
from tests.events.conftest import Receiver
from tests.support.server import Server

TYPES = ["payment_intent.succeeded", "charge.succeeded", "charge.refunded",
         "charge.dispute.created", "refund.created"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "dashboard.png"


@dataclass
class Shop:
    server: Server
    client: stripe.StripeClient
    receiver: Receiver
    intent: stripe.PaymentIntent
    refund: stripe.Refund


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """A server with a few days' worth of a small shop's payments; the first webhook fails once."""
    server = new_server("sqlite", tmp_path_factory.mktemp("dashboard-browser")).start()
    receiver = Receiver().start()
    try:
        client = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url},
                                     max_network_retries=0)
        client.v1.webhook_endpoints.create({
            "url": receiver.url,
            "enabled_events": TYPES,
        })
        people = [("Ada Lovelace", "ada@example.com"), ("Grace Hopper", "grace@example.com"),
                  ("Alan Turing", "alan@example.com")]
        customers = [client.v1.customers.create({"name": n, "email": e}) for n, e in people]
        client.v1.payment_intents.create({
            "amount": 1999, "currency": "usd", "payment_method": "pm_card_createDispute",
            "confirm": True, "customer": customers[2].id, "description": "Analytical engine manual",
        })
        client.v1.payment_intents.create({
            "amount": 89000, "currency": "jpy", "payment_method": "pm_card_visa", "confirm": True,
            "customer": customers[1].id, "description": "Compiler workshop seat",
        })
        so_far = len(client.v1.events.list({"types": TYPES, "limit": 100}).data)
        receiver.wait_for(lambda r: len(r.requests) >= so_far, 60)
        receiver.fail_first = 1  # the receiver is down for the next delivery; the retry works
        intent = client.v1.payment_intents.create({
            "amount": 12500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
            "customer": customers[0].id, "description": "Order #1843: difference engine parts",
        })
        refund = client.v1.refunds.create(
            {"payment_intent": intent.id, "amount": 2500, "reason": "requested_by_customer"}
        )
        wanted = client.v1.events.list({"types": TYPES, "limit": 100}).data
        # Every event once, and the one that met the down receiver a second time.
        receiver.wait_for(lambda r: len(r.requests) >= len(wanted) + 1, 60)
        yield Shop(server, client, receiver, intent, refund)
    finally:
        receiver.stop()
        server.stop()


def _log_in(page: Page, shop: Shop) -> None:
    page.goto(f"{shop.server.url}/dashboard/payments")
    expect(page).to_have_url(f"{shop.server.url}/dashboard/login?next=%2Fdashboard%2Fpayments")
    page.fill("#credential", shop.server.secret_key)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{shop.server.url}/dashboard/payments")


def test_payment_timeline_and_deliveries_after_login(browser: Browser, shop: Shop) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _log_in(page, shop)
    row = page.locator("table.list tr", has_text="difference engine parts")
    expect(row).to_contain_text("$125.00")
    expect(row).to_contain_text("Ada Lovelace")
    expect(page.locator("table.list")).to_contain_text("¥89,000")
    row.get_by_role("link", name="Order #1843: difference engine parts").click()
    expect(page).to_have_url(f"{shop.server.url}/dashboard/payments/{shop.intent.id}")
    expect(page.locator("h1.headline")).to_contain_text("$125.00")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Payment intent created")
    expect(timeline).to_contain_text("Charge succeeded")
    expect(timeline).to_contain_text("Refund succeeded")
    expect(timeline).to_contain_text("charge.refunded")
    expect(page.locator("body")).to_contain_text(shop.refund.id)
    expect(page.locator("body")).to_contain_text("$25.00")
    # The delivery that met a down receiver shows both attempts: the 500, then the 200.
    failed_once = page.locator("table.deliveries tr.attempt", has_text="500")
    expect(failed_once.first).to_be_visible()
    expect(page.locator("table.deliveries").first).to_contain_text(shop.receiver.url)
    expect(page.locator("table.deliveries .code.good", has_text="200").first).to_be_visible()
    if os.environ.get("BILLFOLD_SCREENSHOTS"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    page.close()


def test_events_page_resend(browser: Browser, shop: Shop) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _log_in(page, shop)
    page.get_by_role("link", name="Events", exact=True).click()
    page.fill("#type", "charge.refunded")
    page.get_by_role("button", name="Filter").click()
    page.locator("table.list a", has_text="charge.refunded").first.click()
    expect(page.locator("h1")).to_contain_text("charge.refunded")
    event_id = page.url.rsplit("/", 1)[1]
    sent = [r for r in shop.receiver.requests if r.event["id"] == event_id]
    assert len(sent) == 1
    page.get_by_role("button", name="Resend").first.click()
    expect(page.locator(".notice.success")).to_contain_text("queued for delivery again")
    shop.receiver.wait_for(lambda r: sum(1 for x in r.requests if x.event["id"] == event_id) == 2, 60)
    page.reload()
    expect(page.locator("table.deliveries .code.good", has_text="200")).to_have_count(2)
    page.close()


def test_pages_refuse_a_browser_without_login(browser: Browser, shop: Shop) -> None:
    page = browser.new_page()
    for path in ("/dashboard/events", f"/dashboard/payments/{shop.intent.id}", "/dashboard/radar"):
        page.goto(shop.server.url + path)
        expect(page.locator("#credential")).to_be_visible()
        expect(page.locator("body")).not_to_contain_text(shop.intent.id)
    page.close()
