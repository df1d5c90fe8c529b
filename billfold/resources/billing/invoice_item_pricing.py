"""What an invoice item charges: an ``amount``, a one-time ``price`` (``pricing[price]`` since
2025-03-31.basil) or inline ``price_data`` times a ``quantity``, or a ``unit_amount``; and the
item's shape for the requested API version."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.resources.billing import price_build, prices
from billfold.resources.billing.catalog import no_such
from billfold.resources.billing.invoice_lines import PARENT_SINCE, pricing_for, unit_decimal
from billfold.resources.billing.price_math import exact_amount_for_quantity
from billfold.wire.present import render
from billfold.wire.versions import at_least

__all__ = ["amounts", "default_description", "parent", "render_item"]

_SOURCES = ("amount", "price", "price_data", "unit_amount", "unit_amount_decimal")
LEGACY_FIELDS = (
    "id", "object", "amount", "currency", "customer", "date", "description", "discountable",
    "discounts", "invoice", "livemode", "metadata", "period", "price", "proration",
    "quantity", "subscription", "subscription_item", "tax_rates", "test_clock", "unit_amount",
    "unit_amount_decimal",
)
ONE_TIME_ONLY = (
    "The price specified is set to `type=recurring` but this field only accepts prices with "
    "`type=one_time`."
)
INACTIVE = "The price specified is inactive. This field only accepts active prices."


def _rounded(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _price(ctx: Ctx, price_id: str, param: str, currency: str | None) -> dict[str, Any]:
    price = ctx.objects.get(price_id, "price")
    if price is None:
        raise no_such("price", price_id, param)
    if not price.get("active"):
        raise InvalidRequestError(INACTIVE, param=param)
    if price.get("type") == "recurring":
        raise InvalidRequestError(ONE_TIME_ONLY, param=param)
    if currency is not None and currency != price["currency"] and currency not in (price.get("currency_options") or {}):
        raise InvalidRequestError(
            f"The price specified does not support currency `{currency}`.", param="currency"
        )
    return price


def _inline_price(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    if ctx.objects.get(data["product"], "product") is None:
        raise no_such("product", data["product"], "price_data[product]")
    fields = {k: v for k, v in data.items() if k != "product"}
    price = price_build.build(ctx, {**fields, "active": False}, data["product"], at="price_data")
    return prices.insert(ctx, price)


def amounts(
    ctx: Ctx,
    params: dict[str, Any],
    *,
    currency: str | None,
    creating: bool,
    current: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The item's ``amount``, ``currency``, ``quantity`` and ``pricing`` from its parameters."""
    if "price" in params and "pricing" in params:
        raise InvalidRequestError("You may only specify one of these parameters: price, pricing.", param="pricing")
    given = {**params}
    if (params.get("pricing") or {}).get("price"):
        given["price"] = params["pricing"]["price"]
    sources = [name for name in _SOURCES if given.get(name) is not None]
    if len(sources) > 1:
        raise InvalidRequestError(
            f"You may only specify one of these parameters: {', '.join(sources)}.", param=sources[-1]
        )
    quantity = int(given.get("quantity", (current or {}).get("quantity") or 1))
    if not sources:
        if creating:
            raise InvalidRequestError(
                "Missing required param: amount (or price, price_data, unit_amount).",
                param="amount", code="parameter_missing",
            )
        assert current is not None
        details = (current.get("pricing") or {}).get("price_details")
        if details:
            sources, given = ["price"], {**given, "price": details["price"]}
        else:
            unit = (current.get("pricing") or {}).get("unit_amount_decimal") or "0"
            sources, given = ["unit_amount_decimal"], {**given, "unit_amount_decimal": unit}
    source = sources[0]
    price: dict[str, Any] | None = None
    if source == "price":
        price = _price(ctx, str(given["price"]), "pricing[price]" if "pricing" in params else "price", currency)
        currency = currency or str(price["currency"])
        try:
            exact = exact_amount_for_quantity(price, quantity, currency)
        except ValueError as exc:
            raise InvalidRequestError(f"This price cannot be used on an invoice item: {exc}.", param="price") from exc
        amount = _rounded(exact)
        unit = price.get("unit_amount_decimal") or unit_decimal(amount, quantity)
    elif source == "price_data":
        data = given["price_data"]
        if currency is not None and currency != data["currency"]:
            raise InvalidRequestError(
                "The currency of price_data must match the invoice item's currency.",
                param="price_data[currency]",
            )
        price = _inline_price(ctx, data)
        currency = str(price["currency"])
        amount = _rounded(exact_amount_for_quantity(price, quantity, currency))
        unit = price.get("unit_amount_decimal") or unit_decimal(amount, quantity)
    else:
        if currency is None:
            raise InvalidRequestError("Missing required param: currency.", param="currency", code="parameter_missing")
        if source == "amount":
            amount = int(given["amount"])
            unit = unit_decimal(amount, quantity)
        else:
            amount = _rounded(Decimal(str(given[source])) * quantity)
            unit = str(given[source])
    return {
        "amount": amount,
        "currency": currency,
        "price": price,
        "pricing": pricing_for(price, str(unit)),
        "quantity": quantity,
    }


def parent(subscription: str | None, subscription_item: str | None) -> dict[str, Any] | None:
    if subscription is None:
        return None
    return {
        "subscription_details": {"subscription": subscription, "subscription_item": subscription_item},
        "type": "subscription_details",
    }


def default_description(ctx: Ctx, money: dict[str, Any]) -> str | None:
    """An item of a price is described by its product's name, as Stripe does."""
    price = money.get("price")
    if price is None:
        return None
    product = ctx.objects.get(str(price["product"]), "product", include_deleted=True) or {}
    name = product.get("name")
    return str(name) if name else None


def _tax_rates(ctx: Ctx, rate_ids: list[Any]) -> list[dict[str, Any]]:
    shown = []
    for rate_id in rate_ids:
        rate = ctx.objects.get(str(rate_id), "tax_rate")
        if rate is not None:
            shown.append(render(ctx, rate))
    return shown


def render_item(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    data.pop("created", None)
    data["tax_rates"] = _tax_rates(ctx, data.get("tax_rates") or [])
    if at_least(ctx.api_version, PARENT_SINCE):
        data.pop("subscription", None)
        data.pop("subscription_item", None)
        return data
    details = (data.get("pricing") or {}).get("price_details") or {}
    price = ctx.objects.get(str(details["price"]), "price") if details.get("price") else None
    unit = (data.get("pricing") or {}).get("unit_amount_decimal")
    whole = Decimal(unit) if unit is not None else None
    data.update(
        price=render(ctx, price) if price else None,
        unit_amount=int(whole) if whole is not None and whole == whole.to_integral_value() else None,
        unit_amount_decimal=unit,
    )
    return {name: data.get(name) for name in LEGACY_FIELDS}
