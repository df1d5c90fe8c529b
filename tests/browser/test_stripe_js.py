"""Billfold's Stripe.js (``/v3/``) in a real browser: a merchant page on another origin loads it,
collects a card with the Payment Element or the card Element, and pays through Billfold with
only the publishable key and the client secret. Outcomes are checked with the secret-key SDK."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import stripe
from playwright.sync_api import Page, Request, expect

from tests.browser.checkout_site import Site
from tests.browser.stripe_fixtures import billfold, browser, page, sdk, site
from tests.support.server import Server

__all__ = ["billfold", "browser", "page", "sdk", "site"]  # fixtures, used by name


def new_intent(sdk: stripe.StripeClient, amount: int = 2000) -> stripe.PaymentIntent:
    params: dict[str, Any] = {"amount": amount, "currency": "usd", "payment_method_types": ["card"]}
    return sdk.v1.payment_intents.create(params)  # type: ignore[arg-type]


class Recorder:
    """Every request the page sends to Billfold, with its Authorization header."""

    def __init__(self, page: Page, billfold: Server) -> None:
        self.auth: list[str] = []
        self.paths: list[str] = []
        self.base = billfold.url

        def seen(request: Request) -> None:
            if request.url.startswith(self.base + "/v1/"):
                self.auth.append(request.headers.get("authorization", ""))
                self.paths.append(request.method + " " + request.url[len(self.base):].split("?")[0])

        page.on("request", seen)


def open_checkout(page: Page, site: Site, billfold: Server, secret: str, **query: str) -> Recorder:
    recorder = Recorder(page, billfold)
    params = {"pk": billfold.publishable_key, "cs": secret, **query}
    page.goto(f"{site.url}/checkout?{urlencode(params)}")
    expect(page.locator("body[data-ready=yes]")).to_have_count(1)
    return recorder


def fill_card(page: Page, number: str, expiry: str = "12 / 34", cvc: str = "123", postal: str = "94103") -> None:
    element = page.locator("#payment-element")
    element.locator("input[name=number]").press_sequentially(number)
    element.locator("input[name=expiry]").press_sequentially(expiry)
    element.locator("input[name=cvc]").press_sequentially(cvc)
    element.locator("input[name=postalCode]").press_sequentially(postal)


def result(page: Page) -> dict[str, Any]:
    expect(page.locator("#result")).not_to_be_empty()
    found: dict[str, Any] = json.loads(page.locator("#result").inner_text())
    return found


def only_publishable(recorder: Recorder, billfold: Server) -> None:
    assert recorder.auth, "the page made no API calls"
    assert set(recorder.auth) == {f"Bearer {billfold.publishable_key}"}


def test_v3_serves_the_script(billfold: Server) -> None:
    for path in ("/v3/", "/v3"):
        response = httpx.get(billfold.url + path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/javascript")
        assert "max-age" in response.headers["cache-control"]
        assert response.headers["access-control-allow-origin"] == "*"
        assert "confirmPayment" in response.text and "window.Stripe" in response.text
    etag = httpx.get(billfold.url + "/v3/").headers["etag"]
    again = httpx.get(billfold.url + "/v3/", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_a_card_pays_with_the_payment_element(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    recorder = open_checkout(page, site, billfold, str(intent.client_secret), redirect="if_required")
    fill_card(page, "4242424242424242")
    page.click("#submit")
    expect(page.locator("#message")).to_have_text("Status: succeeded")
    assert result(page)["paymentIntent"]["id"] == intent.id
    paid = sdk.v1.payment_intents.retrieve(intent.id)
    assert paid.status == "succeeded" and paid.amount_received == 2000
    method = sdk.v1.payment_methods.retrieve(str(paid.payment_method))
    assert method.card is not None and method.card.last4 == "4242" and method.card.exp_year == 2034
    assert method.billing_details.address is not None
    assert method.billing_details.address.postal_code == "94103"
    assert method.billing_details.address.country == "US"
    only_publishable(recorder, billfold)
    assert f"POST /v1/payment_intents/{intent.id}/confirm" in recorder.paths
    assert "POST /v1/payment_methods" in recorder.paths


def test_redirect_always_returns_to_the_return_url(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    open_checkout(page, site, billfold, str(intent.client_secret))
    fill_card(page, "4242424242424242")
    page.click("#submit")
    page.wait_for_url(f"{site.url}/complete?**")
    assert f"payment_intent={intent.id}" in page.url
    assert "redirect_status=succeeded" in page.url
    expect(page.locator("#message")).to_have_text("Returned: succeeded / succeeded")


def test_a_decline_shows_stripes_message(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    recorder = open_checkout(page, site, billfold, str(intent.client_secret), redirect="if_required")
    fill_card(page, "4000000000000002")
    page.click("#submit")
    expect(page.locator("#message")).to_have_text("Your card was declined.")
    error = result(page)["error"]
    assert error["type"] == "card_error"
    assert error["code"] == "card_declined" and error["decline_code"] == "generic_decline"
    assert error["payment_intent"]["id"] == intent.id
    assert sdk.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"
    only_publishable(recorder, billfold)


def test_insufficient_funds_message(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    open_checkout(page, site, billfold, str(intent.client_secret), redirect="if_required")
    fill_card(page, "4000000000009995")
    page.click("#submit")
    expect(page.locator("#message")).to_have_text("Your card has insufficient funds.")
    assert result(page)["error"]["decline_code"] == "insufficient_funds"
    assert sdk.v1.payment_intents.retrieve(intent.id).status != "succeeded"


def test_live_validation_while_typing_blocks_submit(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    recorder = open_checkout(page, site, billfold, str(intent.client_secret), redirect="if_required")
    element = page.locator("#payment-element")
    number = element.locator("input[name=number]")
    number.press_sequentially("4242424242424241")
    expect(element.get_by_text("Your card number is invalid.")).to_be_visible()
    expect(number).to_have_value("4242 4242 4242 4241")
    expiry = element.locator("input[name=expiry]")
    expiry.press_sequentially("1220")
    expect(expiry).to_have_value("12 / 20")
    expect(element.get_by_text("Your card's expiration year is in the past.")).to_be_visible()
    element.locator("input[name=cvc]").press_sequentially("12")
    element.locator("input[name=postalCode]").press_sequentially("94103")
    expect(element.get_by_text("Your card's security code is incomplete.")).to_be_visible()
    change = page.evaluate("window.changes[window.changes.length - 1]")
    assert change["elementType"] == "payment" and change["complete"] is False
    assert change["empty"] is False and change["value"] == {"type": "card"}
    page.click("#submit")
    expect(page.locator("#message")).to_have_text("Your card number is invalid.")
    assert result(page)["submitError"]["type"] == "validation_error"
    assert not any("/confirm" in path or "payment_methods" in path for path in recorder.paths)
    # Fixed, the same form pays.
    number.fill("")
    number.press_sequentially("4242424242424242")
    expiry.fill("")
    expiry.press_sequentially("1234")
    element.locator("input[name=cvc]").press_sequentially("3")
    expect(element.locator(".error:not(:empty)")).to_have_count(0)
    assert page.evaluate("window.changes[window.changes.length - 1].complete") is True
    page.click("#submit")
    expect(page.locator("#message")).to_have_text("Status: succeeded")
    assert sdk.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_empty_form_reports_incomplete_number(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    open_checkout(page, site, billfold, str(intent.client_secret), redirect="if_required")
    page.click("#submit")
    expect(page.locator("#message")).to_have_text("Your card number is incomplete.")
    element = page.locator("#payment-element")
    expect(element.get_by_text("Your card's expiration date is incomplete.")).to_be_visible()
    expect(element.get_by_text("Your card's security code is incomplete.")).to_be_visible()
    assert result(page)["submitError"]["code"] == "incomplete_number"


@pytest.mark.parametrize("number", ["4000002500003155", "4000000000003220"])
def test_three_d_secure_completes_by_redirect(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient, number: str
) -> None:
    intent = new_intent(sdk)
    open_checkout(page, site, billfold, str(intent.client_secret))
    fill_card(page, number)
    page.click("#submit")
    page.wait_for_url(f"{billfold.url}/billfold/3ds/{intent.id}?**")
    page.click("#complete")
    page.wait_for_url(f"{site.url}/complete?**")
    assert "redirect_status=succeeded" in page.url
    expect(page.locator("#message")).to_have_text("Returned: succeeded / succeeded")
    assert sdk.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_three_d_secure_fails_by_redirect(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    open_checkout(page, site, billfold, str(intent.client_secret))
    fill_card(page, "4000002500003155")
    page.click("#submit")
    page.wait_for_url(f"{billfold.url}/billfold/3ds/{intent.id}?**")
    page.click("#fail")
    page.wait_for_url(f"{site.url}/complete?**")
    assert "redirect_status=failed" in page.url
    expect(page.locator("#message")).to_have_text("Returned: failed / requires_payment_method")


def test_three_d_secure_in_place_completes(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    recorder = open_checkout(page, site, billfold, str(intent.client_secret), redirect="if_required")
    fill_card(page, "4000002500003155")
    page.click("#submit")
    modal = page.locator("[data-testid=billfold-3ds-modal]")
    expect(modal).to_be_visible()
    page.frame_locator("iframe[name=billfold-3ds-challenge]").locator("#complete").click()
    expect(page.locator("#message")).to_have_text("Status: succeeded")
    expect(modal).to_have_count(0)
    assert page.url.startswith(f"{site.url}/checkout")
    assert sdk.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    only_publishable(recorder, billfold)


def test_three_d_secure_in_place_fails(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    open_checkout(page, site, billfold, str(intent.client_secret), redirect="if_required")
    fill_card(page, "4000000000003220")
    page.click("#submit")
    page.frame_locator("iframe[name=billfold-3ds-challenge]").locator("#fail").click()
    expect(page.locator("#message")).to_have_text(
        "We are unable to authenticate your payment method. Please choose a different payment "
        "method and try again."
    )
    error = result(page)["error"]
    assert error["code"] == "payment_intent_authentication_failure"
    assert error["payment_intent"]["status"] == "requires_payment_method"
    expect(page.locator("[data-testid=billfold-3ds-modal]")).to_have_count(0)
    assert sdk.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"


def test_confirm_setup_saves_a_card(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    customer = sdk.v1.customers.create({"email": "jenny@example.com"})
    params: Any = {"customer": customer.id, "payment_method_types": ["card"]}
    setup = sdk.v1.setup_intents.create(params)
    open_checkout(page, site, billfold, str(setup.client_secret), setup="1", redirect="if_required")
    fill_card(page, "4000002500003155")
    page.click("#submit")
    page.frame_locator("iframe[name=billfold-3ds-challenge]").locator("#complete").click()
    expect(page.locator("#message")).to_have_text("Status: succeeded")
    assert result(page)["setupIntent"]["id"] == setup.id
    done = sdk.v1.setup_intents.retrieve(setup.id)
    assert done.status == "succeeded"
    method = sdk.v1.payment_methods.retrieve(str(done.payment_method))
    assert method.customer == customer.id and method.card is not None and method.card.last4 == "3155"


def test_confirm_setup_redirects_to_return_url(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    params: Any = {"payment_method_types": ["card"]}
    setup = sdk.v1.setup_intents.create(params)
    open_checkout(page, site, billfold, str(setup.client_secret), setup="1")
    fill_card(page, "4242424242424242")
    page.click("#submit")
    page.wait_for_url(f"{site.url}/complete?**")
    assert f"setup_intent={setup.id}" in page.url and "redirect_status=succeeded" in page.url
    expect(page.locator("#message")).to_have_text("Returned: succeeded / succeeded")


def open_card_page(page: Page, site: Site, billfold: Server, secret: str) -> Recorder:
    recorder = Recorder(page, billfold)
    params = {"pk": billfold.publishable_key, "cs": secret}
    page.goto(f"{site.url}/card?{urlencode(params)}")
    expect(page.locator("#card-element input[name=cardnumber]")).to_be_visible()
    return recorder


def fill_card_element(page: Page, number: str, expiry: str = "1234", cvc: str = "123") -> None:
    card = page.locator("#card-element")
    card.locator("input[name=cardnumber]").press_sequentially(number)
    card.locator("input[name=exp-date]").press_sequentially(expiry)
    card.locator("input[name=cvc]").press_sequentially(cvc)
    card.locator("input[name=postal]").press_sequentially("94103")


def test_confirm_card_payment_with_the_card_element(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk, 1500)
    recorder = open_card_page(page, site, billfold, str(intent.client_secret))
    fill_card_element(page, "4242424242424242")
    page.click("#submit")
    expect(page.locator("#message")).to_have_text("Status: succeeded")
    paid = sdk.v1.payment_intents.retrieve(intent.id)
    assert paid.status == "succeeded"
    method = sdk.v1.payment_methods.retrieve(str(paid.payment_method))
    assert method.billing_details.name == "Jenny Rosen"
    only_publishable(recorder, billfold)


def test_card_element_change_events_carry_errors(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    open_card_page(page, site, billfold, str(intent.client_secret))
    card = page.locator("#card-element")
    card.locator("input[name=cardnumber]").press_sequentially("4242424242424241")
    expect(page.locator("#card-errors")).to_have_text("Your card number is invalid.")
    card.locator("input[name=cardnumber]").press("Backspace")
    card.locator("input[name=cardnumber]").press_sequentially("2")
    expect(page.locator("#card-errors")).to_have_text("")
    card.locator("input[name=exp-date]").press_sequentially("0121")
    expect(page.locator("#card-errors")).to_have_text("Your card's expiration year is in the past.")


def test_confirm_card_payment_three_d_secure_in_place(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    open_card_page(page, site, billfold, str(intent.client_secret))
    fill_card_element(page, "4000002500003155")
    page.click("#submit")
    page.frame_locator("iframe[name=billfold-3ds-challenge]").locator("#complete").click()
    expect(page.locator("#message")).to_have_text("Status: succeeded")
    assert sdk.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_retrieve_and_handle_next_action(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    """A server-confirmed intent needing 3D Secure, finished by handleNextAction."""
    params: Any = {
        "amount": 3000, "currency": "usd", "payment_method_types": ["card"],
        "payment_method": "pm_card_authenticationRequired", "confirm": True,
    }
    intent = sdk.v1.payment_intents.create(params)
    assert intent.status == "requires_action"
    recorder = open_card_page(page, site, billfold, str(intent.client_secret))
    retrieved = page.evaluate(
        "async () => (await stripe.retrievePaymentIntent(clientSecret)).paymentIntent.status"
    )
    assert retrieved == "requires_action"
    page.evaluate(
        "() => { window.handled = stripe.handleNextAction({clientSecret}); }"
    )
    page.frame_locator("iframe[name=billfold-3ds-challenge]").locator("#complete").click()
    outcome = page.evaluate("async () => (await window.handled).paymentIntent.status")
    assert outcome == "succeeded"
    assert sdk.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    only_publishable(recorder, billfold)


def test_create_payment_method_from_elements(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    open_checkout(page, site, billfold, str(intent.client_secret), redirect="if_required")
    fill_card(page, "5555555555554444")
    made = page.evaluate(
        """async () => {
          const {error: submitError} = await elements.submit();
          if (submitError) return {submitError};
          return await stripe.createPaymentMethod({elements, params: {billing_details: {name: "J R"}}});
        }"""
    )
    method = made["paymentMethod"]
    assert method["card"]["brand"] == "mastercard" and method["billing_details"]["name"] == "J R"
    assert sdk.v1.payment_methods.retrieve(method["id"]).card.last4 == "4444"  # type: ignore[union-attr]


def test_a_secret_key_is_refused(page: Page, site: Site, billfold: Server) -> None:
    page.goto(f"{site.url}/complete")
    message = page.evaluate(
        "(key) => { try { Stripe(key); return 'accepted'; } catch (e) { return e.message; } }",
        billfold.secret_key,
    )
    assert message.startswith("You should not use your secret key with Stripe.js.")


def test_options_send_stripe_account_and_version(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    seen: list[dict[str, str]] = []
    page.on("request", lambda request: seen.append(request.headers)
            if request.url.startswith(billfold.url + "/v1/") else None)
    page.goto(f"{site.url}/complete")
    answer = page.evaluate(
        """async ([key, secret]) => {
          const stripe = Stripe(key, {stripeAccount: "acct_123", apiVersion: "2024-06-20", locale: "nl"});
          return await stripe.retrievePaymentIntent(secret);
        }""",
        [billfold.publishable_key, str(intent.client_secret)],
    )
    assert seen and seen[-1]["stripe-account"] == "acct_123"
    assert seen[-1]["stripe-version"] == "2024-06-20"
    # The platform's intent is not the connected account's: Stripe's error shape comes back.
    assert "error" in answer and answer["error"]["type"] == "invalid_request_error"


def test_appearance_variables_reach_the_element(
    page: Page, site: Site, billfold: Server, sdk: stripe.StripeClient
) -> None:
    intent = new_intent(sdk)
    open_checkout(page, site, billfold, str(intent.client_secret))
    host = page.locator("#payment-element .BillfoldElement")
    primary = host.evaluate("(node) => getComputedStyle(node).getPropertyValue('--bf-color-primary')")
    assert primary.strip() == "#635bff"
    page.evaluate("elements.update({appearance: {theme: 'night'}})")
    background = host.evaluate(
        "(node) => getComputedStyle(node).getPropertyValue('--bf-color-background')"
    )
    assert background.strip() == "#30313d"


def test_the_element_and_hosted_pages_share_one_palette(billfold: Server) -> None:
    """The Payment Element's default theme is the hosted pages' stylesheet's variables."""
    css = httpx.get(billfold.url + "/billfold/static/billfold.css").text
    script = httpx.get(billfold.url + "/v3/").text
    root = css.split(":root {", 1)[1].split("}", 1)[0]
    variables = dict(
        (name.strip(), value.strip())
        for name, value in (part.split(":", 1) for part in root.split(";") if ":" in part)
    )
    assert len(variables) >= 6
    theme = script.split("stripe: {", 1)[1].split("}", 1)[0]
    for name, value in variables.items():
        camel = "".join(
            word if index == 0 else word.title()
            for index, word in enumerate(name.removeprefix("--bf-").split("-"))
        )
        assert f"{camel}: '{value}'" in theme, (name, value)
