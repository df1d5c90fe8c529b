"""examples/marketplace end to end: a seller onboards through Billfold's Account Link page in a
real chromium, ``account.updated`` (a Connect webhook) enables them in the app's database, a
buyer pays a destination charge with the Payment Element, and the seller pays out.

Billfold runs with ``settlement_days=0`` so a card payment is available at once: the seller's
"Pay out" button pays out the available balance, which Stripe would otherwise hold for days.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import stripe
from playwright.sync_api import Page, expect

from tests.conftest import BACKENDS, new_server
from tests.support.examples import (
    ExampleApp,
    post_event,
    sign_payload,
    stripe_env,
    wait_for,
)
from tests.support.server import Server, drop_pg_database

FEE_PERCENT = 10


@dataclass
class Marketplace:
    billfold: Server
    client: stripe.StripeClient
    app: ExampleApp
    platform_endpoint: str
    platform_secret: str
    connect_secret: str


@pytest.fixture(scope="module", params=BACKENDS)
def market(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marketplace]:
    """A Billfold with a platform endpoint and a Connect endpoint, both at the app's /webhook."""
    workdir = tmp_path_factory.mktemp(f"marketplace-{request.param}")
    billfold = new_server(request.param, workdir)
    billfold.start()
    app = ExampleApp("marketplace", workdir)
    try:
        billfold.cli("settings", "set", "settlement_days=0")
        client = stripe.StripeClient(
            billfold.secret_key, base_addresses={"api": billfold.url}, max_network_retries=0
        )
        platform = client.v1.webhook_endpoints.create(
            {"url": f"{app.url}/webhook", "enabled_events": ["*"]}
        )
        connect = client.v1.webhook_endpoints.create(
            {"url": f"{app.url}/webhook", "enabled_events": ["account.updated"], "connect": True}
        )
        assert platform.secret and connect.secret and platform.secret != connect.secret
        app.env = {**stripe_env(billfold, platform.secret),
                   "STRIPE_CONNECT_WEBHOOK_SECRET": connect.secret}
        app.start()
        yield Marketplace(billfold, client, app, platform.id, platform.secret, connect.secret)
    finally:
        app.stop()
        billfold.stop()
        if billfold.backend == "postgres":
            drop_pg_database(billfold.database_url)


def seller_row(app: ExampleApp, seller_id: int) -> dict[str, object]:
    return dict(app.query("SELECT * FROM sellers WHERE id = ?", seller_id)[0])


def onboard_seller(page: Page, market: Marketplace, name: str) -> int:
    """Sign up in the app, complete Billfold's onboarding form, land back on the seller page."""
    app = market.app
    page.goto(app.url + "/sellers/new")
    page.fill("#name", name)
    page.fill("#email", f"{name.lower().replace(' ', '.')}@example.com")
    page.click("#sign-up")
    page.wait_for_url(f"{market.billfold.url}/billfold/connect/onboarding/*")
    expect(page.locator("h1")).to_have_text("Set up payments")
    page.click("#submit")
    page.wait_for_url(f"{app.url}/sellers/*?onboarding=returned")
    seller_id = int(page.url.split("/sellers/")[1].split("?")[0])
    # The page refreshes itself until the account.updated webhook has enabled the seller.
    expect(page.locator("#seller-status")).to_have_text("Ready to sell")
    return seller_id


def enabled_seller(page: Page, market: Marketplace) -> int:
    """A seller who can sell: one onboarded by an earlier test, or a new one."""
    rows = market.app.query("SELECT id FROM sellers WHERE charges_enabled ORDER BY id LIMIT 1")
    return int(rows[0]["id"]) if rows else onboard_seller(page, market, "Clay Corner")


def add_listing(page: Page, market: Marketplace, seller_id: int, title: str, price: str) -> int:
    page.goto(f"{market.app.url}/sellers/{seller_id}")
    page.fill("#title", title)
    page.fill("#price", price)
    page.click("#add-listing")
    page.wait_for_url(f"{market.app.url}/sellers/{seller_id}")
    rows = market.app.query("SELECT id FROM listings WHERE seller_id = ? AND title = ?",
                            seller_id, title)
    assert len(rows) == 1
    return int(rows[0]["id"])


def buy(page: Page, market: Marketplace, listing_id: int, card: str) -> int:
    """From the home page: open the listing, buy it, pay with ``card``; returns the order id."""
    page.goto(market.app.url + "/")
    page.click(f"#listing-{listing_id}")
    page.fill("#email", "buyer@example.com")
    page.click("#buy")
    page.wait_for_url("**/orders/*/checkout")
    order_id = int(page.url.rstrip("/").split("/")[-2])
    page.locator("#payment-element input[name=number]").fill(card)
    page.locator("#payment-element input[name=expiry]").fill("12 / 34")
    page.locator("#payment-element input[name=cvc]").fill("123")
    page.locator("#payment-element input[name=postalCode]").fill("94107")
    page.click("#submit")
    return order_id


def usd(balance: stripe.Balance, which: str) -> int:
    return sum(entry.amount for entry in getattr(balance, which) if entry.currency == "usd")


def test_seller_onboarding_enables_charges_through_the_connect_webhook(
    market: Marketplace, page: Page
) -> None:
    app = market.app
    seller_id = onboard_seller(page, market, "Oak and Iron")
    seller = seller_row(app, seller_id)
    assert seller["charges_enabled"] == 1 and seller["payouts_enabled"] == 1
    assert seller["details_submitted"] == 1

    account_id = str(seller["stripe_account_id"])
    account = market.client.v1.accounts.retrieve(account_id)
    assert account.type == "express" and account.charges_enabled is True
    assert account.email == "oak.and.iron@example.com"
    applied = app.query(
        "SELECT id FROM processed_events WHERE type = 'account.updated' AND account = ?", account_id
    )
    assert applied, "charges_enabled came from a recorded account.updated event"
    # The seller page reads the connected account's (empty) balance and payouts.
    expect(page.locator("#balance-available")).to_have_text("$0.00")
    expect(page.locator("#no-payouts")).to_be_visible()
    expect(page.locator("#pay-out")).to_be_disabled()


def test_a_seller_who_has_not_onboarded_sells_nothing(market: Marketplace) -> None:
    app = market.app
    signed_up = httpx.post(app.url + "/sellers", data={"name": "Half Done", "email": "h@example.com"})
    assert signed_up.status_code == 303 and signed_up.headers["location"].endswith("/onboard")
    seller_id = int(signed_up.headers["location"].split("/")[2])
    onboarding = httpx.get(app.url + signed_up.headers["location"])
    assert onboarding.status_code == 303
    assert onboarding.headers["location"].startswith(market.billfold.url + "/billfold/connect/")
    listed = httpx.post(f"{app.url}/sellers/{seller_id}/listings",
                        data={"title": "Unfinished stool", "price": "40"})
    assert listed.status_code == 303
    listing_id = app.query("SELECT id FROM listings WHERE seller_id = ?", seller_id)[0]["id"]
    assert seller_row(app, seller_id)["charges_enabled"] == 0
    assert httpx.get(f"{app.url}/listings/{listing_id}").status_code == 404
    assert "Unfinished stool" not in httpx.get(app.url + "/").text
    assert httpx.post(f"{app.url}/listings/{listing_id}/orders", data={}).status_code == 404
    assert app.query("SELECT 1 FROM orders WHERE listing_id = ?", listing_id) == []


def test_a_destination_charge_pays_the_seller_less_the_fee_and_the_seller_pays_out(
    market: Marketplace, page: Page
) -> None:
    app, client = market.app, market.client
    seller_id = onboard_seller(page, market, "Walnut Works")
    account_id = str(seller_row(app, seller_id)["stripe_account_id"])
    listing_id = add_listing(page, market, seller_id, "Walnut cutting board", "120.00")
    fees_before = {fee.id for fee in client.v1.application_fees.list({"limit": 100}).data}

    order_id = buy(page, market, listing_id, "4242 4242 4242 4242")
    page.wait_for_url(f"{app.url}/orders/{order_id}")
    expect(page.locator("#order-status")).to_have_text("Paid")
    order = dict(app.query("SELECT * FROM orders WHERE id = ?", order_id)[0])
    assert order["status"] == "paid" and order["fulfilled_at"] is not None
    assert order["amount"] == 12_000 and order["application_fee_amount"] == 1_200

    intent = client.v1.payment_intents.retrieve(str(order["payment_intent_id"]))
    assert intent.status == "succeeded" and intent.amount_received == 12_000
    assert intent.transfer_data is not None and intent.transfer_data.destination == account_id
    assert intent.application_fee_amount == 1_200

    # The seller got the price less the platform's fee; the platform got the fee.
    as_seller: stripe.RequestOptions = {"stripe_account": account_id}
    seller_balance = client.v1.balance.retrieve(options=as_seller)
    assert usd(seller_balance, "available") == 10_800 and usd(seller_balance, "pending") == 0
    new_fees = [fee for fee in client.v1.application_fees.list({"limit": 100}).data
                if fee.id not in fees_before]
    assert [(fee.amount, fee.account) for fee in new_fees] == [(1_200, account_id)]

    # The seller's page shows that balance and pays it out.
    page.goto(f"{app.url}/sellers/{seller_id}")
    expect(page.locator("#balance-available")).to_have_text("$108.00")
    expect(page.locator("#sales")).to_contain_text("$12.00")
    page.click("#pay-out")
    expect(page.locator("#notice")).to_contain_text("Payout created")
    rows = page.locator("#payouts tr.payout")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".payout-amount")).to_have_text("$108.00")
    expect(page.locator("#balance-available")).to_have_text("$0.00")

    payouts = client.v1.payouts.list(options=as_seller).data
    assert [(p.amount, p.currency) for p in payouts] == [(10_800, "usd")]
    assert rows.first.get_attribute("data-id") == payouts[0].id
    assert usd(client.v1.balance.retrieve(options=as_seller), "available") == 0


def test_a_declined_card_leaves_the_order_unpaid(market: Marketplace, page: Page) -> None:
    app = market.app
    seller_id = enabled_seller(page, market)
    listing_id = add_listing(page, market, seller_id, "Stoneware bowl", "35")
    order_id = buy(page, market, listing_id, "4000 0000 0000 0002")
    expect(page.locator("#payment-message")).to_have_text("Your card was declined.")
    failed = wait_for(
        lambda: app.query("SELECT * FROM orders WHERE id = ? AND failed_attempts > 0", order_id),
        what="payment_intent.payment_failed to record the attempt",
    )[0]
    assert failed["status"] == "pending" and failed["paid_at"] is None
    assert failed["last_error"] == "Your card was declined."


def listing_over_http(market: Marketplace) -> int:
    """A listing for sale, set up without a browser: sign up, post Billfold's onboarding form
    as the browser would, wait for the webhook, add the listing."""
    app = market.app
    rows = app.query(
        "SELECT listings.id FROM listings JOIN sellers ON sellers.id = listings.seller_id "
        "WHERE sellers.charges_enabled ORDER BY listings.id LIMIT 1"
    )
    if rows:
        return int(rows[0]["id"])
    signed_up = httpx.post(app.url + "/sellers", data={"name": "Forge Hall",
                                                       "email": "forge@example.com"})
    seller_id = int(signed_up.headers["location"].split("/")[2])
    link_url = httpx.get(app.url + signed_up.headers["location"]).headers["location"]
    form = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', httpx.get(link_url).text))
    assert httpx.post(link_url, data=form).status_code == 303
    wait_for(lambda: seller_row(app, seller_id)["charges_enabled"], what="account.updated")
    httpx.post(f"{app.url}/sellers/{seller_id}/listings", data={"title": "Iron hook",
                                                                "price": "9.50"})
    return int(app.query("SELECT id FROM listings WHERE seller_id = ?", seller_id)[0]["id"])


def _order_over_http(market: Marketplace) -> int:
    listing_id = listing_over_http(market)
    created = httpx.post(f"{market.app.url}/listings/{listing_id}/orders", data={}, timeout=10)
    assert created.status_code == 303
    return int(created.headers["location"].split("/")[2])


def test_bad_signature_is_refused_and_changes_nothing(market: Marketplace) -> None:
    app = market.app
    order_id = _order_over_http(market)
    order = dict(app.query("SELECT * FROM orders WHERE id = ?", order_id)[0])
    forged = {
        "id": "evt_forged_marketplace", "object": "event", "type": "payment_intent.succeeded",
        "api_version": stripe.api_version, "created": 1, "livemode": False,
        "pending_webhooks": 0, "request": {"id": None, "idempotency_key": None},
        "data": {"object": {
            "id": order["payment_intent_id"], "object": "payment_intent", "currency": "usd",
            "amount_received": order["amount"], "metadata": {"order_id": str(order_id)},
            "application_fee_amount": order["application_fee_amount"],
        }},
    }
    payload = json.dumps(forged)
    assert post_event(app.url, payload, None).status_code == 400
    assert post_event(app.url, payload, "whsec_not_the_real_secret").status_code == 400
    # Signed right but altered after signing: the signature covers the exact bytes.
    signed_then_changed = httpx.post(
        app.url + "/webhook", content=payload.replace("usd", "eur").encode(),
        headers={"Stripe-Signature": sign_payload(payload, market.platform_secret)},
    )
    assert signed_then_changed.status_code == 400
    assert app.query("SELECT 1 FROM processed_events WHERE id = 'evt_forged_marketplace'") == []
    assert app.query("SELECT status FROM orders WHERE id = ?", order_id)[0]["status"] == "pending"


def test_a_replayed_event_is_applied_once(market: Marketplace) -> None:
    """An event the app has not seen (its endpoint was disabled), delivered twice by hand."""
    app, client = market.app, market.client
    order_id = _order_over_http(market)
    intent_id = str(app.query("SELECT payment_intent_id FROM orders WHERE id = ?",
                              order_id)[0]["payment_intent_id"])
    client.v1.webhook_endpoints.update(market.platform_endpoint, {"disabled": True})
    try:
        with pytest.raises(stripe.CardError):
            client.v1.payment_intents.confirm(intent_id, {"payment_method": "pm_card_chargeDeclined"})
    finally:
        client.v1.webhook_endpoints.update(market.platform_endpoint, {"disabled": False})
    events = client.v1.events.list({"type": "payment_intent.payment_failed", "limit": 100}).data
    event = next(e for e in events if e.data.object["id"] == intent_id)
    assert app.query("SELECT 1 FROM processed_events WHERE id = ?", event.id) == []
    payload = json.dumps(event.to_dict(for_json=True))

    first = post_event(app.url, payload, market.platform_secret)
    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    second = post_event(app.url, payload, market.platform_secret)
    assert second.status_code == 200 and second.json() == {"received": True, "duplicate": True}
    order = app.query("SELECT * FROM orders WHERE id = ?", order_id)[0]
    assert order["failed_attempts"] == 1 and order["status"] == "pending"
    assert len(app.query("SELECT 1 FROM processed_events WHERE id = ?", event.id)) == 1

    # A Connect event is verified with the Connect endpoint's secret.
    connect_event = client.v1.events.list(
        {"type": "account.updated", "limit": 1},
        options={"stripe_account": str(app.query("SELECT stripe_account_id FROM sellers "
                                                 "WHERE charges_enabled LIMIT 1")[0][0])},
    ).data[0]
    replay = json.dumps(connect_event.to_dict(for_json=True))
    assert post_event(app.url, replay, market.connect_secret).json()["duplicate"] is True
