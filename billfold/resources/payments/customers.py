"""Customers: ``/v1/customers`` and a customer's saved payment methods."""

from __future__ import annotations

from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.events.record import diff
from billfold.resources.base import ADDRESS, address, list_params, load, page
from billfold.resources.billing import customer_discounts
from billfold.resources.payments import payment_methods
from billfold.wire.params import (
    Dict,
    Int,
    List,
    Metadata,
    Spec,
    Str,
    apply_metadata,
)
from billfold.wire.present import register
from billfold.wire.router import Routes

routes = Routes("customers")

SHIPPING = Dict(
    fields={"address": ADDRESS, "name": Str(max_length=500), "phone": Str(max_length=100)},
    emptyable=True,
)
INVOICE_SETTINGS = Dict(
    fields={
        "custom_fields": List(
            item=Dict(fields={"name": Str(required=True, max_length=40), "value": Str(required=True, max_length=140)}),
            emptyable=True,
            max_items=4,
        ),
        "default_payment_method": Str(emptyable=True),
        "footer": Str(emptyable=True, max_length=5000),
        "rendering_options": Dict(
            fields={
                "amount_tax_display": Str(enum=("exclude_tax", "include_inclusive_tax"), emptyable=True),
                "template": Str(emptyable=True),
            },
            emptyable=True,
        ),
    }
)
FIELDS: dict[str, Spec] = {
    "address": ADDRESS,
    "balance": Int(min=-99_999_999, max=99_999_999),
    "description": Str(emptyable=True, max_length=350),
    "email": Str(emptyable=True, max_length=512),
    "invoice_prefix": Str(emptyable=True, max_length=12, pattern=r"[A-Z0-9]{3,12}"),
    "invoice_settings": INVOICE_SETTINGS,
    "metadata": Metadata(),
    "name": Str(emptyable=True, max_length=256),
    "phone": Str(emptyable=True, max_length=20),
    "preferred_locales": List(item=Str(max_length=20), emptyable=True, max_items=10),
    "shipping": SHIPPING,
    "tax_exempt": Str(enum=("exempt", "none", "reverse"), emptyable=True),
}
# ``coupon`` and ``promotion_code`` only for versions before 2025-03-31.basil (customer_discounts).
LEGACY_DISCOUNT: dict[str, Spec] = {"coupon": Str(), "promotion_code": Str()}
CREATE: dict[str, Spec] = {
    **FIELDS,
    **LEGACY_DISCOUNT,
    "payment_method": Str(),
    "test_clock": Str(),
}
UPDATE: dict[str, Spec] = {**FIELDS, **LEGACY_DISCOUNT, "default_source": Str(emptyable=True)}


def _shipping(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not value:
        return None
    return {"address": address(value.get("address")), "name": value.get("name"), "phone": value.get("phone")}


def _invoice_settings(current: dict[str, Any], changes: dict[str, Any], ctx: Ctx, customer_id: str) -> dict[str, Any]:
    result = dict(current)
    if "custom_fields" in changes:
        result["custom_fields"] = changes["custom_fields"] or None
    if "footer" in changes:
        result["footer"] = changes["footer"]
    if "rendering_options" in changes:
        options = changes["rendering_options"]
        result["rendering_options"] = (
            {"amount_tax_display": options.get("amount_tax_display"), "template": options.get("template")}
            if options
            else None
        )
    if "default_payment_method" in changes:
        pm_id = changes["default_payment_method"]
        if pm_id is not None:
            method = ctx.objects.get(pm_id, "payment_method")
            if method is None or method.get("customer") != customer_id:
                raise InvalidRequestError(
                    f"No such PaymentMethod: '{pm_id}'; It's possible this PaymentMethod exists on "
                    "one of your connected accounts, in which case you should retry this request on "
                    "that connected account.",
                    code="resource_missing",
                    param="invoice_settings[default_payment_method]",
                )
        result["default_payment_method"] = pm_id
    return result


def _apply(ctx: Ctx, customer: dict[str, Any], params: dict[str, Any]) -> None:
    for name in ("balance", "description", "email", "name", "phone", "tax_exempt"):
        if name in params:
            customer[name] = params[name]
    if customer.get("tax_exempt") is None:
        customer["tax_exempt"] = "none"
    if "address" in params:
        customer["address"] = address(params["address"])
    if "shipping" in params:
        customer["shipping"] = _shipping(params["shipping"])
    if "preferred_locales" in params:
        customer["preferred_locales"] = params["preferred_locales"] or []
    if "invoice_prefix" in params and params["invoice_prefix"]:
        customer["invoice_prefix"] = params["invoice_prefix"]
    if "metadata" in params:
        customer["metadata"] = apply_metadata(customer.get("metadata", {}), params["metadata"])
    if "invoice_settings" in params:
        customer["invoice_settings"] = _invoice_settings(
            customer["invoice_settings"], params["invoice_settings"], ctx, customer["id"]
        )


@routes.post("/v1/customers", CREATE)
def create_customer(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    asked = customer_discounts.take_params(ctx, params)
    if params.get("test_clock"):
        # The customer lives on the clock's time from its creation on.
        clock = ctx.objects.get(params["test_clock"], "test_helpers.test_clock")
        if clock is None:
            raise ResourceMissing("test_clock", params["test_clock"], param="test_clock")
        ctx.now = int(clock["frozen_time"])
    customer_id = ids.new_id("customer", 14)
    customer: dict[str, Any] = {
        "id": customer_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": ctx.now,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": None,
        "invoice_prefix": ids.random_part(8).upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": ctx.livemode,
        "metadata": {},
        "name": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": params.get("test_clock"),
    }
    pending_default = (params.get("invoice_settings") or {}).get("default_payment_method")
    settings_params = dict(params.get("invoice_settings") or {})
    settings_params.pop("default_payment_method", None)
    _apply(ctx, customer, {**params, "invoice_settings": settings_params})
    discount_event = customer_discounts.apply(ctx, customer, asked)
    ctx.objects.insert(customer)
    ctx.emit("customer.created", customer)
    customer_discounts.announce(ctx, customer, discount_event)
    if params.get("payment_method"):
        attached = payment_methods.attach(ctx, params["payment_method"], customer_id, param="payment_method")
        if pending_default == params["payment_method"]:
            # ``pm_card_visa`` in both places means the one PaymentMethod just attached.
            pending_default = attached["id"]
    if pending_default:
        customer["invoice_settings"] = _invoice_settings(
            customer["invoice_settings"], {"default_payment_method": pending_default}, ctx, customer_id
        )
        ctx.objects.save(customer)
    return customer


@routes.get("/v1/customers/{customer}")
def retrieve_customer(ctx: Ctx, params: dict[str, Any], customer: str) -> dict[str, Any]:
    found = ctx.objects.get(customer, "customer", include_deleted=True)
    if found is None:
        load(ctx, "customer", customer)
    assert found is not None
    return found


@routes.post("/v1/customers/{customer}", UPDATE)
def update_customer(ctx: Ctx, params: dict[str, Any], customer: str) -> dict[str, Any]:
    asked = customer_discounts.take_params(ctx, params)
    current = load(ctx, "customer", customer, for_update=True)
    before = {k: (dict(v) if isinstance(v, dict) else v) for k, v in current.items()}
    if "default_source" in params:
        raise InvalidRequestError(
            "Billfold does not support legacy sources; use PaymentMethods and "
            "invoice_settings[default_payment_method].",
            param="default_source",
        )
    _apply(ctx, current, params)
    discount_event = customer_discounts.apply(ctx, current, asked)
    previous = diff(before, current)
    ctx.objects.save(current)
    if previous:
        ctx.emit("customer.updated", current, previous)
    customer_discounts.announce(ctx, current, discount_event)
    return current


@routes.delete("/v1/customers/{customer}/discount")
def delete_customer_discount(ctx: Ctx, params: dict[str, Any], customer: str) -> dict[str, Any]:
    return customer_discounts.delete_discount(ctx, load(ctx, "customer", customer, for_update=True))


@routes.delete("/v1/customers/{customer}")
def delete_customer(ctx: Ctx, params: dict[str, Any], customer: str) -> dict[str, Any]:
    current = load(ctx, "customer", customer, for_update=True)
    ctx.objects.save({**current, "deleted": True}, deleted=True)
    ctx.emit("customer.deleted", current)
    return {"id": customer, "object": "customer", "deleted": True}


@routes.get("/v1/customers", list_params(email=Str(max_length=512), test_clock=Str()))
def list_customers(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    filters = {"email": params.get("email"), "test_clock": params.get("test_clock")}
    return page(ctx, "customer", "/v1/customers", params, filters)


@routes.get("/v1/customers/{customer}/payment_methods", payment_methods.CUSTOMER_LIST)
def list_customer_payment_methods(ctx: Ctx, params: dict[str, Any], customer: str) -> dict[str, Any]:
    load(ctx, "customer", customer, param="customer")
    return payment_methods.for_customer(ctx, customer, params)


@routes.get("/v1/customers/{customer}/payment_methods/{payment_method}")
def retrieve_customer_payment_method(
    ctx: Ctx, params: dict[str, Any], customer: str, payment_method: str
) -> dict[str, Any]:
    load(ctx, "customer", customer, param="customer")
    method = ctx.objects.get(payment_method, "payment_method")
    if method is None or method.get("customer") != customer:
        raise ResourceMissing("PaymentMethod", payment_method, param="payment_method")
    return method


register(
    "customer",
    expandable=("default_source", "invoice_settings", "test_clock"),
    render=customer_discounts.render_customer,
)
