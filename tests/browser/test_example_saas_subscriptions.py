"""examples/saas_subscriptions end to end: sign-up in a real chromium with the Payment Element,
then access kept in the app's own database by invoice.paid, invoice.payment_failed (a dunning
notice) and customer.subscription.deleted."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from uuid import uuid4

import httpx
import pytest
import stripe
from playwright.sync_api import BrowserContext, Page, expect

from tests.conftest import BACKENDS
from tests.support.examples import ExampleApp, Stack, example_stack, post_event, wait_for

COOKIE = "saas_session"


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp(f"saas-{request.param}")
    with example_stack("saas_subscriptions", workdir, backend=request.param) as running:
        yield running


def subscription_row(app: ExampleApp, email: str) -> dict[str, object] | None:
    rows = app.query(
        "SELECT s.* FROM subscriptions s JOIN users u ON u.id = s.user_id WHERE u.email = ?", email
    )
    return dict(rows[0]) if rows else None


def fill_card(page: Page, number: str) -> None:
    page.locator("#payment-element input[name=number]").fill(number)
    page.locator("#payment-element input[name=expiry]").fill("12 / 34")
    page.locator("#payment-element input[name=cvc]").fill("123")
    page.locator("#payment-element input[name=postalCode]").fill("94107")


def subscribed_over_http(stack: Stack, plan: str = "starter") -> tuple[str, str]:
    """Sign up through the app's form and pay the first invoice with the SDK (no browser);
    returns the user's email and session cookie once invoice.paid has granted access."""
    email = f"{uuid4().hex[:10]}@example.com"
    response = httpx.post(stack.app.url + "/signup", data={"email": email, "plan": plan}, timeout=15)
    assert response.status_code == 303 and response.headers["location"] == "/pay"
    cookie = response.cookies[COOKIE]
    row = subscription_row(stack.app, email)
    assert row is not None and row["access"] == 0
    subscription = stack.client.v1.subscriptions.retrieve(
        str(row["id"]), {"expand": ["latest_invoice.confirmation_secret"]}
    )
    invoice = subscription.latest_invoice
    assert isinstance(invoice, stripe.Invoice) and invoice.confirmation_secret is not None
    intent_id = invoice.confirmation_secret.client_secret.split("_secret_")[0]
    stack.client.v1.payment_intents.confirm(intent_id, {"payment_method": "pm_card_visa"})
    wait_for(lambda: (subscription_row(stack.app, email) or {}).get("access") == 1,
             what="invoice.paid to grant access")
    return email, cookie


def test_sign_up_with_a_card_ends_with_an_active_subscription(
    stack: Stack, context: BrowserContext
) -> None:
    app = stack.app
    page = context.new_page()
    email = f"{uuid4().hex[:10]}@example.com"
    page.goto(app.url + "/")
    page.check("#plan-pro")
    page.fill("#email", email)
    page.click("#start")
    page.wait_for_url("**/pay")
    expect(page.locator("#amount")).to_have_text("$29.00")
    row = subscription_row(app, email)
    assert row is not None and row["status"] == "incomplete" and row["access"] == 0

    fill_card(page, "4242 4242 4242 4242")
    page.click("#submit")
    page.wait_for_url("**/account")

    active = wait_for(lambda: (r := subscription_row(app, email)) and r["access"] == 1 and r,
                      what="invoice.paid to grant access")
    assert active["status"] == "active" and active["plan"] == "pro"
    assert isinstance(active["current_period_end"], int)
    assert active["current_period_end"] > time.time() + 27 * 86400
    expect(page.locator("#access")).to_have_attribute("data-access", "on")

    subscription = stack.client.v1.subscriptions.retrieve(str(active["id"]))
    assert subscription.status == "active"
    assert subscription["items"].data[0].current_period_end == active["current_period_end"]
    assert subscription["items"].data[0].price.lookup_key == "saas_pro_monthly"
    # save_default_payment_method=on_subscription: the card paid with pays the renewals.
    assert subscription.default_payment_method is not None
    method = stack.client.v1.payment_methods.retrieve(str(subscription.default_payment_method))
    assert method.customer == subscription.customer and method.card is not None
    assert method.card.last4 == "4242"


def test_a_declined_first_payment_shows_the_decline_and_grants_nothing(
    stack: Stack, context: BrowserContext
) -> None:
    app = stack.app
    page = context.new_page()
    email = f"{uuid4().hex[:10]}@example.com"
    page.goto(app.url + "/")
    page.fill("#email", email)
    page.click("#start")
    page.wait_for_url("**/pay")
    fill_card(page, "4000 0000 0000 0002")
    page.click("#submit")
    expect(page.locator("#payment-message")).to_have_text("Your card was declined.")
    row = subscription_row(app, email)
    assert row is not None and row["access"] == 0 and row["dunning_notice"] is None


def fail_renewal(stack: Stack, subscription_id: str) -> None:
    """Make the card on file one that declines, and start a new period now: its invoice is
    charged at once and fails (invoice.payment_failed)."""
    subscription = stack.client.v1.subscriptions.retrieve(subscription_id)
    failing = stack.client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": str(subscription.customer)}
    )
    stack.client.v1.subscriptions.update(subscription_id, {"default_payment_method": failing.id})
    renewed = stack.client.v1.subscriptions.update(
        subscription_id, {"billing_cycle_anchor": "now", "proration_behavior": "none"}
    )
    assert renewed.status == "past_due"


def test_a_failed_renewal_shows_a_dunning_notice(stack: Stack, context: BrowserContext) -> None:
    app = stack.app
    email, cookie = subscribed_over_http(stack)
    row = subscription_row(app, email)
    assert row is not None
    fail_renewal(stack, str(row["id"]))

    notice = wait_for(lambda: (subscription_row(app, email) or {}).get("dunning_notice"),
                      what="invoice.payment_failed to raise the dunning notice")
    assert "update your card" in str(notice)
    context.add_cookies([{"name": COOKIE, "value": cookie, "url": app.url}])
    page = context.new_page()
    page.goto(app.url + "/account")
    expect(page.locator("#dunning-notice")).to_contain_text("Please update your card")
    expect(page.locator("#update-card")).to_be_visible()
    expect(page.locator("#access")).to_have_attribute("data-access", "on")


def test_a_new_card_from_the_dunning_notice_pays_what_is_due(
    stack: Stack, context: BrowserContext
) -> None:
    app = stack.app
    email, cookie = subscribed_over_http(stack)
    row = subscription_row(app, email)
    assert row is not None
    fail_renewal(stack, str(row["id"]))
    wait_for(lambda: (subscription_row(app, email) or {}).get("dunning_notice"),
             what="the dunning notice")

    context.add_cookies([{"name": COOKIE, "value": cookie, "url": app.url}])
    page = context.new_page()
    page.goto(app.url + "/account")
    page.click("#update-card")
    page.wait_for_url("**/account/card")
    fill_card(page, "4242 4242 4242 4242")
    page.click("#submit")
    page.wait_for_url("**/account")

    # setup_intent.succeeded -> new default card -> the open invoice paid -> invoice.paid.
    wait_for(lambda: (r := subscription_row(app, email)) and r["dunning_notice"] is None,
             what="invoice.paid to clear the dunning notice")
    subscription = stack.client.v1.subscriptions.retrieve(str(row["id"]))
    assert subscription.status == "active"
    method = stack.client.v1.payment_methods.retrieve(str(subscription.default_payment_method))
    assert method.card is not None and method.card.last4 == "4242"
    invoice = stack.client.v1.invoices.retrieve(str(subscription.latest_invoice))
    assert invoice.status == "paid"
    page.goto(app.url + "/account")
    expect(page.locator("#access")).to_have_attribute("data-access", "on")
    expect(page.locator("#dunning-notice")).to_have_count(0)


def test_cancelling_in_the_app_removes_access_through_the_webhook(
    stack: Stack, context: BrowserContext
) -> None:
    app = stack.app
    email, cookie = subscribed_over_http(stack)
    context.add_cookies([{"name": COOKIE, "value": cookie, "url": app.url}])
    page = context.new_page()
    page.goto(app.url + "/account")
    expect(page.locator("#access")).to_have_attribute("data-access", "on")
    page.click("#cancel-now")

    wait_for(lambda: (subscription_row(app, email) or {}).get("access") == 0,
             what="customer.subscription.deleted to remove access")
    row = subscription_row(app, email)
    assert row is not None and row["status"] == "canceled"
    assert stack.client.v1.subscriptions.retrieve(str(row["id"])).status == "canceled"
    page.goto(app.url + "/account")
    expect(page.locator("#access")).to_have_attribute("data-access", "off")


def test_bad_signature_is_refused_and_changes_nothing(stack: Stack) -> None:
    app = stack.app
    email, _ = subscribed_over_http(stack)
    row = subscription_row(app, email)
    assert row is not None
    forged = {
        "id": "evt_forged_saas", "object": "event", "type": "customer.subscription.deleted",
        "api_version": stripe.api_version, "created": 1, "livemode": False,
        "pending_webhooks": 0, "request": {"id": None, "idempotency_key": None},
        "data": {"object": {"id": row["id"], "object": "subscription", "status": "canceled"}},
    }
    payload = json.dumps(forged)
    assert post_event(app.url, payload, None).status_code == 400
    assert post_event(app.url, payload, "whsec_not_the_real_secret").status_code == 400
    assert app.query("SELECT 1 FROM processed_events WHERE id = 'evt_forged_saas'") == []
    assert subscription_row(app, email) == row


def test_a_redelivered_event_is_applied_once(stack: Stack) -> None:
    app = stack.app
    email, _ = subscribed_over_http(stack)
    row = subscription_row(app, email)
    assert row is not None
    events = stack.client.v1.events.list({"type": "invoice.paid", "limit": 100})
    paid = next(
        e for e in events.data
        if e.data.object["parent"]["subscription_details"]["subscription"] == row["id"]
    )
    fail_renewal(stack, str(row["id"]))
    wait_for(lambda: (subscription_row(app, email) or {}).get("dunning_notice"),
             what="the dunning notice")
    before = subscription_row(app, email)

    # Applied again, this invoice.paid would clear the notice and make the row active.
    payload = json.dumps(paid.to_dict(for_json=True))
    for _ in range(2):
        response = post_event(app.url, payload, stack.webhook_secret)
        assert response.status_code == 200
        assert response.json() == {"received": True, "duplicate": True}
    after = subscription_row(app, email)
    assert after == before
    assert after is not None and after["status"] == "past_due" and after["dunning_notice"]
