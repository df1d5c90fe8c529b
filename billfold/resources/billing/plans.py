"""Plans: ``/v1/plans``, the legacy face of recurring prices.

As in Stripe, a plan is a recurring price seen through older names (``amount``,
``transform_usage``, ``interval`` at the top level): one stored price document backs both, so
``/v1/prices/{id}`` and ``/v1/plans/{id}`` show the same object, and each change announces
itself under both names.
"""

from __future__ import annotations

import copy
from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.events.record import diff
from billfold.resources.base import list_params
from billfold.resources.billing import price_build, price_params, prices, products
from billfold.resources.billing.catalog import DecimalString, Where, no_such
from billfold.wire.params import (
    Amount,
    AnyOf,
    Bool,
    Currency,
    Int,
    Metadata,
    Spec,
    Str,
    apply_metadata,
)
from billfold.wire.present import list_object, register
from billfold.wire.router import Routes
from billfold.wire.versions import at_least

routes = Routes("plans")

CREATE: dict[str, Spec] = {
    "active": Bool(),
    "aggregate_usage": Str(enum=price_params.AGGREGATE_USAGES),
    "amount": Amount(),
    "amount_decimal": DecimalString(),
    "billing_scheme": Str(enum=("per_unit", "tiered")),
    "currency": Currency(required=True),
    "id": Str(max_length=255),
    "interval": Str(enum=price_params.INTERVALS, required=True),
    "interval_count": Int(min=1),
    "metadata": Metadata(),
    "meter": Str(),
    "nickname": Str(),
    "product": AnyOf(options=(Str(), price_params.PRODUCT_DATA)),
    "tiers": price_params.TIERS,
    "tiers_mode": Str(enum=("graduated", "volume")),
    "transform_usage": price_params.TRANSFORM_QUANTITY,
    "trial_period_days": Int(min=1, max=730),
    "usage_type": Str(enum=("licensed", "metered")),
}
UPDATE: dict[str, Spec] = {
    "active": Bool(),
    "metadata": Metadata(),
    "nickname": Str(emptyable=True),
    "product": Str(),
    "trial_period_days": Int(min=1, max=730),
}
LIST = list_params(active=Bool(), product=Str())

# A price's parameter, as the plan API names it, for errors the price rules raise.
_PLAN_PARAMS = {
    "unit_amount": "amount",
    "unit_amount_decimal": "amount_decimal",
    "transform_quantity": "transform_usage",
    "recurring[interval]": "interval",
    "recurring[interval_count]": "interval_count",
    "recurring[usage_type]": "usage_type",
    "recurring[meter]": "meter",
    "recurring[aggregate_usage]": "aggregate_usage",
    "recurring[trial_period_days]": "trial_period_days",
}


def as_plan(ctx: Ctx, price: dict[str, Any]) -> dict[str, Any]:
    """The plan view of a recurring price."""
    recurring = price["recurring"]
    plan: dict[str, Any] = {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "aggregate_usage": recurring.get("aggregate_usage"),
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "interval": recurring["interval"],
        "interval_count": recurring["interval_count"],
        "livemode": price["livemode"],
        "metadata": price["metadata"],
        "meter": recurring.get("meter"),
        "nickname": price["nickname"],
        "product": price["product"],
        "tiers_mode": price["tiers_mode"],
        "transform_usage": price["transform_quantity"],
        "trial_period_days": recurring.get("trial_period_days"),
        "usage_type": recurring["usage_type"],
    }
    if price.get("deleted"):
        plan["deleted"] = True
    return plan


def _price_params(params: dict[str, Any]) -> dict[str, Any]:
    recurring = {
        name: params[name]
        for name in ("interval", "interval_count", "usage_type", "meter", "aggregate_usage", "trial_period_days")
        if name in params
    }
    renamed = {"amount": "unit_amount", "amount_decimal": "unit_amount_decimal", "transform_usage": "transform_quantity"}
    result = {renamed.get(k, k): v for k, v in params.items() if k not in recurring and k not in ("id", "product")}
    result["recurring"] = recurring
    return result


def _build(ctx: Ctx, params: dict[str, Any], product_id: str) -> dict[str, Any]:
    if params.get("billing_scheme", "per_unit") == "per_unit" and not (
        "amount" in params or "amount_decimal" in params
    ):
        raise InvalidRequestError("Missing required param: amount.", param="amount", code="parameter_missing")
    try:
        return price_build.build(ctx, _price_params(params), product_id)
    except InvalidRequestError as exc:
        if exc.param is not None:
            for price_name, plan_name in _PLAN_PARAMS.items():
                if exc.param.startswith(price_name):
                    exc.param = plan_name + exc.param[len(price_name):]
                    if exc.code == "parameter_unknown":
                        exc.message = f"Received unknown parameter: {exc.param}"
                    break
        raise


@routes.post("/v1/plans", CREATE)
def create_plan(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if "product" not in params:
        raise InvalidRequestError("Missing required param: product.", param="product", code="parameter_missing")
    if "id" in params and ctx.tx.one("SELECT 1 AS taken FROM objects WHERE id = :id", id=params["id"]):
        raise InvalidRequestError("Plan already exists.", param="id", code="resource_already_exists")
    product_ref = params["product"]
    product: dict[str, Any] | None = None
    if isinstance(product_ref, str):
        if ctx.objects.get(product_ref, "product") is None:
            raise no_such("product", product_ref, "product")
        product_id = product_ref
    else:
        product = products.build(ctx, product_ref, at="product")
        product_id = product["id"]
    price = _build(ctx, params, product_id)
    if params.get("id"):
        price["id"] = params["id"]
    if product is not None:
        products.insert(ctx, product)
    ctx.objects.insert(price)
    ctx.emit("plan.created", as_plan(ctx, price))
    ctx.emit("price.created", price)
    return as_plan(ctx, price)


def _load(ctx: Ctx, plan_id: str, for_update: bool = False) -> dict[str, Any]:
    price = ctx.objects.get(plan_id, "price", for_update=for_update)
    if price is None or price.get("type") != "recurring":
        raise ResourceMissing("plan", plan_id, param="plan")
    return price


@routes.get("/v1/plans/{plan}")
def retrieve_plan(ctx: Ctx, params: dict[str, Any], plan: str) -> dict[str, Any]:
    return as_plan(ctx, _load(ctx, plan))


@routes.post("/v1/plans/{plan}", UPDATE)
def update_plan(ctx: Ctx, params: dict[str, Any], plan: str) -> dict[str, Any]:
    price = _load(ctx, plan, for_update=True)
    before = copy.deepcopy(price)
    if "active" in params:
        price["active"] = params["active"]
    if "nickname" in params:
        price["nickname"] = params["nickname"]
    if "metadata" in params:
        price["metadata"] = apply_metadata(price.get("metadata", {}), params["metadata"])
    if "trial_period_days" in params:
        price["recurring"] = {**price["recurring"], "trial_period_days": params["trial_period_days"]}
    if "product" in params and params["product"] != price["product"]:
        if ctx.objects.get(params["product"], "product") is None:
            raise no_such("product", params["product"], "product")
        price["product"] = params["product"]
    if not price["active"] and before["active"]:
        _refuse_if_default(ctx, before, "archived")
    previous = diff(before, price)
    if previous:
        ctx.objects.save(price)
        ctx.emit("plan.updated", as_plan(ctx, price), diff(as_plan(ctx, before), as_plan(ctx, price)))
        ctx.emit("price.updated", price, previous)
    return as_plan(ctx, price)


def _refuse_if_default(ctx: Ctx, price: dict[str, Any], what: str) -> None:
    product = ctx.objects.get(price["product"], "product")
    if product is not None and product.get("default_price") == price["id"]:
        raise InvalidRequestError(
            f"This plan cannot be {what} because it is the default price of its product."
        )


@routes.delete("/v1/plans/{plan}")
def delete_plan(ctx: Ctx, params: dict[str, Any], plan: str) -> dict[str, Any]:
    price = _load(ctx, plan, for_update=True)
    _refuse_if_default(ctx, price, "deleted")
    ctx.objects.save({**price, "deleted": True}, deleted=True)
    ctx.emit("plan.deleted", as_plan(ctx, price))
    ctx.emit("price.deleted", price)
    return {"id": plan, "object": "plan", "deleted": True}


@routes.get("/v1/plans", LIST)
def list_plans(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    where = Where(ctx)
    if "active" in params:
        where.flag(params["active"], "active")
    found = ctx.objects.page(
        "price",
        filters={"product": params["product"]} if "product" in params else None,
        created=params.get("created"),
        limit=params.get("limit") or 10,
        starting_after=params.get("starting_after"),
        ending_before=params.get("ending_before"),
        kinds=["recurring"],
        where=where.build(),
    )
    return list_object("/v1/plans", [as_plan(ctx, price) for price in found.data], found.has_more)


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    if at_least(ctx.api_version, price_build.METERS_REQUIRED):
        data.pop("aggregate_usage", None)
    return data


register(
    "plan",
    expandable=("product", "tiers", "transform_usage"),
    render=_render,
    includable={"tiers": prices.tiers_of},
)
