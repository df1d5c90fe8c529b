"""Building a price document from validated parameters, with Stripe's rules on how they combine.

Every check runs before anything is written, so a refused price changes nothing. ``at`` names
where the parameters sit in the request (``""`` for ``/v1/prices``, ``default_price_data`` for a
product's inline price) so each error points at the parameter as the caller sent it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from billfold import ids
from billfold.errors import InvalidRequestError
from billfold.resources.billing.catalog import no_such
from billfold.wire.versions import at_least

if TYPE_CHECKING:
    from billfold.context import Ctx

# The first version whose metered prices are backed by Billing Meters (no aggregate_usage).
METERS_REQUIRED = "2025-03-31.basil"
# Stripe's longest billing interval: three years.
MAX_INTERVAL_COUNT = {"day": 1095, "week": 156, "month": 36, "year": 3}


def param(at: str, *names: str | int) -> str:
    """``param("default_price_data", "recurring", "interval")`` -> ``default_price_data[recurring][interval]``."""
    parts = [str(name) for name in names]
    if not at:
        at, parts = parts[0], parts[1:]
    return at + "".join(f"[{part}]" for part in parts)


def _one_of(at: str, first: str, second: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"You may only specify one of these parameters: {first}, {second}.", param=param(at, first)
    )


def amount_pair(whole: int | None, decimal: str | None) -> tuple[int | None, str | None]:
    """``unit_amount`` and ``unit_amount_decimal`` as Stripe shows them: the integer only when whole."""
    if whole is not None:
        return whole, str(whole)
    if decimal is not None:
        value = Decimal(decimal)
        return (int(value) if value == value.to_integral_value() else None), decimal
    return None, None


def _tier(tier: dict[str, Any], at: str, index: int, last: bool) -> dict[str, Any]:
    where = param(at, "tiers", index)
    for name in ("unit_amount", "flat_amount"):
        if name in tier and f"{name}_decimal" in tier:
            raise _one_of(where, name, f"{name}_decimal")
    if not any(name in tier for name in ("unit_amount", "unit_amount_decimal", "flat_amount", "flat_amount_decimal")):
        raise InvalidRequestError(
            "Each tier must have at least one of `unit_amount`, `unit_amount_decimal`, `flat_amount` "
            "or `flat_amount_decimal` set.",
            param=where,
        )
    up_to = tier["up_to"]
    if last and up_to != "inf":
        raise InvalidRequestError(
            "The last tier must have `up_to` set to `inf`.", param=param(where, "up_to")
        )
    if not last and up_to == "inf":
        raise InvalidRequestError(
            "Only the last tier may have `up_to` set to `inf`.", param=param(where, "up_to")
        )
    unit_amount, unit_decimal = amount_pair(tier.get("unit_amount"), tier.get("unit_amount_decimal"))
    flat_amount, flat_decimal = amount_pair(tier.get("flat_amount"), tier.get("flat_amount_decimal"))
    return {
        "flat_amount": flat_amount,
        "flat_amount_decimal": flat_decimal,
        "unit_amount": unit_amount,
        "unit_amount_decimal": unit_decimal,
        "up_to": None if up_to == "inf" else up_to,
    }


def tiers(raw: list[dict[str, Any]], at: str) -> list[dict[str, Any]]:
    if not raw:
        raise InvalidRequestError("Missing required param: tiers.", param=param(at, "tiers"), code="parameter_missing")
    result = [_tier(tier, at, i, i == len(raw) - 1) for i, tier in enumerate(raw)]
    bounds = [tier["up_to"] for tier in result[:-1]]
    for i in range(1, len(bounds)):
        if bounds[i] <= bounds[i - 1]:
            raise InvalidRequestError(
                "Tiers must be sorted by `up_to` in increasing order, and no two tiers may share "
                "the same `up_to`.",
                param=param(at, "tiers", i, "up_to"),
            )
    return result


def _custom_unit_amount(custom: dict[str, Any], at: str) -> dict[str, Any]:
    where = param(at, "custom_unit_amount")
    if not custom["enabled"]:
        raise InvalidRequestError(
            "custom_unit_amount[enabled] must be true to let customers choose the amount.",
            param=param(where, "enabled"),
        )
    minimum, maximum, preset = custom.get("minimum"), custom.get("maximum"), custom.get("preset")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise InvalidRequestError(
            "custom_unit_amount[minimum] must be less than or equal to custom_unit_amount[maximum].",
            param=param(where, "minimum"),
        )
    if preset is not None and (
        (minimum is not None and preset < minimum) or (maximum is not None and preset > maximum)
    ):
        raise InvalidRequestError(
            "custom_unit_amount[preset] must be between custom_unit_amount[minimum] and "
            "custom_unit_amount[maximum].",
            param=param(where, "preset"),
        )
    return {"maximum": maximum, "minimum": minimum, "preset": preset}


def recurring(ctx: Ctx, raw: dict[str, Any], at: str) -> dict[str, Any]:
    interval = raw["interval"]
    count = raw.get("interval_count", 1)
    if count > MAX_INTERVAL_COUNT[interval]:
        raise InvalidRequestError(
            f"Invalid {param(at, 'recurring', 'interval_count')}: the maximum billing interval is 3 "
            "years (3 years, 36 months, 156 weeks or 1095 days).",
            param=param(at, "recurring", "interval_count"),
        )
    usage_type = raw.get("usage_type") or "licensed"
    meters = at_least(ctx.api_version, METERS_REQUIRED)
    if "aggregate_usage" in raw:
        if meters:
            name = param(at, "recurring", "aggregate_usage")
            raise InvalidRequestError(
                f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
            )
        if usage_type != "metered":
            raise InvalidRequestError(
                "aggregate_usage can only be set when usage_type is `metered`.",
                param=param(at, "recurring", "aggregate_usage"),
            )
    meter = raw.get("meter")
    if meter is not None:
        if usage_type != "metered":
            raise InvalidRequestError(
                "A meter can only be set on prices with `recurring[usage_type]=metered`.",
                param=param(at, "recurring", "meter"),
            )
        if ctx.objects.get(meter, "billing.meter") is None:
            raise no_such("billing.meter", meter, param(at, "recurring", "meter"))
    elif usage_type == "metered" and meters:
        raise InvalidRequestError(
            f"Starting with Stripe version `{METERS_REQUIRED}`, metered prices must be backed by meters."
        )
    aggregate = raw.get("aggregate_usage", "sum") if usage_type == "metered" and not meters else None
    return {
        "aggregate_usage": aggregate,
        "interval": interval,
        "interval_count": count,
        "meter": meter,
        "trial_period_days": raw.get("trial_period_days"),
        "usage_type": usage_type,
    }


def _per_unit_amounts(params: dict[str, Any], at: str, custom_allowed: bool) -> dict[str, Any]:
    """The amount of a per-unit price (or of one of its currency options)."""
    if "unit_amount" in params and "unit_amount_decimal" in params:
        raise _one_of(at, "unit_amount", "unit_amount_decimal")
    custom = params.get("custom_unit_amount")
    if custom is not None:
        for name in ("unit_amount", "unit_amount_decimal"):
            if name in params:
                raise _one_of(at, "custom_unit_amount", name)
        if not custom_allowed:
            raise InvalidRequestError(
                "custom_unit_amount is not supported for recurring prices.",
                param=param(at, "custom_unit_amount"),
            )
        custom = _custom_unit_amount(custom, at)
    elif "unit_amount" not in params and "unit_amount_decimal" not in params:
        raise InvalidRequestError(
            "Prices require an `unit_amount` or `unit_amount_decimal` parameter to be set."
        )
    unit_amount, unit_decimal = amount_pair(params.get("unit_amount"), params.get("unit_amount_decimal"))
    return {"custom_unit_amount": custom, "unit_amount": unit_amount, "unit_amount_decimal": unit_decimal}


def _refuse_with_tiers(params: dict[str, Any], at: str, names: tuple[str, ...]) -> None:
    for name in names:
        if name in params:
            raise InvalidRequestError(
                f"You cannot set `{name}` on a price with `billing_scheme=tiered`: tiered prices "
                "take their amounts from `tiers`.",
                param=param(at, name),
            )


def currency_options(
    options: dict[str, Any], price: dict[str, Any], at: str
) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    tiered = price["billing_scheme"] == "tiered"
    for code, option in options.items():
        where = param(at, "currency_options", code)
        if code == price["currency"]:
            raise InvalidRequestError(
                f"`{code}` is this price's own currency: set its amounts on the price itself, not in "
                "currency_options.",
                param=where,
            )
        entry: dict[str, Any] = {"tax_behavior": option.get("tax_behavior") or price["tax_behavior"]}
        if tiered:
            _refuse_with_tiers(option, where, ("unit_amount", "unit_amount_decimal", "custom_unit_amount"))
            option_tiers = tiers(option.get("tiers") or [], where)
            if [t["up_to"] for t in option_tiers] != [t["up_to"] for t in price["tiers"]]:
                raise InvalidRequestError(
                    "The tiers of each currency option must have the same `up_to` values as the "
                    "price's own tiers.",
                    param=param(where, "tiers"),
                )
            entry.update(custom_unit_amount=None, tiers=option_tiers, unit_amount=None, unit_amount_decimal=None)
        else:
            if "tiers" in option:
                raise InvalidRequestError(
                    "Tiers can only be set on prices with `billing_scheme=tiered`.",
                    param=param(where, "tiers"),
                )
            entry.update(_per_unit_amounts(option, where, custom_allowed=price["type"] == "one_time"))
        result[code] = entry
    return result


def build(ctx: Ctx, params: dict[str, Any], product_id: str, at: str = "") -> dict[str, Any]:
    """A new price document (not yet stored) for ``product_id``, or Stripe's refusal."""
    scheme = params.get("billing_scheme") or "per_unit"
    raw_recurring = params.get("recurring")
    price: dict[str, Any] = {
        "id": ids.new_id("price", 24),
        "object": "price",
        "active": params.get("active", True),
        "billing_scheme": scheme,
        "created": ctx.now,
        "currency": params["currency"],
        "custom_unit_amount": None,
        "livemode": ctx.livemode,
        "lookup_key": params.get("lookup_key"),
        "metadata": {k: v for k, v in (params.get("metadata") or {}).items() if v is not None},
        "nickname": params.get("nickname"),
        "product": product_id,
        "recurring": None,
        "tax_behavior": params.get("tax_behavior") or "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if raw_recurring is not None else "one_time",
        "unit_amount": None,
        "unit_amount_decimal": None,
    }
    if scheme == "tiered":
        if raw_recurring is None:
            raise InvalidRequestError(
                "Prices with `type=one_time` are not supported with tiered billing.", param="interval"
            )
        _refuse_with_tiers(params, at, ("unit_amount", "unit_amount_decimal", "custom_unit_amount"))
        if "transform_quantity" in params:
            raise InvalidRequestError(
                "transform_quantity cannot be combined with tiers.", param=param(at, "transform_quantity")
            )
        if "tiers_mode" not in params:
            raise InvalidRequestError(
                "Missing required param: tiers_mode.", param=param(at, "tiers_mode"), code="parameter_missing"
            )
        price["tiers"] = tiers(params.get("tiers") or [], at)
        price["tiers_mode"] = params["tiers_mode"]
    else:
        for name in ("tiers", "tiers_mode"):
            if name in params:
                raise InvalidRequestError(
                    f"`{name}` can only be set on prices with `billing_scheme=tiered`.", param=param(at, name)
                )
        price.update(_per_unit_amounts(params, at, custom_allowed=raw_recurring is None))
        if "transform_quantity" in params:
            price["transform_quantity"] = dict(params["transform_quantity"])
    if raw_recurring is not None:
        price["recurring"] = recurring(ctx, raw_recurring, at)
    if params.get("currency_options"):
        price["currency_options"] = currency_options(params["currency_options"], price, at)
    return price
