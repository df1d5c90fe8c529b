"""iDEAL and SEPA Direct Debit: through the API (both backends) and through the Payment
Element's tabs in a real browser (iDEAL redirects to the test authorization page; SEPA goes
processing, then a job settles it)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import stripe
from playwright.sync_api import Page, expect

from tests.browser.checkout_site import Site
from tests.browser.stripe_fixtures import billfold, browser, page, sdk, site
from tests.browser.test_stripe_js import result
from tests.support.server import Server

__all__ = ["billfold", "browser", "page", "sdk", "site"]  # fixtures, used by name


def euro_intent(sdk: stripe.StripeClient, types: list[str], amount: int = 1999) -> stripe.PaymentIntent:
    params: Any = {"amount": amount, "currency": "eur", "payment_method_types": types}
    return sdk.v1.payment_intents.create(params)


def settled(sdk: stripe.StripeClient, intent_id: str, timeout: float = 10.0) -> stripe.PaymentIntent:
    deadline = time.monotonic() + timeout
    while True:
        intent = sdk.v1.payment_intents.retrieve(intent_id)
        if intent.status != "processing" or time.monotonic() > deadline:
            return intent
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("iban", "outcome"),
    [("DE89370400440532013000", "succeeded"), ("AT861904300235473202", "requires_payment_method"),
     ("DE62370400440532013001", "requires_payment_method")],
)
def test_sepa_debit_settles_through_the_api(
    client: stripe.StripeClient, public_client: stripe.StripeClient, iban: str, outcome: str
) -> None:
    intent = euro_intent(client, ["sepa_debit"])
    method: Any = {"type": "sepa_debit", "sepa_debit": {"iban": iban},
                   "billing_details": {"name": "Jenny Rosen", "email": "jenny@example.com"}}
    pm = public_client.v1.payment_methods.create(method)
    confirm: Any = {"payment_method": pm.id, "client_secret": intent.client_secret}
    confirmed = public_client.v1.payment_intents.confirm(intent.id, confirm)
    assert confirmed.status == "processing"
    final = settled(client, intent.id)
    assert final.status == outcome
    charge = client.v1.charges.retrieve(str(final.latest_charge))
    assert charge.payment_method_details is not None
    assert charge.payment_method_details.type == "sepa_debit"
    if outcome == "succeeded":
        assert final.amount_received == 1999 and charge.paid and charge.status == "succeeded"
    else:
        assert charge.status == "failed"
        assert final.last_payment_error is not None
        assert final.last_payment_error.code == "payment_intent_payment_attempt_failed"


def test_ideal_redirects_and_needs_a_return_url(client: stripe.StripeClient) -> None:
    intent = euro_intent(client, ["ideal"])
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.confirm(
            intent.id, {"payment_method_data": {"type": "ideal", "ideal": {"bank": "ing"}}}
        )
    assert missing.value.param == "return_url"
    params: Any = {"payment_method_data": {"type": "ideal", "ideal": {"bank": "ing"}},
                   "return_url": "https://shop.example/done"}
    confirmed = client.v1.payment_intents.confirm(intent.id, params)
    assert confirmed.status == "requires_action"
    action = confirmed.next_action
    assert action is not None and action.type == "redirect_to_url"
    url = action.redirect_to_url.url  # type: ignore[union-attr]
    page = httpx.get(str(url))
    assert "Authorize test payment" in page.text and "iDEAL" in page.text
    answer = httpx.post(str(url).split("?")[0], data={
        "client_secret": str(intent.client_secret), "outcome": "complete"})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("https://shop.example/done?payment_intent=")
    assert "redirect_status=succeeded" in answer.headers["location"]
    paid = client.v1.payment_intents.retrieve(intent.id)
    assert paid.status == "succeeded" and paid.amount_received == 1999


def test_card_currency_rules_do_not_apply_to_banks(client: stripe.StripeClient) -> None:
    params: Any = {"amount": 1000, "currency": "usd", "payment_method_types": ["ideal"]}
    intent = client.v1.payment_intents.create(params)
    confirm: Any = {"payment_method_data": {"type": "ideal", "ideal": {"bank": "ing"}},
                    "return_url": "https://shop.example/done"}
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payment_intents.confirm(intent.id, confirm)
    assert "eur" in str(refused.value.user_message)


def open_checkout(page: Page, site: Site, billfold: Server, secret: str, **query: str) -> None:
    params = {"pk": billfold.publishable_key, "cs": secret, **query}
    page.goto(f"{site.url}/checkout?{urlencode(params)}")
    expect(page.locator("body[data-ready=yes]")).to_have_count(1)


def test_ideal_in_the_payment_element(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = euro_intent(sdk, ["card", "ideal", "sepa_debit"])
    open_checkout(page, site, billfold, str(intent.client_secret))
    element = page.locator("#payment-element")
    expect(element.locator("[role=tab]")).to_have_text(["Card", "iDEAL", "SEPA Debit"])
    element.locator("[data-testid=ideal]").click()
    assert page.evaluate("window.changes[window.changes.length - 1].value.type") == "ideal"
    page.click("#submit")
    expect(page.locator("#message")).to_have_text("Your full name is incomplete.")
    element.locator("input[name=name]").fill("Jan Jansen")
    element.locator("select[name=bank]").select_option("rabobank")
    page.click("#submit")
    page.wait_for_url(f"{billfold.url}/billfold/3ds/{intent.id}?**")
    expect(page.locator("#complete")).to_have_text("Authorize test payment")
    page.click("#complete")
    page.wait_for_url(f"{site.url}/complete?**")
    expect(page.locator("#message")).to_have_text("Returned: succeeded / succeeded")
    paid = sdk.v1.payment_intents.retrieve(intent.id)
    assert paid.status == "succeeded"
    method = sdk.v1.payment_methods.retrieve(str(paid.payment_method))
    assert method.ideal is not None and method.ideal.bank == "rabobank"
    assert method.billing_details.name == "Jan Jansen"


def test_ideal_failed_in_the_payment_element(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = euro_intent(sdk, ["ideal"])
    open_checkout(page, site, billfold, str(intent.client_secret), redirect="if_required")
    element = page.locator("#payment-element")
    expect(element.locator("[role=tab]")).to_have_count(0)
    element.locator("input[name=name]").fill("Jan Jansen")
    element.locator("select[name=bank]").select_option("ing")
    page.click("#submit")
    page.click("#fail")
    page.wait_for_url(f"{site.url}/complete?**")
    expect(page.locator("#message")).to_have_text("Returned: failed / requires_payment_method")


@pytest.mark.parametrize(
    ("iban", "outcome"),
    [("DE89370400440532013000", "succeeded"), ("AT861904300235473202", "requires_payment_method"),
     ("DE62370400440532013001", "requires_payment_method")],
)
def test_sepa_debit_in_the_payment_element(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient, iban: str, outcome: str
) -> None:
    intent = euro_intent(sdk, ["sepa_debit", "card"])
    open_checkout(page, site, billfold, str(intent.client_secret), redirect="if_required")
    element = page.locator("#payment-element")
    element.locator("input[name=name]").fill("Jenny Rosen")
    element.locator("input[name=email]").fill("jenny@example.com")
    iban_input = element.locator("input[name=iban]")
    iban_input.press_sequentially(iban[:-1] + ("1" if iban[-1] != "1" else "2"))
    expect(element.get_by_text("Your IBAN is invalid.")).to_be_visible()
    iban_input.fill("")
    iban_input.press_sequentially(iban)
    expect(element.get_by_text("Your IBAN is invalid.")).to_have_count(0)
    expect(element.get_by_text("authorise")).to_be_visible()
    page.click("#submit")
    expect(page.locator("#message")).to_have_text("Status: processing")
    assert result(page)["paymentIntent"]["status"] == "processing"
    final = settled(sdk, intent.id)
    assert final.status == outcome
    method = sdk.v1.payment_methods.retrieve(str(final.last_payment_error.payment_method.id)  # type: ignore[union-attr]
                                             if outcome != "succeeded" else str(final.payment_method))
    assert method.sepa_debit is not None and method.sepa_debit.last4 == iban[-4:]
    assert method.billing_details.email == "jenny@example.com"
