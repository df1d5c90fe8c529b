"""Card fees: Stripe's 2.9% + 30¢ in integer minor units, and pricing an operator can change."""

from __future__ import annotations

import pytest
import stripe

from billfold.ledger.balance_transactions import card_fee_for
from billfold.ledger.money import exponent, format_amount, rescale
from billfold.ledger.pricing import SettingError, parse_assignments
from tests.support.server import Server


@pytest.mark.parametrize(
    ("amount", "fee"),
    [(1000, 59), (2000, 88), (999, 59), (50, 31), (1017, 59), (1018, 60), (99_999_999, 2_900_030)],
)
def test_standard_card_fee_rounds_half_up_in_cents(amount: int, fee: int) -> None:
    assert card_fee_for(amount, "usd", 290, 30) == fee


def test_zero_decimal_currency_has_no_fractional_fixed_fee() -> None:
    # 30 cents is 0.30 of a major unit: no whole yen, so only the percentage applies.
    assert card_fee_for(1000, "jpy", 290, 30) == 29
    assert card_fee_for(1017, "jpy", 290, 30) == 29  # 29.493 rounds down
    assert card_fee_for(1018, "jpy", 290, 30) == 30  # 29.522 rounds up
    assert card_fee_for(1000, "jpy", 290, 100) == 30  # a fixed fee of 1.00 is one yen


def test_three_decimal_currency_scales_the_fixed_fee() -> None:
    assert card_fee_for(10_000, "kwd", 290, 30) == 290 + 300


def test_custom_pricing() -> None:
    assert card_fee_for(1000, "usd", 250, 0) == 25
    assert card_fee_for(1000, "usd", 0, 0) == 0
    assert card_fee_for(1000, "eur", 140, 25) == 39


def test_money_helpers() -> None:
    assert exponent("usd") == 2 and exponent("JPY") == 0 and exponent("bhd") == 3
    assert rescale(30, 2, "jpy") == 0
    assert rescale(50, 2, "jpy") == 1
    assert format_amount(2500, "usd") == "$25.00"
    assert format_amount(21, "usd") == "$0.21"
    assert format_amount(1000, "jpy") == "¥1,000"
    assert format_amount(125_000, "usd") == "$1,250.00"
    assert format_amount(1500, "kwd") == "1.500 KWD"
    assert format_amount(-705, "chf") == "-7.05 CHF"


def test_pricing_assignments_are_validated() -> None:
    assert parse_assignments(["card_fee_basis_points=250", "settlement_days=0"]) == {
        "card_fee_basis_points": 250,
        "settlement_days": 0,
    }
    for bad in ("card_fee=1", "card_fee_fixed", "card_fee_fixed=1.5", "settlement_days=-1",
                "card_fee_basis_points=10001"):
        with pytest.raises(SettingError):
            parse_assignments([bad])


def _balance_transaction(client: stripe.StripeClient, amount: int) -> stripe.BalanceTransaction:
    intent = client.v1.payment_intents.create(
        {"amount": amount, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    return client.v1.balance_transactions.retrieve(str(charge.balance_transaction))


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_payments_after_a_pricing_change_use_the_new_fee(fresh_server: Server) -> None:
    fresh_server.start()
    client = stripe.StripeClient(
        fresh_server.secret_key, base_addresses={"api": fresh_server.url}, max_network_retries=0
    )
    before = _balance_transaction(client, 1000)
    assert (before.fee, before.net) == (59, 941)
    assert before.available_on - before.created == 2 * 86_400

    shown = fresh_server.cli("settings")
    assert "card_fee_basis_points=290" in shown and "card_fee_fixed=30" in shown

    changed = fresh_server.cli(
        "settings", "set", "card_fee_basis_points=250", "card_fee_fixed=10", "settlement_days=7"
    )
    assert "card_fee_basis_points=250" in changed and "settlement_days=7" in changed

    after = _balance_transaction(client, 1000)
    assert (after.fee, after.net) == (35, 965)
    assert after.fee_details[0].amount == 35
    assert after.available_on - after.created == 7 * 86_400
    # The transaction recorded earlier keeps the fee it was charged.
    assert client.v1.balance_transactions.retrieve(before.id).fee == 59


def test_a_bad_setting_is_refused(server: Server) -> None:
    import subprocess

    with pytest.raises(subprocess.CalledProcessError) as raised:
        server.cli("settings", "set", "card_fee_basis_points=lots")
    assert "whole number" in raised.value.stderr
