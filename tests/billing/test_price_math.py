"""amount_for_quantity: what a price charges, with the Stripe docs' own worked examples."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billfold.resources.billing.price_math import transformed_quantity
from billfold.resources.billing.prices import amount_for_quantity, exact_amount_for_quantity


def _per_unit(unit_amount: int | None = None, decimal: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "price_test",
        "billing_scheme": "per_unit",
        "currency": "usd",
        "unit_amount": unit_amount,
        "unit_amount_decimal": decimal if decimal is not None else (str(unit_amount) if unit_amount is not None else None),
        "transform_quantity": None,
        **extra,
    }


def _tier(up_to: int | None, unit: int | None = None, flat: int | None = None, unit_decimal: str | None = None) -> dict[str, Any]:
    return {
        "up_to": up_to,
        "unit_amount": unit,
        "unit_amount_decimal": unit_decimal if unit_decimal is not None else (str(unit) if unit is not None else None),
        "flat_amount": flat,
        "flat_amount_decimal": str(flat) if flat is not None else None,
    }


# The Stripe docs' fonts example: 1-5 at 7 USD, 6-10 at 6.50 USD, 11+ at 6 USD.
FONTS = [_tier(5, 700), _tier(10, 650), _tier(None, 600)]


def _tiered(mode: str, tiers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "price_tiered", "billing_scheme": "tiered", "tiers_mode": mode, "currency": "usd", "tiers": tiers}


@pytest.mark.parametrize(("quantity", "amount"), [(0, 0), (1, 2000), (3, 6000), (1000, 2_000_000)])
def test_per_unit(quantity: int, amount: int) -> None:
    assert amount_for_quantity(_per_unit(2000), quantity) == amount


def test_a_free_price_is_free() -> None:
    assert amount_for_quantity(_per_unit(0), 12) == 0


@pytest.mark.parametrize(
    ("decimal", "quantity", "amount"),
    [
        ("0.05", 30, 2),  # 1.5 cents rounds half up, as the docs' example says
        ("0.05", 29, 1),  # 1.45 rounds down
        ("0.05", 10, 1),  # 0.5 rounds up
        ("0.05", 9, 0),  # 0.45 rounds down
        ("105.5", 1, 106),
        ("105.5", 2, 211),
        ("0.000000000001", 1_000_000_000_000, 1),
        ("12.345678901234", 1000, 12346),
    ],
)
def test_decimal_amounts_round_half_up_at_the_line(decimal: str, quantity: int, amount: int) -> None:
    assert amount_for_quantity(_per_unit(None, decimal), quantity) == amount


def test_exact_amounts_are_decimals_never_floats() -> None:
    exact = exact_amount_for_quantity(_per_unit(None, "0.1"), 3)
    assert isinstance(exact, Decimal)
    assert exact == Decimal("0.3")


@pytest.mark.parametrize(
    ("round_", "quantity", "bundles"),
    [("up", 0, 0), ("up", 1, 1), ("up", 5, 1), ("up", 6, 2), ("down", 4, 0), ("down", 5, 1), ("down", 11, 2)],
)
def test_transform_quantity(round_: str, quantity: int, bundles: int) -> None:
    price = _per_unit(1000, transform_quantity={"divide_by": 5, "round": round_})
    assert transformed_quantity(price, quantity) == bundles
    assert amount_for_quantity(price, quantity) == bundles * 1000


@pytest.mark.parametrize(
    ("quantity", "amount"),
    [(1, 700), (5, 3500), (6, 3900), (10, 6500), (11, 6600), (20, 12000), (25, 15000)],
)
def test_volume_tiers_price_every_unit_at_one_tier(quantity: int, amount: int) -> None:
    assert amount_for_quantity(_tiered("volume", FONTS), quantity) == amount


@pytest.mark.parametrize(
    ("quantity", "amount"),
    # 6 fonts: 5 x 7 + 1 x 6.50 = 41.50 USD; 20 fonts: 35 + 32.50 + 10 x 6 = 127.50 USD.
    [(1, 700), (5, 3500), (6, 4150), (10, 6750), (11, 7350), (20, 12750)],
)
def test_graduated_tiers_price_each_unit_in_its_tier(quantity: int, amount: int) -> None:
    assert amount_for_quantity(_tiered("graduated", FONTS), quantity) == amount


# Flat fees: 0-5 for 10 USD flat, then 6-10 at 1 USD each plus 5 USD flat, then 1 USD each.
FLAT = [_tier(5, 0, 1000), _tier(10, 100, 500), _tier(None, 100)]


@pytest.mark.parametrize(("quantity", "amount"), [(0, 1000), (3, 1000), (5, 1000), (6, 1600), (10, 2000), (12, 2200)])
def test_graduated_flat_amounts_once_a_tier_is_reached(quantity: int, amount: int) -> None:
    assert amount_for_quantity(_tiered("graduated", FLAT), quantity) == amount


@pytest.mark.parametrize(("quantity", "amount"), [(0, 1000), (5, 1000), (6, 1100), (12, 1200)])
def test_volume_flat_amounts_belong_to_the_tier_reached(quantity: int, amount: int) -> None:
    assert amount_for_quantity(_tiered("volume", FLAT), quantity) == amount


def test_tiers_with_decimal_unit_amounts_round_once() -> None:
    tiers = [_tier(100, unit_decimal="0.25"), _tier(None, unit_decimal="0.125")]
    # 100 x 0.25 + 3 x 0.125 = 25.375, billed as 25
    assert amount_for_quantity(_tiered("graduated", tiers), 103) == 25
    assert exact_amount_for_quantity(_tiered("graduated", tiers), 103) == Decimal("25.375")
    # 4 x 0.125 ... volume: 104 units at 0.125 = 13
    assert amount_for_quantity(_tiered("volume", tiers), 104) == 13


def test_tiers_may_be_written_with_inf() -> None:
    tiers = [_tier(5, 700), {**_tier(None, 600), "up_to": "inf"}]
    assert amount_for_quantity(_tiered("graduated", tiers), 6) == 4100


def test_currency_options_price_in_their_own_currency() -> None:
    price = _per_unit(1000, currency_options={"eur": {"unit_amount": 900, "unit_amount_decimal": "900"}})
    assert amount_for_quantity(price, 2) == 2000
    assert amount_for_quantity(price, 2, currency="usd") == 2000
    assert amount_for_quantity(price, 2, currency="eur") == 1800
    with pytest.raises(ValueError):
        amount_for_quantity(price, 2, currency="gbp")


def test_tiered_currency_options_use_their_own_tiers() -> None:
    price = {**_tiered("volume", FONTS), "currency_options": {"eur": {"tiers": [_tier(5, 600), _tier(None, 500)]}}}
    assert amount_for_quantity(price, 6, currency="eur") == 3000


def test_refusals() -> None:
    with pytest.raises(ValueError):
        amount_for_quantity(_per_unit(100), -1)
    with pytest.raises(ValueError):
        amount_for_quantity(_per_unit(None, None, custom_unit_amount={"minimum": 100}), 1)
    with pytest.raises(ValueError):
        amount_for_quantity(_tiered("volume", []), 1)
