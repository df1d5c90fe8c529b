"""Invoices' parameters, declared once: create, update, pay, list and the upcoming-invoice preview."""

from __future__ import annotations

from billfold.resources.base import list_params
from billfold.resources.billing.catalog import DecimalString
from billfold.wire.params import (
    RANGE,
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

STATUSES = ("draft", "open", "paid", "uncollectible", "void")
COLLECTION_METHODS = ("charge_automatically", "send_invoice")
PENDING_BEHAVIORS = ("exclude", "include", "include_and_require")
# Stripe's bound on days_until_due: five years.
MAX_DAYS_UNTIL_DUE = 1825

DISCOUNT = Dict(
    fields={
        "coupon": Str(max_length=5000),
        "discount": Str(max_length=5000),
        "promotion_code": Str(max_length=5000),
    }
)
DISCOUNTS = List(item=DISCOUNT, emptyable=True, max_items=20)
TAX_RATES = List(item=Str(max_length=5000), emptyable=True, max_items=10)
PERIOD = Dict(fields={"end": Timestamp(required=True), "start": Timestamp(required=True)})
PRICE_DATA = Dict(
    fields={
        "currency": Currency(required=True),
        "product": Str(required=True, max_length=5000),
        "tax_behavior": Str(enum=("exclusive", "inclusive", "unspecified")),
        "unit_amount": Int(min=0, max=99_999_999),
        "unit_amount_decimal": DecimalString(),
    }
)
CUSTOM_FIELDS = List(
    item=Dict(
        fields={"name": Str(required=True, max_length=40), "value": Str(required=True, max_length=140)}
    ),
    emptyable=True,
    max_items=4,
)
RENDERING = Dict(
    fields={
        "amount_tax_display": Str(enum=("exclude_tax", "include_inclusive_tax"), emptyable=True),
        "pdf": Dict(fields={"page_size": Str(enum=("a4", "auto", "letter"))}),
        "template": Str(max_length=5000),
        "template_version": Int(min=1, emptyable=True),
    }
)
PAYMENT_SETTINGS = Dict(
    fields={
        "default_mandate": Str(emptyable=True),
        "payment_method_options": Dict(
            fields={
                "card": Dict(
                    fields={"request_three_d_secure": Str(enum=("any", "automatic", "challenge"))},
                    emptyable=True,
                )
            },
            emptyable=True,
        ),
        "payment_method_types": List(item=Str(max_length=100), emptyable=True),
    }
)
AUTOMATIC_TAX = Dict(
    fields={
        "enabled": Bool(required=True),
        "liability": Dict(fields={"account": Str(), "type": Str(required=True, enum=("account", "self"))}),
    }
)

# What a draft and an open invoice share; finalized invoices accept only FINALIZED_EDITABLE.
_EDITABLE: dict[str, Spec] = {
    "account_tax_ids": List(item=Str(max_length=5000), emptyable=True),
    "auto_advance": Bool(),
    "automatic_tax": AUTOMATIC_TAX,
    "automatically_finalizes_at": Timestamp(),
    "collection_method": Str(enum=COLLECTION_METHODS),
    "custom_fields": CUSTOM_FIELDS,
    "days_until_due": Int(min=0, max=MAX_DAYS_UNTIL_DUE),
    "default_payment_method": Str(max_length=5000, emptyable=True),
    "default_source": Str(max_length=5000, emptyable=True),
    "default_tax_rates": TAX_RATES,
    "description": Str(max_length=1500, emptyable=True),
    "discounts": DISCOUNTS,
    "due_date": Timestamp(),
    "effective_at": Timestamp(emptyable=True),
    "footer": Str(max_length=5000, emptyable=True),
    "metadata": Metadata(),
    "number": Str(max_length=26, emptyable=True),
    "payment_settings": PAYMENT_SETTINGS,
    "rendering": RENDERING,
    "statement_descriptor": Str(max_length=22, emptyable=True),
}
FINALIZED_EDITABLE = frozenset(
    {"account_tax_ids", "auto_advance", "custom_fields", "default_payment_method", "default_source",
     "description", "footer", "metadata", "payment_settings", "rendering", "statement_descriptor"}
)
CREATE: dict[str, Spec] = {
    **_EDITABLE,
    "currency": Currency(),
    "customer": Str(max_length=5000),
    "pending_invoice_items_behavior": Str(enum=PENDING_BEHAVIORS),
    "subscription": Str(max_length=5000),
}
UPDATE: dict[str, Spec] = dict(_EDITABLE)

FINALIZE: dict[str, Spec] = {"auto_advance": Bool()}
PAY: dict[str, Spec] = {
    "forgive": Bool(),
    "mandate": Str(emptyable=True),
    "off_session": Bool(),
    "paid_out_of_band": Bool(),
    "payment_method": Str(max_length=5000),
    "source": Str(max_length=5000),
}
LIST = list_params(
    collection_method=Str(enum=COLLECTION_METHODS),
    customer=Str(max_length=5000),
    due_date=AnyOf(options=(Int(min=0), RANGE)),
    status=Str(enum=STATUSES),
    subscription=Str(max_length=5000),
)

PREVIEW_ITEM = Dict(
    fields={
        "amount": Int(min=-99_999_999, max=99_999_999),
        "currency": Currency(),
        "description": Str(max_length=5000),
        "discountable": Bool(),
        "discounts": DISCOUNTS,
        "invoiceitem": Str(max_length=5000),
        "metadata": Metadata(),
        "period": PERIOD,
        "price": Str(max_length=5000),
        "price_data": PRICE_DATA,
        "quantity": Int(min=0),
        "tax_behavior": Str(enum=("exclusive", "inclusive", "unspecified")),
        "tax_rates": TAX_RATES,
        "unit_amount": Int(min=-99_999_999, max=99_999_999),
        "unit_amount_decimal": DecimalString(),
    }
)
SUBSCRIPTION_ITEM = Dict(
    fields={
        "clear_usage": Bool(),
        "deleted": Bool(),
        "discounts": DISCOUNTS,
        "id": Str(max_length=5000),
        "metadata": Metadata(),
        "price": Str(max_length=5000),
        "quantity": Int(min=0),
        "tax_rates": TAX_RATES,
    }
)
SUBSCRIPTION_DETAILS = Dict(
    fields={
        "billing_cycle_anchor": AnyOf(options=(Str(enum=("now", "unchanged")), Timestamp())),
        "cancel_at": Timestamp(emptyable=True),
        "cancel_at_period_end": Bool(),
        "cancel_now": Bool(),
        "default_tax_rates": TAX_RATES,
        "items": List(item=SUBSCRIPTION_ITEM),
        "proration_behavior": Str(enum=("always_invoice", "create_prorations", "none")),
        "proration_date": Timestamp(),
        "resume_at": Str(enum=("now",)),
        "start_date": Timestamp(),
        "trial_end": AnyOf(options=(Str(enum=("now",)), Timestamp())),
    }
)
PREVIEW: dict[str, Spec] = {
    "automatic_tax": AUTOMATIC_TAX,
    "currency": Currency(),
    "customer": Str(max_length=5000),
    "discounts": DISCOUNTS,
    "invoice_items": List(item=PREVIEW_ITEM, max_items=250),
    "preview_mode": Str(enum=("next", "recurring")),
    "subscription": Str(max_length=5000),
    "subscription_details": SUBSCRIPTION_DETAILS,
}
# ``GET /v1/invoices/upcoming``: the same preview, as versions before create_preview asked for it.
UPCOMING: dict[str, Spec] = {
    "automatic_tax": AUTOMATIC_TAX,
    "coupon": Str(max_length=5000),
    "currency": Currency(),
    "customer": Str(max_length=5000),
    "discounts": DISCOUNTS,
    "invoice_items": List(item=PREVIEW_ITEM, max_items=250),
    "subscription": Str(max_length=5000),
    "subscription_cancel_at": Timestamp(emptyable=True),
    "subscription_cancel_at_period_end": Bool(),
    "subscription_cancel_now": Bool(),
    "subscription_default_tax_rates": TAX_RATES,
    "subscription_items": List(item=SUBSCRIPTION_ITEM),
    "subscription_proration_behavior": Str(enum=("always_invoice", "create_prorations", "none")),
    "subscription_proration_date": Timestamp(),
    "subscription_trial_end": AnyOf(options=(Str(enum=("now",)), Timestamp())),
}
