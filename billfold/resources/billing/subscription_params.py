"""The parameters of ``/v1/subscriptions`` and ``/v1/subscription_items``, declared once."""

from __future__ import annotations

from billfold.resources.base import list_params
from billfold.resources.billing.catalog import DecimalString
from billfold.resources.billing.price_params import INTERVALS, TAX_BEHAVIORS
from billfold.wire.params import (
    CREATED,
    LIST_PARAMS,
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
    Timestamp,
)

MAX_ITEMS = 20
PAYMENT_BEHAVIORS = ("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete")
PRORATION_BEHAVIORS = ("always_invoice", "create_prorations", "none")
COLLECTION_METHODS = ("charge_automatically", "send_invoice")
STATUSES = (
    "active", "canceled", "incomplete", "incomplete_expired", "past_due", "paused", "trialing",
    "unpaid",
)
FEEDBACK = (
    "customer_service", "low_quality", "missing_features", "other", "switched_service",
    "too_complex", "too_expensive", "unused",
)
# Stripe's longest trial: two years.
MAX_TRIAL_DAYS = 730

DISCOUNT = Dict(fields={"coupon": Str(), "discount": Str(), "promotion_code": Str()})
DISCOUNTS = List(item=DISCOUNT, emptyable=True, max_items=20)
TAX_RATES = List(item=Str(), emptyable=True, max_items=10)
ITEM_THRESHOLDS = Dict(fields={"usage_gte": Int(required=True, min=1)}, emptyable=True)
PRICE_DATA = Dict(
    fields={
        "currency": Currency(required=True),
        "product": Str(required=True),
        "recurring": Dict(
            fields={"interval": Str(required=True, enum=INTERVALS), "interval_count": Int(min=1)},
            required=True,
        ),
        "tax_behavior": Str(enum=TAX_BEHAVIORS),
        "unit_amount": Amount(),
        "unit_amount_decimal": DecimalString(),
    }
)
ITEM_FIELDS: dict[str, Spec] = {
    "billing_thresholds": ITEM_THRESHOLDS,
    "discounts": DISCOUNTS,
    "metadata": Metadata(),
    "plan": Str(),
    "price": Str(),
    "price_data": PRICE_DATA,
    "quantity": Int(min=0, max=999_999_999),
    "tax_rates": TAX_RATES,
}
ITEM_ON_CREATE = Dict(fields=ITEM_FIELDS)
ITEM_ON_UPDATE = Dict(
    fields={**ITEM_FIELDS, "clear_usage": Bool(), "deleted": Bool(), "id": Str()}
)
TRIAL_END = AnyOf(options=(Str(enum=("now",)), Timestamp()))
TRIAL_SETTINGS = Dict(
    fields={
        "end_behavior": Dict(
            fields={"missing_payment_method": Str(required=True, enum=("cancel", "create_invoice", "pause"))},
            required=True,
        )
    }
)
CANCEL_AT = AnyOf(
    options=(Timestamp(), Str(enum=("max_period_end", "min_period_end"))), emptyable=True
)
ANCHOR_CONFIG = Dict(
    fields={
        "day_of_month": Int(required=True, min=1, max=31),
        "hour": Int(min=0, max=23),
        "minute": Int(min=0, max=59),
        "month": Int(min=1, max=12),
        "second": Int(min=0, max=59),
    }
)
AUTOMATIC_TAX = Dict(
    fields={
        "enabled": Bool(required=True),
        "liability": Dict(fields={"account": Str(), "type": Str(required=True, enum=("account", "self"))}),
    }
)
INVOICE_SETTINGS = Dict(
    fields={
        "account_tax_ids": List(item=Str(), emptyable=True),
        "issuer": Dict(fields={"account": Str(), "type": Str(required=True, enum=("account", "self"))}),
    }
)
PAYMENT_SETTINGS = Dict(
    fields={
        "payment_method_options": Dict(
            fields={
                "card": Dict(
                    fields={
                        "network": Str(),
                        "request_three_d_secure": Str(enum=("any", "automatic", "challenge")),
                    },
                    emptyable=True,
                )
            }
        ),
        "payment_method_types": List(item=Str(), emptyable=True),
        "save_default_payment_method": Str(enum=("off", "on_subscription")),
    }
)
CANCELLATION_DETAILS = Dict(
    fields={
        "comment": Str(emptyable=True),
        "feedback": Str(enum=("", *FEEDBACK)),
    }
)
PAUSE_COLLECTION = Dict(
    fields={
        "behavior": Str(required=True, enum=("keep_as_draft", "mark_uncollectible", "void")),
        "resumes_at": Timestamp(),
    },
    emptyable=True,
)
ANCHOR_ON_UPDATE = AnyOf(
    options=(
        Str(enum=("now", "unchanged")),
        Dict(fields={"type": Str(required=True, enum=("now", "unchanged"))}),
    )
)

_SHARED: dict[str, Spec] = {
    "automatic_tax": AUTOMATIC_TAX,
    "cancel_at_period_end": Bool(),
    "collection_method": Str(enum=COLLECTION_METHODS),
    # Before 2025-03-31.basil only; refused by name on newer versions.
    "coupon": Str(),
    "days_until_due": Int(min=0, max=730),
    "default_tax_rates": TAX_RATES,
    "discounts": DISCOUNTS,
    "invoice_settings": INVOICE_SETTINGS,
    "metadata": Metadata(),
    "off_session": Bool(),
    "payment_behavior": Str(enum=PAYMENT_BEHAVIORS),
    "payment_settings": PAYMENT_SETTINGS,
    "promotion_code": Str(),
    "proration_behavior": Str(enum=PRORATION_BEHAVIORS),
    "trial_end": TRIAL_END,
    "trial_from_plan": Bool(),
    "trial_settings": TRIAL_SETTINGS,
}
CREATE: dict[str, Spec] = {
    **_SHARED,
    "billing_cycle_anchor": Timestamp(),
    "billing_cycle_anchor_config": ANCHOR_CONFIG,
    "billing_mode": Dict(fields={"type": Str(required=True, enum=("classic",))}),
    "cancel_at": CANCEL_AT,
    "currency": Currency(),
    "customer": Str(required=True),
    "default_payment_method": Str(),
    "default_source": Str(),
    "description": Str(max_length=500),
    "items": List(item=ITEM_ON_CREATE, max_items=MAX_ITEMS),
    "trial_period_days": Int(min=0, max=MAX_TRIAL_DAYS),
}
UPDATE: dict[str, Spec] = {
    **_SHARED,
    "billing_cycle_anchor": ANCHOR_ON_UPDATE,
    "cancel_at": CANCEL_AT,
    "cancellation_details": CANCELLATION_DETAILS,
    "default_payment_method": Str(emptyable=True),
    "default_source": Str(emptyable=True),
    "description": Str(max_length=500, emptyable=True),
    "items": List(item=ITEM_ON_UPDATE, max_items=MAX_ITEMS),
    "pause_collection": PAUSE_COLLECTION,
    "proration_date": Timestamp(),
}
CANCEL: dict[str, Spec] = {
    "cancellation_details": CANCELLATION_DETAILS,
    "invoice_now": Bool(),
    "prorate": Bool(),
}
RESUME: dict[str, Spec] = {
    "billing_cycle_anchor": Str(enum=("now", "unchanged")),
    "proration_behavior": Str(enum=PRORATION_BEHAVIORS),
    "proration_date": Timestamp(),
}
LIST = list_params(
    automatic_tax=Dict(fields={"enabled": Bool(required=True)}),
    collection_method=Str(enum=COLLECTION_METHODS),
    current_period_end=CREATED,
    current_period_start=CREATED,
    customer=Str(),
    price=Str(),
    status=Str(enum=(*STATUSES, "all", "ended")),
    test_clock=Str(),
)

# /v1/subscription_items
_ITEM_CHANGE: dict[str, Spec] = {
    **ITEM_FIELDS,
    "payment_behavior": Str(enum=PAYMENT_BEHAVIORS),
    "proration_behavior": Str(enum=PRORATION_BEHAVIORS),
    "proration_date": Timestamp(),
}
ITEM_CREATE: dict[str, Spec] = {**_ITEM_CHANGE, "subscription": Str(required=True)}
ITEM_UPDATE: dict[str, Spec] = {**_ITEM_CHANGE, "off_session": Bool()}
ITEM_DELETE: dict[str, Spec] = {
    "clear_usage": Bool(),
    "proration_behavior": Str(enum=PRORATION_BEHAVIORS),
    "proration_date": Timestamp(),
}
ITEM_LIST: dict[str, Spec] = {**LIST_PARAMS, "subscription": Str(required=True)}
