from __future__ import annotations

import pytest

from billfold.resources.payments import test_cards as tc

ALL_ALIASES = {**tc.PAYMENT_METHOD_ALIASES, **tc.TOKEN_ALIASES}


@pytest.mark.parametrize("number", sorted(tc.CARDS))
def test_every_number_passes_luhn_unless_it_simulates_a_bad_number(number: str) -> None:
    card = tc.CARDS[number]
    assert card.number == number
    assert tc.luhn_valid(number) is (card.error_code != "incorrect_number")


@pytest.mark.parametrize("test_id", sorted(ALL_ALIASES))
def test_every_alias_resolves_to_a_card_in_the_table(test_id: str) -> None:
    card = tc.card_for_test_id(test_id)
    assert card is not None
    assert card.number == ALL_ALIASES[test_id]


def test_aliases_use_stripe_prefixes() -> None:
    assert all(name.startswith("pm_card_") for name in tc.PAYMENT_METHOD_ALIASES)
    assert all(name.startswith("tok_") for name in tc.TOKEN_ALIASES)


def test_every_decline_carries_a_stripe_message() -> None:
    for card in tc.CARDS.values():
        if card.decline_code is not None:
            assert card.message == tc.DECLINE_MESSAGES[card.decline_code]


def test_generic_decline() -> None:
    card = tc.card_for_number("4000 0000 0000 0002")
    assert card is not None
    assert card.decline_code == "generic_decline"
    assert card.error_code is None  # the error code is card_declined
    assert card.message == "Your card was declined."
    assert card.attach_fails
    assert tc.card_for_test_id("pm_card_chargeDeclined") == card
    assert tc.card_for_test_id("tok_chargeDeclined") == card


def test_insufficient_funds() -> None:
    card = tc.card_for_number("4000000000009995")
    assert card is not None
    assert card.decline_code == "insufficient_funds"
    assert card.message == "Your card has insufficient funds."
    assert tc.card_for_test_id("pm_card_chargeDeclinedInsufficientFunds") == card


def test_declines_with_their_own_error_code() -> None:
    expected = {
        "4000000000000069": ("expired_card", "Your card has expired."),
        "4000000000000127": ("incorrect_cvc", "Your card's security code is incorrect."),
        "4000000000000119": (
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
        "4242424242424241": ("incorrect_number", "Your card number is incorrect."),
    }
    for number, (code, message) in expected.items():
        card = tc.CARDS[number]
        assert (card.error_code, card.message) == (code, message)


def test_always_authenticate_card_requires_3ds() -> None:
    card = tc.card_for_test_id("pm_card_authenticationRequired")
    assert card is not None
    assert card.number == "4000002760003184"
    assert card.three_d_secure == "required"
    assert tc.CARDS["4000002500003155"].three_d_secure == "required_unless_setup"


def test_3ds_card_that_then_lacks_funds() -> None:
    card = tc.CARDS["4000008260003178"]
    assert card.three_d_secure == "required"
    assert card.decline_code == "insufficient_funds"
    assert not card.attach_fails


def test_decline_after_attaching() -> None:
    card = tc.card_for_test_id("pm_card_chargeCustomerFail")
    assert card is not None
    assert card.number == "4000000000000341"
    assert card.charge_fails_after_attach
    assert not card.attach_fails
    assert card.decline_code == "generic_decline"


def test_radar_cards() -> None:
    blocked = tc.CARDS["4100000000000019"]
    assert blocked.radar_blocked and blocked.risk_level == "highest"
    assert blocked.decline_code == "fraudulent"
    assert tc.CARDS["4000000000009235"].risk_level == "elevated"
    assert tc.CARDS["4000000000000101"].cvc_check == "fail"


def test_dispute_cards() -> None:
    assert tc.CARDS["4000000000000259"].dispute == "fraudulent"
    assert tc.CARDS["4000000000002685"].dispute == "product_not_received"
    assert tc.CARDS["4000000000001976"].dispute == "inquiry"
    assert tc.CARDS["4000000000005423"].early_fraud_warning


def test_bypass_pending_cards() -> None:
    assert tc.CARDS["4000000000000077"].bypass_pending
    international = tc.CARDS["4000003720000278"]
    assert international.bypass_pending and international.country != "US"


def test_country_aliases() -> None:
    gb = tc.card_for_test_id("pm_card_gb")
    assert gb is not None and gb.country == "GB"
    de = tc.card_for_test_id("tok_de")
    assert de is not None and de.country == "DE"


def test_unknown_numbers_and_ids() -> None:
    assert tc.card_for_number("4111111111111111") is None
    assert tc.luhn_valid("4111 1111 1111 1111")
    assert tc.card_for_test_id("pm_card_nonexistent") is None
    assert not tc.luhn_valid("")
    assert not tc.luhn_valid("4242-abcd")


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4111111111111111", "visa"),
        ("5425233430109903", "mastercard"),
        ("2221000000000009", "mastercard"),
        ("340000000000009", "amex"),
        ("6011000000000004", "discover"),
        ("6445644564456445", "discover"),
        ("30000000000004", "diners"),
        ("3530111333300000", "jcb"),
        ("6212345678901265", "unionpay"),
        ("9999999999999995", "unknown"),
    ],
)
def test_brand_for_number(number: str, brand: str) -> None:
    assert tc.brand_for_number(number) == brand


def test_brand_of_table_cards_comes_from_the_table() -> None:
    for number, card in tc.CARDS.items():
        assert tc.brand_for_number(number) == card.brand
