"""3D Secure: PaymentIntents that wait in requires_action, and Billfold's challenge page."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import stripe

RETURN_URL = "https://shop.example/return?order=7"


def event_types(client: stripe.StripeClient, object_id: str) -> list[str]:
    events = client.v1.events.list({"limit": 100}).data
    return [e.type for e in reversed(events) if e.to_dict()["data"]["object"].get("id") == object_id]


def needing_action(client: stripe.StripeClient, method: str, **extra: Any) -> stripe.PaymentIntent:
    params: dict[str, Any] = {"amount": 2000, "currency": "usd", "payment_method": method, "confirm": True}
    params.update(extra)
    intent = client.v1.payment_intents.create(params)  # type: ignore[arg-type]
    assert intent.status == "requires_action"
    return intent


def challenge_url(intent: stripe.PaymentIntent | stripe.SetupIntent) -> str:
    action = intent.next_action
    assert action is not None
    if action.type == "redirect_to_url":
        return str(action.redirect_to_url.url)  # type: ignore[union-attr]
    return str(action.to_dict()["use_stripe_sdk"]["stripe_js"])


def answer(url: str, outcome: str, secret: str | None = None) -> httpx.Response:
    """Press one of the page's buttons: POST its form as a browser would."""
    query = parse_qs(urlsplit(url).query)
    form = {"client_secret": secret if secret is not None else query["client_secret"][0], "outcome": outcome}
    return httpx.post(url.split("?")[0], data=form, follow_redirects=False)


def returned(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("https://shop.example/return?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_redirect_flow_completes_the_payment(client: stripe.StripeClient) -> None:
    intent = needing_action(client, "pm_card_authenticationRequired", return_url=RETURN_URL)
    assert intent.next_action is not None and intent.next_action.type == "redirect_to_url"
    assert intent.next_action.redirect_to_url.return_url == RETURN_URL  # type: ignore[union-attr]
    assert intent.latest_charge is None

    page = httpx.get(challenge_url(intent))
    assert page.status_code == 200
    assert "$20.00" in page.text and "ending in 3184" in page.text
    assert "Complete authentication" in page.text and "Fail authentication" in page.text

    params = returned(answer(challenge_url(intent), "complete"))
    assert params == {
        "order": "7",
        "payment_intent": intent.id,
        "payment_intent_client_secret": str(intent.client_secret),
        "redirect_status": "succeeded",
    }
    paid = client.v1.payment_intents.retrieve(intent.id)
    assert paid.status == "succeeded" and paid.next_action is None
    charge = client.v1.charges.retrieve(str(paid.latest_charge))
    secure = charge.payment_method_details.card.three_d_secure  # type: ignore[union-attr]
    assert secure is not None
    assert (secure.result, secure.authentication_flow, secure.version) == ("authenticated", "challenge", "2.2.0")
    assert event_types(client, intent.id) == [
        "payment_intent.created", "payment_intent.requires_action", "payment_intent.succeeded"
    ]
    done = httpx.get(challenge_url(intent))
    assert done.status_code == 409


def test_failed_authentication_asks_for_another_payment_method(client: stripe.StripeClient) -> None:
    intent = needing_action(client, "pm_card_threeDSecure2Required", return_url=RETURN_URL)
    assert returned(answer(challenge_url(intent), "fail"))["redirect_status"] == "failed"
    failed = client.v1.payment_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method" and failed.payment_method is None
    error = failed.last_payment_error
    assert error is not None
    assert (error.code, error.type) == ("payment_intent_authentication_failure", "invalid_request_error")
    assert error.payment_method is not None and error.payment_method.card.last4 == "3220"  # type: ignore[union-attr]
    assert failed.latest_charge is None
    assert event_types(client, intent.id)[-1] == "payment_intent.payment_failed"
    assert client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"}).status == "succeeded"


def test_a_card_can_still_decline_after_authentication(client: stripe.StripeClient) -> None:
    intent = needing_action(
        client, "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds", return_url=RETURN_URL
    )
    assert returned(answer(challenge_url(intent), "complete"))["redirect_status"] == "failed"
    failed = client.v1.payment_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error is not None
    assert failed.last_payment_error.decline_code == "insufficient_funds"
    charge = client.v1.charges.retrieve(str(failed.latest_charge))
    assert charge.status == "failed" and charge.failure_code == "card_declined"
    assert charge.payment_method_details.card.three_d_secure.result == "authenticated"  # type: ignore[union-attr]


def test_without_a_return_url_the_page_says_to_close_it(client: stripe.StripeClient) -> None:
    intent = needing_action(client, "pm_card_authenticationRequired")
    assert intent.next_action is not None and intent.next_action.type == "use_stripe_sdk"
    response = answer(challenge_url(intent), "complete")
    assert response.status_code == 200 and "close this window" in response.text
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_the_page_refuses_wrong_secrets_and_unknown_intents(client: stripe.StripeClient) -> None:
    intent = needing_action(client, "pm_card_authenticationRequired", return_url=RETURN_URL)
    url = challenge_url(intent)
    base = url.split("?")[0]
    assert httpx.get(base).status_code == 403
    assert httpx.get(base + "?client_secret=pi_x_secret_wrong").status_code == 403
    assert answer(url, "complete", secret="pi_x_secret_wrong").status_code == 403
    assert answer(url, "maybe").status_code == 400
    assert httpx.get(base.replace(intent.id, "pi_missing") + "?client_secret=x").status_code == 404
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_action"


@pytest.mark.parametrize("flag", ["off_session", "error_on_requires_action"])
def test_payments_that_cannot_authenticate_fail_instead(client: stripe.StripeClient, flag: str) -> None:
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_intents.create(
            {"amount": 2000, "currency": "usd", "payment_method": "pm_card_authenticationRequired",
             "confirm": True, flag: True}  # type: ignore[misc]
        )
    error = raised.value
    assert (error.http_status, error.code) == (402, "authentication_required")
    assert error.error.decline_code == "authentication_required"  # type: ignore[union-attr]
    assert error.error.payment_intent.status == "requires_payment_method"  # type: ignore[union-attr]


def test_request_three_d_secure_challenge_and_manual_confirmation(client: stripe.StripeClient) -> None:
    intent = needing_action(
        client, "pm_card_visa", confirmation_method="manual",
        payment_method_options={"card": {"request_three_d_secure": "challenge"}},
    )
    answer(challenge_url(intent), "complete")
    waiting = client.v1.payment_intents.retrieve(intent.id)
    assert waiting.status == "requires_confirmation"
    assert client.v1.payment_intents.confirm(intent.id).status == "succeeded"


class _Catcher(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        self.seen.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"back at the shop")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def shop() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Catcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/return"
    server.shutdown()
    server.server_close()


def test_setup_then_pay_off_session(client: stripe.StripeClient, shop: str) -> None:
    customer = client.v1.customers.create({"email": "setup@example.com"})
    on_session = needing_action(client, "pm_card_authenticationRequiredOnSetup")
    assert on_session.status == "requires_action"
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.create(
            {"amount": 2000, "currency": "usd", "payment_method": "pm_card_authenticationRequiredOnSetup",
             "confirm": True, "off_session": True}
        )

    setup = client.v1.setup_intents.create(
        {"customer": customer.id, "payment_method": "pm_card_authenticationRequiredOnSetup",
         "confirm": True, "return_url": shop, "usage": "off_session"}
    )
    assert setup.status == "requires_action"
    response = answer(challenge_url(setup), "complete")
    assert response.status_code == 303
    back = httpx.get(response.headers["location"])
    assert back.text == "back at the shop"
    query = parse_qs(urlsplit(_Catcher.seen[-1]).query)
    assert query["setup_intent"] == [setup.id]
    assert query["setup_intent_client_secret"] == [str(setup.client_secret)]
    assert query["redirect_status"] == ["succeeded"]

    paid = client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "customer": customer.id,
         "payment_method": str(setup.payment_method), "confirm": True, "off_session": True}
    )
    assert paid.status == "succeeded"
