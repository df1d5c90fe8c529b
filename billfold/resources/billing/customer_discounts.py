"""A customer's discount: ``coupon`` / ``promotion_code`` on customers (API versions before
2025-03-31.basil) and ``DELETE /v1/customers/{customer}/discount``.

The customer keeps its discount embedded (stored form, as ``discounts.make_discount`` made it);
the discount is also stored on its own, so invoices that took it keep finding its coupon after
the customer loses it. Invoices inherit it through ``invoice_discounts.inherited``.
"""

from __future__ import annotations

from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.resources.billing import coupons, discounts, promotion_codes
from billfold.resources.billing.catalog import no_such
from billfold.wire.present import render
from billfold.wire.versions import at_least

__all__ = ["LEGACY_PARAMS", "apply", "check_params", "delete_discount", "render_customer", "take_params"]

# The release that took ``coupon`` and ``promotion_code`` off customers.
REMOVED_IN = "2025-03-31.basil"
LEGACY_PARAMS = ("coupon", "promotion_code")


def check_params(ctx: Ctx, params: dict[str, Any]) -> None:
    """Newer versions do not know the legacy parameters; naming both is refused."""
    for name in LEGACY_PARAMS:
        if name in params and at_least(ctx.api_version, REMOVED_IN):
            raise InvalidRequestError(f"Received unknown parameter: {name}", param=name, code="parameter_unknown")
    if params.get("coupon") and params.get("promotion_code"):
        raise InvalidRequestError(
            "You may only specify one of these parameters: coupon, promotion_code.", param="promotion_code"
        )


def take_params(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """The request's legacy discount parameters, checked and removed from ``params``."""
    check_params(ctx, params)
    return {name: params.pop(name) for name in LEGACY_PARAMS if name in params}


def apply(ctx: Ctx, customer: dict[str, Any], asked: dict[str, Any]) -> str | None:
    """Give ``customer`` the discount ``asked`` names (redeeming its coupon or promotion code).

    Returns the event to emit once the customer is stored (``customer.discount.created`` or
    ``.updated``), or None when nothing was asked. The customer is changed, not saved.
    """
    if asked.get("promotion_code"):
        promotion = promotion_codes.resolve_promotion_code(
            ctx, asked["promotion_code"], customer["id"], None, None, param="promotion_code"
        )
        coupon = promotion_codes.redeem_promotion_code(ctx, promotion["id"], param="promotion_code")
        promotion_id: str | None = promotion["id"]
    elif asked.get("coupon"):
        if ctx.objects.get(asked["coupon"], "coupon") is None:
            raise no_such("coupon", asked["coupon"], "coupon")
        coupon = coupons.redeem(ctx, asked["coupon"], param="coupon")
        promotion_id = None
    else:
        return None
    had = customer.get("discount")
    customer["discount"] = discounts.make_discount(ctx, coupon, customer=customer["id"], promotion_code=promotion_id)
    return "customer.discount.updated" if had else "customer.discount.created"


def announce(ctx: Ctx, customer: dict[str, Any], event: str | None) -> None:
    """Emit the discount event ``apply`` asked for (after the customer is stored)."""
    if event is not None:
        ctx.emit(event, customer["discount"])


def delete_discount(ctx: Ctx, customer: dict[str, Any]) -> dict[str, Any]:
    """Remove the customer's discount: ``customer.discount.deleted``; returns Stripe's deleted
    discount (its fields, ``deleted: true``). Invoices that already took it keep it."""
    held = customer.get("discount")
    if not held:
        raise ResourceMissing("discount on customer", customer["id"], param="customer")
    discount = dict(held)
    customer["discount"] = None
    ctx.objects.save(customer)
    ctx.emit("customer.discount.deleted", discount)
    shown = {key: value for key, value in discount.items() if key != "end"}
    # ``_full`` asks the renderer for every field of this deleted object, as Stripe shows it.
    return {**shown, "deleted": True, "_full": True}


def render_customer(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """The customer, its embedded discount shaped for the request's API version."""
    if isinstance(data.get("discount"), dict):
        data["discount"] = render(ctx, dict(data["discount"]))
    return data
