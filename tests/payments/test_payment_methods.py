"""PaymentMethods, as the Stripe docs' own examples use them: cards from test tokens and raw
test numbers, Stripe's card validation errors, attaching and detaching, and test ids."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import stripe

from tests.support.server import Server

CARD_KEYS = {
    "brand", "checks", "country", "display_brand", "exp_month", "exp_year", "fingerprint",
    "funding", "generated_from", "last4", "networks", "regulated_status", "three_d_secure_usage",
    "wallet",
}


def raw_card(number: str = "4242424242424242", **extra: Any) -> dict[str, Any]:
    return {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "314", **extra}


def events_about(client: stripe.StripeClient, event_type: str, object_id: str) -> list[Any]:
    listed = client.v1.events.list({"type": event_type, "limit": 100})
    return [e for e in listed.data if e.data.object["id"] == object_id]


def new_customer(client: stripe.StripeClient, **params: Any) -> Any:
    return client.v1.customers.create({"email": f"{uuid.uuid4().hex}@example.com", **params})


def test_create_from_a_test_token(client: stripe.StripeClient) -> None:
    pm = client.v1.payment_methods.create(
        {"type": "card", "card": {"token": "tok_visa"}, "metadata": {"order_id": "6735"}}  # type: ignore[typeddict-item]
    )
    assert pm.id.startswith("pm_")
    assert pm.object == "payment_method"
    assert pm.type == "card"
    assert pm.customer is None
    assert pm.livemode is False
    assert pm.allow_redisplay == "unspecified"
    assert pm.metadata.to_dict() == {"order_id": "6735"}
    shape = pm.to_dict()
    assert not [key for key in shape if key.startswith("_")]
    card = shape["card"]
    assert set(card) == CARD_KEYS
    assert card["brand"] == "visa" and card["last4"] == "4242" and card["funding"] == "credit"
    assert card["networks"] == {"available": ["visa"], "preferred": None}
    assert card["three_d_secure_usage"] == {"supported": True}
    assert card["checks"]["cvc_check"] == "pass"
    assert re.fullmatch(r"[A-Za-z0-9]{16}", card["fingerprint"])
    assert set(shape["billing_details"]) == {"address", "email", "name", "phone", "tax_id"}


def test_raw_test_numbers_with_billing_details_and_stable_fingerprints(
    client: stripe.StripeClient,
) -> None:
    pm = client.v1.payment_methods.create(
        {
            "type": "card",
            "card": raw_card("5555 5555 5555 4444"),
            "billing_details": {
                "name": "Jenny Rosen",
                "address": {"line1": "1234 Main Street", "postal_code": "94111", "country": "US"},
            },
        }
    )
    assert pm.card is not None
    assert (pm.card.brand, pm.card.last4, pm.card.exp_month, pm.card.exp_year) == (
        "mastercard", "4444", 12, 2031,
    )
    assert pm.card.checks is not None
    assert pm.card.checks.to_dict() == {
        "address_line1_check": "pass", "address_postal_code_check": "pass", "cvc_check": "pass",
    }
    assert pm.billing_details.name == "Jenny Rosen"
    assert pm.billing_details.address is not None and pm.billing_details.address.line1 == "1234 Main Street"
    again = client.v1.payment_methods.create({"type": "card", "card": raw_card("5555555555554444")})
    other = client.v1.payment_methods.create({"type": "card", "card": raw_card("4242424242424242")})
    assert again.card is not None and other.card is not None
    assert again.card.fingerprint == pm.card.fingerprint
    assert other.card.fingerprint != pm.card.fingerprint


def test_test_cards_carry_their_behaviour_into_the_shape(client: stripe.StripeClient) -> None:
    amex = client.v1.payment_methods.create({"type": "card", "card": raw_card("378282246310005", cvc="1234")})
    assert amex.card is not None and amex.card.display_brand == "american_express"
    assert amex.card.three_d_secure_usage is not None
    assert amex.card.three_d_secure_usage.supported is False
    cvc_fail = client.v1.payment_methods.create({"type": "card", "card": raw_card("4000000000000101")})
    assert cvc_fail.card is not None and cvc_fail.card.checks is not None
    assert cvc_fail.card.checks.cvc_check == "fail"
    no_cvc = client.v1.payment_methods.create(
        {"type": "card", "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2040}}
    )
    assert no_cvc.card is not None and no_cvc.card.checks is not None
    assert no_cvc.card.checks.cvc_check is None
    cobranded = client.v1.payment_methods.create(
        {"type": "card", "card": raw_card("4000002500001001", networks={"preferred": "cartes_bancaires"})}
    )
    assert cobranded.card is not None and cobranded.card.networks is not None
    assert cobranded.card.networks.available == ["cartes_bancaires", "visa"]
    assert cobranded.card.display_brand == "cartes_bancaires"
    assert cobranded.card.country == "FR"


@pytest.mark.parametrize(
    ("card", "code", "param", "message"),
    [
        (raw_card("4242424242424241"), "incorrect_number", "card[number]", "Your card number is incorrect."),
        (raw_card("4242"), "invalid_number", "card[number]", "Your card number is invalid."),
        (raw_card(exp_month=13), "invalid_expiry_month", "card[exp_month]",
         "Your card's expiration month is invalid."),
        (raw_card(exp_year=2019), "invalid_expiry_year", "card[exp_year]",
         "Your card's expiration year is invalid."),
        (raw_card(cvc="12a"), "invalid_cvc", "card[cvc]", "Your card's security code is invalid."),
    ],
)
def test_invalid_card_details_are_card_errors(
    client: stripe.StripeClient, card: dict[str, Any], code: str, param: str, message: str
) -> None:
    before = client.v1.payment_methods.list({"limit": 1}).data
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_methods.create({"type": "card", "card": card})  # type: ignore[typeddict-item]
    assert raised.value.http_status == 402
    assert raised.value.code == code
    assert raised.value.param == param
    assert raised.value.user_message == message
    assert client.v1.payment_methods.list({"limit": 1}).data == before


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"card": {"token": "tok_visa"}}, "type", "parameter_missing"),
        ({"type": "card"}, "card", "parameter_missing"),
        ({"type": "card", "card": {"number": "4242424242424242", "exp_year": 2031}},
         "card[exp_month]", "parameter_missing"),
        ({"type": "card", "card": {"number": "4242424242424242", "exp_month": "soon", "exp_year": 2031}},
         "card[exp_month]", "parameter_invalid_integer"),
        ({"type": "card", "card": {"token": "tok_visa"}, "colour": "red"}, "colour", "parameter_unknown"),
        ({"type": "card", "card": {"token": "tok_doesnotexist"}}, "card[token]", "resource_missing"),
        ({"type": "bitcoin"}, "type", "parameter_invalid"),
        ({"type": "card", "card": {"token": "tok_visa"}, "allow_redisplay": "sometimes"},
         "allow_redisplay", "parameter_invalid"),
        ({"type": "sepa_debit", "sepa_debit": {"iban": "DE89370400440532013001"}},
         "sepa_debit[iban]", "invalid_bank_account_iban"),
        ({"type": "card", "card": {"token": "tok_visa"}, "sepa_debit": {"iban": "DE89370400440532013000"}},
         "sepa_debit", None),
    ],
)
def test_bad_input_is_a_400_naming_the_param(
    client: stripe.StripeClient, params: dict[str, Any], param: str, code: str | None
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_methods.create(params)  # type: ignore[arg-type]
    assert raised.value.http_status in (400, 404)
    assert raised.value.param == param
    assert raised.value.code == code


def test_sepa_debit_and_ideal(client: stripe.StripeClient) -> None:
    sepa = client.v1.payment_methods.create(
        {
            "type": "sepa_debit",
            "sepa_debit": {"iban": "DE89 3704 0044 0532 0130 00"},
            "billing_details": {"name": "Jenny Rosen", "email": "jenny@example.com"},
        }
    )
    assert sepa.type == "sepa_debit"
    assert sepa.sepa_debit is not None
    assert (sepa.sepa_debit.country, sepa.sepa_debit.last4) == ("DE", "3000")
    assert sepa.to_dict().get("card") is None
    ideal = client.v1.payment_methods.create({"type": "ideal", "ideal": {"bank": "ing"}})
    assert ideal.ideal is not None
    assert (ideal.ideal.bank, ideal.ideal.bic) == ("ing", "INGBNL2A")


def test_a_publishable_key_creates_but_cannot_read_back(
    client: stripe.StripeClient, public_client: stripe.StripeClient
) -> None:
    pm = public_client.v1.payment_methods.create({"type": "card", "card": raw_card()})
    assert pm.id.startswith("pm_")
    with pytest.raises(stripe.PermissionError):
        public_client.v1.payment_methods.retrieve(pm.id)
    assert client.v1.payment_methods.retrieve(pm.id).id == pm.id


def test_attach_detach_with_events_and_default_cleared(client: stripe.StripeClient) -> None:
    customer = new_customer(client)
    pm = client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_mastercard"}})  # type: ignore[typeddict-item]
    attached = client.v1.payment_methods.attach(pm.id, {"customer": customer.id})
    assert attached.customer == customer.id
    assert len(events_about(client, "payment_method.attached", pm.id)) == 1
    again = client.v1.payment_methods.attach(pm.id, {"customer": customer.id})
    assert again.customer == customer.id
    client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": pm.id}})

    detached = client.v1.payment_methods.detach(pm.id)
    assert detached.customer is None
    [event] = events_about(client, "payment_method.detached", pm.id)
    assert event.data.previous_attributes["customer"] == customer.id
    refreshed = client.v1.customers.retrieve(customer.id)
    assert refreshed.invoice_settings is not None
    assert refreshed.invoice_settings.default_payment_method is None
    updates = events_about(client, "customer.updated", customer.id)
    assert updates[0].data.previous_attributes["invoice_settings"]["default_payment_method"] == pm.id

    with pytest.raises(stripe.InvalidRequestError) as not_attached:
        client.v1.payment_methods.detach(pm.id)
    assert "not attached to a customer" in str(not_attached.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as reused:
        client.v1.payment_methods.attach(pm.id, {"customer": customer.id})
    assert "may not be used again" in str(reused.value.user_message)


def test_attach_refusals(client: stripe.StripeClient) -> None:
    first, second = new_customer(client), new_customer(client)
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": first.id})
    with pytest.raises(stripe.InvalidRequestError) as taken:
        client.v1.payment_methods.attach(pm.id, {"customer": second.id})
    assert "already been attached" in str(taken.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as missing_customer:
        client.v1.payment_methods.attach(pm.id, {"customer": "cus_doesnotexist"})
    assert missing_customer.value.http_status == 404
    assert missing_customer.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as missing_pm:
        client.v1.payment_methods.attach("pm_doesnotexist", {"customer": first.id})
    assert missing_pm.value.http_status == 404
    assert missing_pm.value.user_message == "No such PaymentMethod: 'pm_doesnotexist'"
    with pytest.raises(stripe.InvalidRequestError) as no_customer_param:
        client.v1.payment_methods.attach(pm.id, {})  # type: ignore[typeddict-item]
    assert no_customer_param.value.param == "customer"


def test_attaching_a_declining_card_is_a_card_error_and_saves_nothing(
    client: stripe.StripeClient,
) -> None:
    customer = new_customer(client)
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_methods.attach("pm_card_chargeDeclined", {"customer": customer.id})
    assert raised.value.http_status == 402
    assert raised.value.code == "card_declined"
    assert raised.value.error is not None and raised.value.error.decline_code == "generic_decline"
    assert raised.value.user_message == "Your card was declined."
    with pytest.raises(stripe.CardError) as expired:
        client.v1.payment_methods.attach("pm_card_chargeDeclinedExpiredCard", {"customer": customer.id})
    assert expired.value.code == "expired_card"
    assert client.v1.customers.payment_methods.list(customer.id).data == []
    # Attaching succeeds for the card that only fails when charged.
    later = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    assert later.customer == customer.id


def test_customer_create_with_a_test_payment_method(client: stripe.StripeClient) -> None:
    email = f"{uuid.uuid4().hex}@example.com"
    customer = client.v1.customers.create(
        {
            "email": email,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    [saved] = client.v1.customers.payment_methods.list(customer.id).data
    assert saved.id.startswith("pm_") and saved.id != "pm_card_visa"
    assert customer.invoice_settings is not None
    assert customer.invoice_settings.default_payment_method == saved.id
    # Each use of a test id is a new PaymentMethod.
    other = new_customer(client, payment_method="pm_card_visa")
    [other_saved] = client.v1.customers.payment_methods.list(other.id).data
    assert other_saved.id != saved.id

    declined_email = f"{uuid.uuid4().hex}@example.com"
    with pytest.raises(stripe.CardError):
        client.v1.customers.create({"email": declined_email, "payment_method": "pm_card_chargeDeclined"})
    assert client.v1.customers.list({"email": declined_email}).data == []
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.customers.create({"payment_method": "pm_doesnotexist"})
    assert missing.value.param == "payment_method"
    assert missing.value.user_message == "No such PaymentMethod: 'pm_doesnotexist'"


def test_update_needs_a_customer_and_emits_updated(client: stripe.StripeClient) -> None:
    pm = client.v1.payment_methods.create({"type": "card", "card": raw_card()})
    with pytest.raises(stripe.InvalidRequestError) as unattached:
        client.v1.payment_methods.update(pm.id, {"metadata": {"a": "b"}})
    assert "save this PaymentMethod to a customer" in str(unattached.value.user_message)
    client.v1.payment_methods.attach(pm.id, {"customer": new_customer(client).id})
    updated = client.v1.payment_methods.update(
        pm.id,
        {
            "billing_details": {"email": "jenny@example.com", "address": {"city": "Paris"}},
            "card": {"exp_month": 6, "exp_year": 2033},
            "metadata": {"a": "b"},
            "allow_redisplay": "always",
        },
    )
    assert updated.billing_details.email == "jenny@example.com"
    assert updated.billing_details.address is not None and updated.billing_details.address.city == "Paris"
    assert updated.card is not None and (updated.card.exp_month, updated.card.exp_year) == (6, 2033)
    assert updated.allow_redisplay == "always"
    [event] = events_about(client, "payment_method.updated", pm.id)
    assert event.data.previous_attributes["card"]["exp_month"] == 12
    assert event.data.previous_attributes["metadata"].to_dict() == {}
    with pytest.raises(stripe.CardError) as bad_month:
        client.v1.payment_methods.update(pm.id, {"card": {"exp_month": 0}})
    assert bad_month.value.code == "invalid_expiry_month"
    assert client.v1.payment_methods.retrieve(pm.id).card.exp_month == 6  # type: ignore[union-attr]


def test_lists_by_customer_type_and_redisplay(client: stripe.StripeClient) -> None:
    customer = new_customer(client)
    made = []
    for redisplay in ("always", "limited", "always", "always"):
        pm = client.v1.payment_methods.create(
            {"type": "card", "card": {"token": "tok_visa"}, "allow_redisplay": redisplay}  # type: ignore[typeddict-item]
        )
        made.append(client.v1.payment_methods.attach(pm.id, {"customer": customer.id}).id)
    sepa = client.v1.payment_methods.create(
        {"type": "sepa_debit", "sepa_debit": {"iban": "DE89370400440532013000"}}
    )
    client.v1.payment_methods.attach(sepa.id, {"customer": customer.id})

    everything = client.v1.customers.payment_methods.list(customer.id)
    assert [pm.id for pm in everything.data] == [sepa.id, *made[::-1]]
    assert everything.url == f"/v1/customers/{customer.id}/payment_methods"
    cards = client.v1.payment_methods.list({"customer": customer.id, "type": "card"})
    assert [pm.id for pm in cards.data] == made[::-1]
    always = client.v1.customers.payment_methods.list(
        customer.id, {"allow_redisplay": "always", "limit": 2}
    )
    assert [pm.id for pm in always.data] == [made[3], made[2]]
    assert always.has_more is True
    rest = client.v1.customers.payment_methods.list(
        customer.id, {"allow_redisplay": "always", "starting_after": made[2]}
    )
    assert [pm.id for pm in rest.data] == [made[0]] and rest.has_more is False
    back = client.v1.customers.payment_methods.list(
        customer.id, {"allow_redisplay": "always", "ending_before": made[0], "limit": 1}
    )
    assert [pm.id for pm in back.data] == [made[2]] and back.has_more is True

    one = client.v1.customers.payment_methods.retrieve(customer.id, made[1])
    assert one.id == made[1]
    with pytest.raises(stripe.InvalidRequestError) as elsewhere:
        client.v1.customers.payment_methods.retrieve(new_customer(client).id, made[1])
    assert elsewhere.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as no_customer:
        client.v1.customers.payment_methods.list("cus_doesnotexist")
    assert no_customer.value.http_status == 404 and no_customer.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.payment_methods.list({"customer": "cus_doesnotexist"})
    assert unknown.value.http_status == 404 and unknown.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as bad_type:
        client.v1.customers.payment_methods.list(customer.id, {"type": "cheque"})  # type: ignore[typeddict-item]
    assert bad_type.value.param == "type"


def test_expand_customer(client: stripe.StripeClient) -> None:
    customer = new_customer(client, name="Jenny Rosen")
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    expanded = client.v1.payment_methods.retrieve(pm.id, {"expand": ["customer"]})
    assert expanded.to_dict()["customer"]["name"] == "Jenny Rosen"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_methods.retrieve("pm_doesnotexist")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


def _live_client(server: Server) -> stripe.StripeClient:
    match = re.search(r"sk_live_\w+", server.cli("keys"))
    assert match is not None
    return stripe.StripeClient(match.group(0), base_addresses={"api": server.url}, max_network_retries=0)


def test_live_mode_refuses_test_cards_and_test_ids(server: Server) -> None:
    live = _live_client(server)
    with pytest.raises(stripe.CardError) as test_number:
        live.v1.payment_methods.create({"type": "card", "card": raw_card()})
    assert test_number.value.code == "card_declined"
    assert test_number.value.error is not None
    assert test_number.value.error.decline_code == "live_mode_test_card"
    with pytest.raises(stripe.InvalidRequestError) as token:
        live.v1.payment_methods.create({"type": "card", "card": {"token": "tok_visa"}})  # type: ignore[typeddict-item]
    assert token.value.http_status == 404
    assert token.value.user_message == "No such token: 'tok_visa'"
    assert token.value.param == "card[token]"
    with pytest.raises(stripe.InvalidRequestError) as alias:
        live.v1.customers.create({"payment_method": "pm_card_visa"})
    assert alias.value.http_status == 404 and alias.value.param == "payment_method"
    assert live.v1.payment_methods.list({"limit": 1}).data == []
