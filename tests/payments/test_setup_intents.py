"""SetupIntents, as Stripe's "save a card for later" guides use them: confirm with a test card,
3D Secure on setup, declines with ``last_setup_error``, client secrets for publishable keys."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
import stripe


def new_customer(client: stripe.StripeClient) -> Any:
    return client.v1.customers.create({"email": f"{uuid.uuid4().hex}@example.com"})


def events_about(client: stripe.StripeClient, event_type: str, object_id: str) -> list[Any]:
    listed = client.v1.events.list({"type": event_type, "limit": 100})
    return [e for e in listed.data if e.data.object["id"] == object_id]


def challenge_url(intent: Any) -> str:
    action = intent.next_action
    if action.type == "redirect_to_url":
        return str(action.redirect_to_url.url)
    return str(action.use_stripe_sdk["stripe_js"])


def finish_challenge(intent: Any, outcome: str) -> httpx.Response:
    """Press a button on Billfold's 3D Secure page, as the cardholder would."""
    page = httpx.get(challenge_url(intent))
    assert page.status_code == 200
    return httpx.post(
        challenge_url(intent).split("?")[0],
        data={"client_secret": intent.client_secret, "outcome": outcome},
    )


def test_create_without_a_payment_method(client: stripe.StripeClient) -> None:
    intent = client.v1.setup_intents.create({"description": "Save a card", "metadata": {"a": "b"}})
    assert intent.id.startswith("seti_")
    assert intent.object == "setup_intent"
    assert intent.status == "requires_payment_method"
    assert intent.client_secret is not None
    assert re.fullmatch(rf"{intent.id}_secret_[A-Za-z0-9]+", intent.client_secret)
    assert intent.usage == "off_session"
    assert intent.payment_method_types == ["card"]
    assert intent.automatic_payment_methods is None
    assert (intent.latest_attempt, intent.last_setup_error, intent.next_action) == (None, None, None)
    assert intent.description == "Save a card" and intent.metadata.to_dict() == {"a": "b"}
    assert len(events_about(client, "setup_intent.created", intent.id)) == 1
    automatic = client.v1.setup_intents.create(
        {"automatic_payment_methods": {"enabled": True}, "usage": "on_session"}
    )
    assert automatic.automatic_payment_methods is not None
    assert automatic.automatic_payment_methods.to_dict() == {"allow_redirects": "always", "enabled": True}
    assert automatic.usage == "on_session"


def test_confirm_on_create_saves_the_card_to_the_customer(client: stripe.StripeClient) -> None:
    customer = new_customer(client)
    intent = client.v1.setup_intents.create(
        {
            "customer": customer.id,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "expand": ["latest_attempt", "payment_method"],
        }
    )
    assert intent.status == "succeeded"
    shape = intent.to_dict()
    method = shape["payment_method"]
    assert method["customer"] == customer.id and method["card"]["last4"] == "4242"
    attempt = shape["latest_attempt"]
    assert attempt["object"] == "setup_attempt" and attempt["status"] == "succeeded"
    assert attempt["setup_intent"] == intent.id and attempt["payment_method"] == method["id"]
    assert attempt["payment_method_details"]["card"]["last4"] == "4242"
    [saved] = client.v1.customers.payment_methods.list(customer.id).data
    assert saved.id == method["id"]
    assert len(events_about(client, "setup_intent.succeeded", intent.id)) == 1
    assert len(events_about(client, "payment_method.attached", method["id"])) == 1
    attempts = client.v1.setup_attempts.list({"setup_intent": intent.id})
    assert [a.id for a in attempts.data] == [attempt["id"]]
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.setup_intents.confirm(intent.id)
    assert again.value.code == "setup_intent_unexpected_state"


def test_update_then_confirm(client: stripe.StripeClient) -> None:
    customer = new_customer(client)
    intent = client.v1.setup_intents.create({"customer": customer.id})
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.setup_intents.confirm(intent.id)
    assert missing.value.code == "setup_intent_unexpected_state"
    updated = client.v1.setup_intents.update(intent.id, {"payment_method": "pm_card_mastercard"})
    assert updated.status == "requires_confirmation"
    assert updated.payment_method is not None
    confirmed = client.v1.setup_intents.confirm(intent.id)
    assert confirmed.status == "succeeded"
    listed = client.v1.setup_intents.list({"customer": customer.id})
    assert [i.id for i in listed.data] == [intent.id]
    by_method = client.v1.setup_intents.list({"payment_method": str(updated.payment_method)})
    assert [i.id for i in by_method.data] == [intent.id]
    later = client.v1.setup_intents.update(intent.id, {"metadata": {"note": "kept"}})
    assert later.metadata.to_dict() == {"note": "kept"}
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.setup_intents.update(intent.id, {"payment_method": "pm_card_visa"})
    assert refused.value.code == "setup_intent_unexpected_state"


def test_a_declining_card_fails_setup_with_a_card_error(client: stripe.StripeClient) -> None:
    customer = new_customer(client)
    intent = client.v1.setup_intents.create({"customer": customer.id})
    with pytest.raises(stripe.CardError) as raised:
        client.v1.setup_intents.confirm(intent.id, {"payment_method": "pm_card_chargeDeclinedInsufficientFunds"})
    assert raised.value.http_status == 402
    assert raised.value.code == "card_declined"
    error = raised.value.error
    assert error is not None and error.decline_code == "insufficient_funds"
    assert error.setup_intent is not None and error.setup_intent.id == intent.id
    assert error.setup_intent.status == "requires_payment_method"
    failed = client.v1.setup_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.payment_method is None
    assert failed.last_setup_error is not None
    assert failed.last_setup_error.code == "card_declined"
    assert failed.last_setup_error.decline_code == "insufficient_funds"
    assert failed.last_setup_error.type == "card_error"
    assert failed.last_setup_error.payment_method is not None
    assert failed.last_setup_error.payment_method.type == "card"
    assert len(events_about(client, "setup_intent.setup_failed", intent.id)) == 1
    assert client.v1.customers.payment_methods.list(customer.id).data == []
    # A new card on the same intent then succeeds and clears the error.
    retried = client.v1.setup_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})
    assert retried.status == "succeeded" and retried.last_setup_error is None
    attempts = client.v1.setup_attempts.list({"setup_intent": intent.id})
    assert [a.status for a in attempts.data] == ["succeeded", "failed"]


def test_three_d_secure_on_setup_then_the_challenge_succeeds(client: stripe.StripeClient) -> None:
    customer = new_customer(client)
    intent = client.v1.setup_intents.create(
        {
            "customer": customer.id,
            "payment_method": "pm_card_authenticationRequiredOnSetup",
            "confirm": True,
            "return_url": "https://example.com/setup/done",
        }
    )
    assert intent.status == "requires_action"
    assert intent.next_action is not None
    assert intent.next_action.type == "redirect_to_url"
    assert intent.next_action.redirect_to_url is not None
    assert intent.next_action.redirect_to_url.return_url == "https://example.com/setup/done"
    assert intent.id in str(intent.next_action.redirect_to_url.url)
    assert len(events_about(client, "setup_intent.requires_action", intent.id)) == 1
    assert client.v1.customers.payment_methods.list(customer.id).data == []

    answer = finish_challenge(intent, "complete")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("https://example.com/setup/done?")
    assert "redirect_status=succeeded" in answer.headers["location"]
    done = client.v1.setup_intents.retrieve(intent.id, {"expand": ["latest_attempt"]})
    assert done.status == "succeeded" and done.next_action is None
    attempt = done.to_dict()["latest_attempt"]
    assert attempt["payment_method_details"]["card"]["three_d_secure"]["result"] == "authenticated"
    [saved] = client.v1.customers.payment_methods.list(customer.id).data
    assert saved.id == done.payment_method
    assert len(events_about(client, "setup_intent.succeeded", intent.id)) == 1

    # Set up for future use, the card now pays off-session without a challenge...
    paid = client.v1.payment_intents.create(
        {"amount": 1099, "currency": "eur", "customer": customer.id, "payment_method": saved.id,
         "off_session": True, "confirm": True}
    )
    assert paid.status == "succeeded"
    # ...which the same card number merely attached (never set up) does not.
    attached = client.v1.payment_methods.attach(
        "pm_card_authenticationRequiredOnSetup", {"customer": customer.id}
    )
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_intents.create(
            {"amount": 1099, "currency": "eur", "customer": customer.id,
             "payment_method": attached.id, "off_session": True, "confirm": True}
        )
    assert raised.value.code == "authentication_required"


def test_a_failed_challenge_needs_a_new_payment_method(client: stripe.StripeClient) -> None:
    intent = client.v1.setup_intents.create(
        {"payment_method": "pm_card_authenticationRequired", "confirm": True}
    )
    assert intent.status == "requires_action"
    assert intent.next_action is not None and intent.next_action.type == "use_stripe_sdk"
    assert finish_challenge(intent, "fail").status_code == 200
    failed = client.v1.setup_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.payment_method is None
    assert failed.last_setup_error is not None
    assert failed.last_setup_error.code == "setup_intent_authentication_failure"
    assert failed.last_setup_error.type == "invalid_request_error"
    assert len(events_about(client, "setup_intent.setup_failed", intent.id)) == 1
    assert httpx.get(challenge_url(intent)).status_code == 409
    assert client.v1.setup_intents.retrieve(intent.id).status == "requires_payment_method"


def test_request_three_d_secure_any_challenges_a_card_that_supports_it(
    client: stripe.StripeClient,
) -> None:
    plain = client.v1.setup_intents.create(
        {"payment_method": "pm_card_threeDSecureOptional", "confirm": True}
    )
    assert plain.status == "succeeded"
    asked = client.v1.setup_intents.create(
        {
            "payment_method": "pm_card_threeDSecureOptional",
            "payment_method_options": {"card": {"request_three_d_secure": "any"}},
            "confirm": True,
        }
    )
    assert asked.status == "requires_action"
    assert asked.payment_method_options is not None and asked.payment_method_options.card is not None
    assert asked.payment_method_options.card.request_three_d_secure == "any"


def test_cancel(client: stripe.StripeClient) -> None:
    intent = client.v1.setup_intents.create({})
    canceled = client.v1.setup_intents.cancel(intent.id, {"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled" and canceled.cancellation_reason == "abandoned"
    assert len(events_about(client, "setup_intent.canceled", intent.id)) == 1
    with pytest.raises(stripe.InvalidRequestError) as twice:
        client.v1.setup_intents.cancel(intent.id)
    assert twice.value.code == "setup_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError) as confirm:
        client.v1.setup_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})
    assert confirm.value.code == "setup_intent_unexpected_state"
    with pytest.raises(stripe.InvalidRequestError) as reason:
        client.v1.setup_intents.cancel(
            client.v1.setup_intents.create({}).id,
            {"cancellation_reason": "bored"},  # type: ignore[typeddict-item]
        )
    assert reason.value.param == "cancellation_reason"


def test_a_publishable_key_needs_the_client_secret(
    client: stripe.StripeClient, public_client: stripe.StripeClient
) -> None:
    customer = new_customer(client)
    intent = client.v1.setup_intents.create({"customer": customer.id})
    assert intent.client_secret is not None
    seen = public_client.v1.setup_intents.retrieve(intent.id, {"client_secret": intent.client_secret})
    assert seen.id == intent.id
    with pytest.raises(stripe.InvalidRequestError) as missing:
        public_client.v1.setup_intents.retrieve(intent.id)
    assert missing.value.param == "client_secret"
    with pytest.raises(stripe.InvalidRequestError) as wrong:
        public_client.v1.setup_intents.confirm(
            intent.id, {"client_secret": f"{intent.id}_secret_nope", "payment_method": "pm_card_visa"}
        )
    assert wrong.value.param == "client_secret"
    assert client.v1.setup_intents.retrieve(intent.id).status == "requires_payment_method"
    with pytest.raises(stripe.PermissionError):
        public_client.v1.setup_intents.create({})
    # What Stripe.js does: confirm with the secret and the card the person typed in.
    confirmed = public_client.v1.setup_intents.confirm(
        intent.id,
        {
            "client_secret": intent.client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": "4000056655665556", "exp_month": 4, "exp_year": 2032, "cvc": "123"},  # type: ignore[typeddict-unknown-key]
                "billing_details": {"name": "Jenny Rosen"},
            },
        },
    )
    assert confirmed.status == "succeeded"
    [saved] = client.v1.customers.payment_methods.list(customer.id).data
    assert saved.card is not None and saved.card.funding == "debit"
    assert saved.billing_details.name == "Jenny Rosen"


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"usage": "sometimes"}, "usage"),
        ({"colour": "red"}, "colour"),
        ({"customer": "cus_doesnotexist"}, "customer"),
        ({"payment_method": "pm_doesnotexist"}, "payment_method"),
        ({"payment_method_types": ["card"], "automatic_payment_methods": {"enabled": True}},
         "automatic_payment_methods"),
        ({"payment_method": "pm_card_visa", "payment_method_data": {"type": "card"}}, "payment_method"),
        ({"payment_method_data": {"type": "card", "card": {"number": "4242424242424242"}}},
         "payment_method_data[card][exp_month]"),
        ({"return_url": "https://example.com"}, "return_url"),
        ({"payment_method_types": ["sepa_debit"], "payment_method": "pm_card_visa"}, "payment_method"),
    ],
)
def test_bad_input_changes_nothing(
    client: stripe.StripeClient, params: dict[str, Any], param: str
) -> None:
    customer = new_customer(client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.setup_intents.create({"customer": customer.id, **params})  # type: ignore[typeddict-item]
    assert raised.value.http_status in (400, 404)
    assert raised.value.param == param
    assert client.v1.setup_intents.list({"customer": customer.id}).data == []


def test_a_payment_method_of_another_customer_is_refused(client: stripe.StripeClient) -> None:
    owner, other = new_customer(client), new_customer(client)
    method = client.v1.payment_methods.attach("pm_card_visa", {"customer": owner.id})
    intent = client.v1.setup_intents.create({"customer": other.id, "payment_method": method.id})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.setup_intents.confirm(intent.id)
    assert raised.value.param == "payment_method"
    assert client.v1.setup_intents.retrieve(intent.id).status == "requires_confirmation"


def test_missing_setup_intent_is_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.setup_intents.retrieve("seti_doesnotexist")
    assert raised.value.http_status == 404
    assert raised.value.user_message == "No such SetupIntent: 'seti_doesnotexist'"
