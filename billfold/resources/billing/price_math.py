"""What a price charges for a quantity: per unit, transformed quantities, graduated and volume tiers.

Pure functions over a stored price document, for the invoice and subscription code. Amounts are
in the currency's minor unit. Decimal amounts (``unit_amount_decimal``, tier ``*_decimal``) are
computed exactly with ``decimal`` and rounded once, half up, to a whole minor unit: Stripe rounds
at the line item, after multiplying by the quantity (0.05 x 30 = 1.5, billed as 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["amount_for_quantity", "exact_amount_for_quantity", "transformed_quantity"]


def _decimal(whole: Any, text: Any) -> Decimal | None:
    """A decimal amount from its string form, else from the integer field, else None."""
    if isinstance(text, str) and text:
        return Decimal(text)
    if isinstance(whole, int) and not isinstance(whole, bool):
        return Decimal(whole)
    return None


def transformed_quantity(price: Mapping[str, Any], quantity: int) -> int:
    """The quantity after ``transform_quantity`` (divide, then round up or down), if the price has one."""
    transform = price.get("transform_quantity")
    if not transform:
        return quantity
    divide_by = int(transform["divide_by"])
    whole, rest = divmod(quantity, divide_by)
    return whole + 1 if rest and transform.get("round") == "up" else whole


def _amounts(price: Mapping[str, Any], currency: str | None) -> Mapping[str, Any]:
    """The amount fields that apply: the price's own, or one of its ``currency_options``."""
    if currency is None or currency == price.get("currency"):
        return price
    options = price.get("currency_options") or {}
    if currency not in options:
        raise ValueError(f"price {price.get('id')} has no amounts in {currency}")
    option: Mapping[str, Any] = options[currency]
    return option


def _per_unit(amounts: Mapping[str, Any], quantity: int) -> Decimal:
    unit = _decimal(amounts.get("unit_amount"), amounts.get("unit_amount_decimal"))
    if unit is None:
        # A customer-chosen amount (custom_unit_amount) has no price of its own to multiply.
        raise ValueError("price has no unit amount (custom_unit_amount prices are priced by the buyer)")
    return unit * quantity


def _tier_bound(tier: Mapping[str, Any]) -> int | None:
    bound = tier.get("up_to")
    return None if bound in (None, "inf") else int(bound)


def _tier_charge(tier: Mapping[str, Any], units: int) -> Decimal:
    unit = _decimal(tier.get("unit_amount"), tier.get("unit_amount_decimal")) or Decimal(0)
    flat = _decimal(tier.get("flat_amount"), tier.get("flat_amount_decimal")) or Decimal(0)
    return unit * units + flat


def _graduated(tiers: list[Mapping[str, Any]], quantity: int) -> Decimal:
    """Each tier charges the units that fall in it; a tier's flat amount once any unit reaches it.
    The first tier's flat amount is charged even for a quantity of zero."""
    total = Decimal(0)
    lower = 0
    for index, tier in enumerate(tiers):
        bound = _tier_bound(tier)
        upper = quantity if bound is None else min(quantity, bound)
        units = max(upper - lower, 0)
        if units > 0 or index == 0:
            total += _tier_charge(tier, units)
        if bound is None or quantity <= bound:
            break
        lower = bound
    return total


def _volume(tiers: list[Mapping[str, Any]], quantity: int) -> Decimal:
    """The one tier the whole quantity falls in prices every unit."""
    for tier in tiers:
        bound = _tier_bound(tier)
        if bound is None or quantity <= bound:
            return _tier_charge(tier, quantity)
    raise ValueError("tiers must end with an up_to=inf tier")


def exact_amount_for_quantity(
    price: Mapping[str, Any], quantity: int, currency: str | None = None
) -> Decimal:
    """The unrounded amount a price charges for ``quantity`` (before any proration)."""
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    amounts = _amounts(price, currency)
    if price.get("billing_scheme") == "tiered":
        tiers: list[Mapping[str, Any]] = list(amounts.get("tiers") or [])
        if not tiers:
            raise ValueError(f"tiered price {price.get('id')} has no tiers")
        if price.get("tiers_mode") == "volume":
            return _volume(tiers, quantity)
        return _graduated(tiers, quantity)
    return _per_unit(amounts, transformed_quantity(price, quantity))


def amount_for_quantity(price: Mapping[str, Any], quantity: int, currency: str | None = None) -> int:
    """The amount, in minor units, a price charges for ``quantity``: Stripe's line-item amount."""
    exact = exact_amount_for_quantity(price, quantity, currency)
    return int(exact.to_integral_value(rounding=ROUND_HALF_UP))
