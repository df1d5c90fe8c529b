"""examples/ecommerce_checkout end to end: a real chromium pays for an order on the example's
checkout page (Billfold's Stripe.js), and the order is fulfilled only by the webhook."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import stripe
from playwright.sync_api import Page, expect

from tests.conftest import BACKENDS
from tests.support.examples import ExampleApp, Stack, example_stack, post_event, wait_for

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "checkout.png"


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp(f"ecommerce-{request.param}")
    with example_stack("ecommerce_checkout", workdir, backend=request.param) as running:
        yield running


def order_row(app: ExampleApp, order_id: int) -> dict[str, object]:
    return dict(app.query("SELECT * FROM orders WHERE id = ?", order_id)[0])


def place_order(page: Page, app: ExampleApp, **quantities: int) -> int:
    """Fill the cart on the shop page and check out; returns the new order's id."""
    page.goto(app.url + "/")
    for sku, quantity in quantities.items():
        page.fill(f"#quantity_{sku}", str(quantity))
    page.fill("#email", "shopper@example.com")
    page.click("#place-order")
    page.wait_for_url("**/orders/*/checkout")
    return int(page.url.rstrip("/").split("/")[-2])


def fill_card(page: Page, number: str) -> None:
    # Billfold's Payment Element draws its fields in an open shadow root; CSS selectors pierce it.
    card = page.locator("#payment-element input[name=number]")
    card.fill(number)
    page.locator("#payment-element input[name=expiry]").fill("12 / 34")
    page.locator("#payment-element input[name=cvc]").fill("123")
    page.locator("#payment-element input[name=postalCode]").fill("94107")


def test_card_payment_fulfils_the_order_through_the_webhook(stack: Stack, page: Page) -> None:
    app = stack.app
    order_id = place_order(page, app, mug=2, lamp=1)
    expected = 2 * 1800 + 4500
    assert order_row(app, order_id)["amount"] == expected
    expect(page.locator("#total")).to_have_text("$81.00")

    fill_card(page, "4242 4242 4242 4242")
    if os.environ.get("BILLFOLD_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    page.click("#submit")
    page.wait_for_url(f"**/orders/{order_id}/complete?payment_intent=*")

    paid = wait_for(
        lambda: app.query("SELECT * FROM orders WHERE id = ? AND status = 'paid'", order_id),
        what="payment_intent.succeeded to mark the order paid",
    )[0]
    assert paid["fulfilled_at"] is not None
    expect(page.locator("#order-status")).to_have_attribute("data-status", "paid")

    intent = stack.client.v1.payment_intents.retrieve(str(paid["payment_intent_id"]))
    assert intent.status == "succeeded"
    assert intent.amount == expected and intent.amount_received == expected
    assert intent.metadata["order_id"] == str(order_id)
    processed = app.query(
        "SELECT id FROM processed_events WHERE type = 'payment_intent.succeeded'"
    )
    assert processed, "the fulfilment came from a recorded webhook event"


def test_three_d_secure_card_completes_through_the_challenge(stack: Stack, page: Page) -> None:
    app = stack.app
    order_id = place_order(page, app, socks=1)
    fill_card(page, "4000 0025 0000 3155")
    page.click("#submit")

    challenge = page.frame_locator("iframe[name=billfold-3ds-challenge]")
    challenge.locator("#complete").click()
    page.wait_for_url(f"**/orders/{order_id}/complete?payment_intent=*")

    paid = wait_for(
        lambda: app.query("SELECT * FROM orders WHERE id = ? AND status = 'paid'", order_id),
        what="the authenticated payment to fulfil the order",
    )[0]
    assert paid["amount"] == 2400 and paid["fulfilled_at"] is not None
    intent = stack.client.v1.payment_intents.retrieve(str(paid["payment_intent_id"]))
    assert intent.status == "succeeded"


def test_declined_card_shows_the_decline_and_the_order_stays_unpaid(
    stack: Stack, page: Page
) -> None:
    app = stack.app
    order_id = place_order(page, app, mug=1)
    fill_card(page, "4000 0000 0000 0002")
    page.click("#submit")

    expect(page.locator("#payment-message")).to_have_text("Your card was declined.")
    assert page.url.endswith(f"/orders/{order_id}/checkout")
    failure = wait_for(
        lambda: app.query("SELECT * FROM failed_payments WHERE order_id = ?", order_id),
        what="payment_intent.payment_failed to record the attempt",
    )[0]
    assert failure["decline_code"] == "generic_decline"
    assert failure["message"] == "Your card was declined."
    order = order_row(app, order_id)
    assert order["status"] == "pending" and order["paid_at"] is None
    assert order["fulfilled_at"] is None


def _order_over_http(app: ExampleApp) -> int:
    response = httpx.post(app.url + "/orders", data={"quantity_lamp": "1", "email": "buyer@example.com"}, timeout=10)
    assert response.status_code == 303
    return int(response.headers["location"].split("/")[2])


def test_bad_signature_is_refused_and_changes_nothing(stack: Stack) -> None:
    app = stack.app
    order_id = _order_over_http(app)
    intent_id = str(order_row(app, order_id)["payment_intent_id"])
    forged = {
        "id": "evt_forged_1", "object": "event", "type": "payment_intent.succeeded",
        "api_version": stripe.api_version, "created": 1, "livemode": False,
        "pending_webhooks": 0, "request": {"id": None, "idempotency_key": None},
        "data": {"object": {"id": intent_id, "object": "payment_intent", "amount_received": 4500,
                            "currency": "usd", "metadata": {"order_id": str(order_id)}}},
    }
    payload = json.dumps(forged)
    assert post_event(app.url, payload, None).status_code == 400
    assert post_event(app.url, payload, "whsec_not_the_real_secret").status_code == 400
    assert app.query("SELECT 1 FROM processed_events WHERE id = 'evt_forged_1'") == []
    assert order_row(app, order_id)["status"] == "pending"


def test_a_redelivered_event_is_applied_once(stack: Stack) -> None:
    app = stack.app
    order_id = _order_over_http(app)
    intent_id = str(order_row(app, order_id)["payment_intent_id"])
    with pytest.raises(stripe.CardError):
        stack.client.v1.payment_intents.confirm(intent_id, {"payment_method": "pm_card_chargeDeclined"})
    wait_for(lambda: app.query("SELECT 1 FROM failed_payments WHERE order_id = ?", order_id),
             what="the failed attempt's webhook")

    events = stack.client.v1.events.list({"type": "payment_intent.payment_failed", "limit": 100})
    event = next(e for e in events.data if e.data.object["id"] == intent_id)
    payload = json.dumps(event.to_dict(for_json=True))
    for _ in range(2):
        response = post_event(app.url, payload, stack.webhook_secret)
        assert response.status_code == 200
        assert response.json() == {"received": True, "duplicate": True}
    rows = app.query("SELECT event_id FROM failed_payments WHERE order_id = ?", order_id)
    assert [row["event_id"] for row in rows] == [event.id]
