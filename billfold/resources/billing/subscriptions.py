"""Subscriptions: ``/v1/subscriptions``, a customer billed for prices every period.

The behaviour lives beside this module: creation in ``subscription_create``, updates, cancel and
resume in ``subscription_update``, item changes and prorations in ``subscription_changes`` and
``proration``, the status machine over time in ``subscription_lifecycle``. This module holds the
routes, the clock's entry points (``renew``, ``end_trial``) and the invoices module's hooks
(``on_invoice_paid``, ``on_invoice_payment_failed``), and the object's shape per API version.
"""

from __future__ import annotations

from typing import Any

from billfold.context import Ctx
from billfold.errors import ResourceMissing
from billfold.resources.base import page
from billfold.resources.billing import clock
from billfold.resources.billing import subscription_create as creating
from billfold.resources.billing import subscription_items as items
from billfold.resources.billing import subscription_lifecycle as lifecycle
from billfold.resources.billing import subscription_params as spec
from billfold.resources.billing import subscription_state as state
from billfold.resources.billing import subscription_update as updating
from billfold.resources.billing.catalog import Where, no_such
from billfold.wire.present import register, render
from billfold.wire.router import Routes
from billfold.wire.versions import at_least

__all__ = [
    "due_work",
    "end_trial",
    "on_invoice_paid",
    "on_invoice_payment_failed",
    "renew",
    "routes",
]

routes = Routes("subscriptions")

renew = lifecycle.renew
end_trial = lifecycle.end_trial
on_invoice_paid = lifecycle.on_invoice_paid
on_invoice_payment_failed = lifecycle.on_invoice_payment_failed
due_work = state.due_work

# Statuses a list shows when it is not asked for one.
UNENDED = ("active", "incomplete", "past_due", "paused", "trialing", "unpaid")


@routes.post("/v1/subscriptions", spec.CREATE)
def create_subscription(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return creating.create(ctx, params)


@routes.get("/v1/subscriptions/{subscription_exposed_id}")
def retrieve_subscription(ctx: Ctx, params: dict[str, Any], subscription_exposed_id: str) -> dict[str, Any]:
    return state.load_subscription(ctx, subscription_exposed_id)


@routes.post("/v1/subscriptions/{subscription_exposed_id}", spec.UPDATE)
def update_subscription(ctx: Ctx, params: dict[str, Any], subscription_exposed_id: str) -> dict[str, Any]:
    found = state.load_subscription(ctx, subscription_exposed_id, for_update=True)
    clock.enter(ctx, str(found["customer"]))
    return updating.update(ctx, found, params)


@routes.delete("/v1/subscriptions/{subscription_exposed_id}", spec.CANCEL)
def cancel_subscription(ctx: Ctx, params: dict[str, Any], subscription_exposed_id: str) -> dict[str, Any]:
    found = state.load_subscription(ctx, subscription_exposed_id, for_update=True)
    clock.enter(ctx, str(found["customer"]))
    return updating.cancel(ctx, found, params)


@routes.post("/v1/subscriptions/{subscription}/resume", spec.RESUME)
def resume_subscription(ctx: Ctx, params: dict[str, Any], subscription: str) -> dict[str, Any]:
    found = state.load_subscription(ctx, subscription, param="subscription", for_update=True)
    clock.enter(ctx, str(found["customer"]))
    return updating.resume(ctx, found, params)


@routes.delete("/v1/subscriptions/{subscription_exposed_id}/discount")
def delete_subscription_discount(
    ctx: Ctx, params: dict[str, Any], subscription_exposed_id: str
) -> dict[str, Any]:
    """Remove the subscription's discounts (the one ``discount`` of older versions)."""
    found = state.load_subscription(ctx, subscription_exposed_id, for_update=True)
    held = [d for d in found.get("discounts") or [] if isinstance(d, str)]
    if not held:
        raise ResourceMissing("discount on subscription", subscription_exposed_id, param="subscription_exposed_id")
    before = state.snapshot(ctx, found)
    found["discounts"] = []
    for discount_id in held:
        discount = ctx.objects.get(discount_id, "discount")
        if discount is not None and discount.get("subscription") == found["id"]:
            ctx.objects.save({**discount, "deleted": True}, deleted=True)
            ctx.emit("customer.discount.deleted", discount)
    lifecycle.updated(ctx, before, found)
    return {"id": held[0], "object": "discount", "deleted": True}


def _field(ctx: Ctx, name: str, number: bool = False) -> str:
    if ctx.tx.db.is_postgres:
        text = f"(CAST(data AS jsonb) ->> '{name}')"
        return f"CAST({text} AS BIGINT)" if number else text
    return f"json_extract(data, '$.{name}')"


def _ranges(ctx: Ctx, where: Where, params: dict[str, Any]) -> None:
    for name, stored in (("current_period_start", "_period_start"), ("current_period_end", "_period_end")):
        value = params.get(name)
        if value is None:
            continue
        bounds = value if isinstance(value, dict) else {"eq": value}
        for op, sign in (("eq", "="), ("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")):
            if op in bounds:
                key = f"j_{len(where.params)}"
                where.params[key] = int(bounds[op])
                where.clauses.append(f"{_field(ctx, stored, number=True)} {sign} :{key}")


@routes.get("/v1/subscriptions", spec.LIST)
def list_subscriptions(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    where = Where(ctx)
    status = params.get("status")
    if status == "all":
        pass
    elif status == "ended":
        where.column_in("status", list(state.ENDED))
    elif status is None:
        where.column_in("status", list(UNENDED))
    if "collection_method" in params:
        where.equals(params["collection_method"], "collection_method")
    if "test_clock" in params:
        where.equals(params["test_clock"], "test_clock")
    if "automatic_tax" in params:
        where.flag(params["automatic_tax"]["enabled"], "automatic_tax", "enabled")
    if "price" in params:
        if ctx.objects.get(params["price"], "price") is None:
            raise no_such("price", params["price"], "price")
        key = f"j_{len(where.params)}"
        escaped = params["price"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.params[key] = f"% {escaped} %"
        where.clauses.append(f"{_field(ctx, '_prices')} LIKE :{key} ESCAPE '\\'")
    _ranges(ctx, where, params)
    filters = {"customer": params.get("customer")}
    if status not in (None, "all", "ended"):
        filters["status"] = status
    return page(ctx, "subscription", "/v1/subscriptions", params, filters, where=where.build())


def _discount(ctx: Ctx, discount_id: str) -> dict[str, Any] | None:
    found = ctx.objects.get(discount_id, "discount", include_deleted=True)
    return render(ctx, found) if found is not None else None


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    found = [render(ctx, item) for item in state.items_of(ctx, str(data["id"]))]
    data["items"] = {
        "object": "list",
        "data": found,
        "has_more": False,
        "url": f"/v1/subscription_items?subscription={data['id']}",
    }
    data["default_tax_rates"] = items.tax_rates_shown(ctx, data.get("default_tax_rates") or [])
    if not at_least(ctx.api_version, items.ITEM_PERIODS_SINCE):
        stored = state.items_of(ctx, str(data["id"]))
        first = stored[0] if stored else {}
        data["current_period_end"] = first.get("current_period_end")
        data["current_period_start"] = first.get("current_period_start")
        discounts = [d for d in data.get("discounts") or [] if isinstance(d, str)]
        data["discount"] = _discount(ctx, discounts[0]) if discounts else None
    head = {"id": data.pop("id"), "object": data.pop("object")}
    return {**head, **dict(sorted(data.items()))}


register(
    "subscription",
    expandable=(
        "application", "customer", "default_payment_method", "default_source", "discounts",
        "latest_invoice", "on_behalf_of", "pending_setup_intent", "schedule", "test_clock",
    ),
    render=_render,
)
