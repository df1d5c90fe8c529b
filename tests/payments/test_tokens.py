"""Card tokens, made with the publishable key as Stripe.js v2 made them, then turned into a
PaymentMethod once."""

from __future__ import annotations

import pytest
import stripe


def test_a_card_token_becomes_a_payment_method_once(
    client: stripe.StripeClient, public_client: stripe.StripeClient
) -> None:
    token = public_client.v1.tokens.create(
        {
            "card": {
                "number": "4242424242424242",
                "exp_month": "12",
                "exp_year": "2032",
                "cvc": "123",
                "name": "Jenny Rosen",
                "address_line1": "1234 Main Street",
                "address_zip": "94111",
            }
        }
    )
    assert token.id.startswith("tok_") and token.type == "card" and token.used is False
    assert token.card is not None
    assert token.card.id.startswith("card_")
    assert (token.card.brand, token.card.last4, token.card.exp_year) == ("Visa", "4242", 2032)
    assert (token.card.cvc_check, token.card.address_line1_check, token.card.address_zip_check) == (
        "pass", "pass", "pass",
    )
    assert not [key for key in token.to_dict() if key.startswith("_")]

    method = client.v1.payment_methods.create({"type": "card", "card": {"token": token.id}})  # type: ignore[typeddict-item]
    assert method.card is not None and method.card.last4 == "4242"
    assert method.card.fingerprint == token.card.fingerprint
    assert method.billing_details.name == "Jenny Rosen"
    assert method.billing_details.address is not None
    assert method.billing_details.address.postal_code == "94111"
    assert client.v1.tokens.retrieve(token.id).used is True
    with pytest.raises(stripe.InvalidRequestError) as reused:
        client.v1.payment_methods.create({"type": "card", "card": {"token": token.id}})  # type: ignore[typeddict-item]
    assert reused.value.code == "token_already_used"
    assert reused.value.param == "card[token]"


def test_a_token_works_where_a_payment_method_id_is_taken(client: stripe.StripeClient) -> None:
    token = client.v1.tokens.create(
        {"card": {"number": "5555555555554444", "exp_month": "3", "exp_year": "2030"}}
    )
    customer = client.v1.customers.create({"payment_method": token.id})
    [saved] = client.v1.customers.payment_methods.list(customer.id).data
    assert saved.card is not None and saved.card.brand == "mastercard"
    assert saved.card.checks is not None and saved.card.checks.cvc_check is None


@pytest.mark.parametrize(
    ("card", "code", "param"),
    [
        ({"number": "4242424242424241", "exp_month": "12", "exp_year": "2032"}, "incorrect_number", "card[number]"),
        ({"number": "4242424242424242", "exp_month": "twelve", "exp_year": "2032"},
         "invalid_expiry_month", "card[exp_month]"),
        ({"number": "4242424242424242", "exp_month": "12", "exp_year": "1999"},
         "invalid_expiry_year", "card[exp_year]"),
    ],
)
def test_bad_card_details_are_card_errors(
    public_client: stripe.StripeClient, card: dict[str, str], code: str, param: str
) -> None:
    with pytest.raises(stripe.CardError) as raised:
        public_client.v1.tokens.create({"card": card})  # type: ignore[typeddict-item]
    assert raised.value.code == code
    assert raised.value.param == param


def test_missing_card_and_missing_token(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as nothing:
        client.v1.tokens.create({})
    assert nothing.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.tokens.retrieve("tok_doesnotexist")
    assert missing.value.http_status == 404
    assert missing.value.user_message == "No such token: 'tok_doesnotexist'"
