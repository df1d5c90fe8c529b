"""The parameters of ``/v1/prices``, also used inline by products (``default_price_data``) and plans."""

from __future__ import annotations

from typing import Any

from billfold.resources.base import list_params
from billfold.resources.billing.catalog import DecimalString
from billfold.wire.params import (
    Amount,
    AnyOf,
    Bool,
    Currency,
    Dict,
    Int,
    List,
    Metadata,
    Spec,
    Str,
)

INTERVALS = ("day", "week", "month", "year")
TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")
AGGREGATE_USAGES = ("last_during_period", "last_ever", "max", "sum")
MAX_TIERS = 250

TIER = Dict(
    fields={
        "up_to": AnyOf(options=(Str(enum=("inf",)), Int(min=1)), required=True),
        "flat_amount": Amount(),
        "flat_amount_decimal": DecimalString(),
        "unit_amount": Amount(),
        "unit_amount_decimal": DecimalString(),
    }
)
TIERS = List(item=TIER, max_items=MAX_TIERS)

CUSTOM_UNIT_AMOUNT = Dict(
    fields={
        "enabled": Bool(required=True),
        "maximum": Amount(),
        "minimum": Amount(),
        "preset": Amount(),
    }
)

CURRENCY_OPTION = Dict(
    fields={
        "custom_unit_amount": CUSTOM_UNIT_AMOUNT,
        "tax_behavior": Str(enum=TAX_BEHAVIORS),
        "tiers": TIERS,
        "unit_amount": Amount(),
        "unit_amount_decimal": DecimalString(),
    }
)


class CurrencyOptions(Dict):
    """A hash keyed by currency code, each value a currency option."""

    def parse(self, value: Any, param: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            return super().parse(value, param)
        for code in value:
            Currency().parse(code, f"{param}[{code}]")
        parsed = Dict(fields={code: CURRENCY_OPTION for code in value}).parse(value, param)
        return {code.lower(): option for code, option in parsed.items()}

    def openapi(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": CURRENCY_OPTION.openapi()}


CURRENCY_OPTIONS = CurrencyOptions()

RECURRING = Dict(
    fields={
        "interval": Str(enum=INTERVALS, required=True),
        "interval_count": Int(min=1),
        "usage_type": Str(enum=("licensed", "metered")),
        "meter": Str(),
        "trial_period_days": Int(min=1, max=730),
        # Legacy usage records only: refused from 2025-03-31.basil on.
        "aggregate_usage": Str(enum=AGGREGATE_USAGES),
    }
)

TRANSFORM_QUANTITY = Dict(
    fields={
        "divide_by": Int(min=1, required=True),
        "round": Str(enum=("down", "up"), required=True),
    }
)

PRODUCT_DATA = Dict(
    fields={
        "active": Bool(),
        "id": Str(),
        "metadata": Metadata(),
        "name": Str(required=True),
        "statement_descriptor": Str(max_length=22),
        "tax_code": Str(),
        "unit_label": Str(max_length=12),
    }
)

# The amount half of a price: what every way of creating one shares.
AMOUNTS: dict[str, Spec] = {
    "currency": Currency(required=True),
    "currency_options": CURRENCY_OPTIONS,
    "custom_unit_amount": CUSTOM_UNIT_AMOUNT,
    "metadata": Metadata(),
    "recurring": RECURRING,
    "tax_behavior": Str(enum=TAX_BEHAVIORS),
    "unit_amount": Amount(),
    "unit_amount_decimal": DecimalString(),
}

CREATE: dict[str, Spec] = {
    **AMOUNTS,
    "active": Bool(),
    "billing_scheme": Str(enum=("per_unit", "tiered")),
    "lookup_key": Str(max_length=200),
    "nickname": Str(),
    "product": Str(),
    "product_data": PRODUCT_DATA,
    "tiers": TIERS,
    "tiers_mode": Str(enum=("graduated", "volume")),
    "transfer_lookup_key": Bool(),
    "transform_quantity": TRANSFORM_QUANTITY,
}

# Products' ``default_price_data``: a price without tiers, lookup keys or a product of its own.
DEFAULT_PRICE_DATA = Dict(
    fields={
        **AMOUNTS,
        "recurring": Dict(
            fields={"interval": Str(enum=INTERVALS, required=True), "interval_count": Int(min=1)}
        ),
    }
)

UPDATE: dict[str, Spec] = {
    "active": Bool(),
    "currency_options": CurrencyOptions(emptyable=True),
    "lookup_key": Str(max_length=200, emptyable=True),
    "metadata": Metadata(),
    "nickname": Str(emptyable=True),
    "tax_behavior": Str(enum=TAX_BEHAVIORS),
    "transfer_lookup_key": Bool(),
}

LIST = list_params(
    active=Bool(),
    currency=Currency(),
    lookup_keys=List(item=Str(max_length=200), max_items=10),
    product=Str(),
    recurring=Dict(
        fields={
            "interval": Str(enum=INTERVALS),
            "meter": Str(),
            "usage_type": Str(enum=("licensed", "metered")),
        }
    ),
    type=Str(enum=("one_time", "recurring")),
)
