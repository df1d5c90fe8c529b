"""Subscription items: ``/v1/subscription_items``, one price and quantity of a subscription.

Each change here is a change of the subscription's items (``subscription_changes``), prorated
per ``proration_behavior`` and announced as ``customer.subscription.updated``. An item shows its
price in full, the legacy ``plan`` made from it, and (from 2025-03-31.basil) its period.
"""

from __future__ import annotations

import copy
from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.resources.base import page
from billfold.resources.billing import clock, plans
from billfold.resources.billing import subscription_changes as changes
from billfold.resources.billing import subscription_params as spec
from billfold.resources.billing import subscription_state as state
from billfold.resources.billing import subscription_update as updating
from billfold.wire.present import register, render
from billfold.wire.router import Routes
from billfold.wire.versions import at_least

routes = Routes("subscription_items")

ITEM_PERIODS_SINCE = state.ITEM_PERIODS_SINCE


def _tax_rate(ctx: Ctx, rate_id: str) -> dict[str, Any]:
    found = ctx.objects.get(rate_id, "tax_rate", include_deleted=True)
    return render(ctx, found) if found is not None else {"id": rate_id, "object": "tax_rate"}


def tax_rates_shown(ctx: Ctx, rate_ids: list[Any]) -> list[dict[str, Any]]:
    return [_tax_rate(ctx, str(r)) if isinstance(r, str) else r for r in rate_ids]


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    price_id = data.get("price")
    if isinstance(price_id, str):
        stored = ctx.objects.get(price_id, "price", include_deleted=True) or {"id": price_id}
        data["plan"] = render(ctx, plans.as_plan(ctx, copy.deepcopy(stored))) if stored.get("recurring") else None
        data["price"] = render(ctx, copy.deepcopy(stored))
    data["tax_rates"] = tax_rates_shown(ctx, data.get("tax_rates") or [])
    if not at_least(ctx.api_version, ITEM_PERIODS_SINCE):
        data.pop("current_period_start", None)
        data.pop("current_period_end", None)
    return data


def _subscription_for(ctx: Ctx, subscription_id: str, param: str) -> dict[str, Any]:
    found = ctx.objects.get(subscription_id, "subscription", for_update=True)
    if found is None:
        from billfold.resources.billing.catalog import no_such

        raise no_such("subscription", subscription_id, param)
    if found["status"] in state.ENDED:
        raise InvalidRequestError(
            f"The subscription {subscription_id} has ended (status: {found['status']}); its items "
            "can no longer change.",
            param=param,
        )
    clock.enter(ctx, str(found["customer"]))
    return found


def _change(
    ctx: Ctx, subscription: dict[str, Any], entry: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any]:
    """One item entry applied as ``POST /v1/subscriptions/{id}`` would apply ``items[0]``."""
    options: dict[str, Any] = {
        name: params[name]
        for name in ("payment_behavior", "proration_behavior", "proration_date", "off_session")
        if name in params
    }
    try:
        return updating.update(ctx, subscription, {**options, "items": [entry]})
    except InvalidRequestError as exc:
        # Errors name this endpoint's parameters, not the subscription update's items[0][...].
        if exc.param and exc.param.startswith("items[0]"):
            exc.param = exc.param[len("items[0]"):].strip("[]").replace("][", "[", 1)
            if "[" in exc.param and not exc.param.endswith("]"):
                exc.param += "]"
            exc.param = exc.param or None
        elif exc.param == "items":
            exc.param = None
        raise


ENTRY_FIELDS = ("billing_thresholds", "discounts", "metadata", "plan", "price", "price_data", "quantity", "tax_rates")


@routes.post("/v1/subscription_items", spec.ITEM_CREATE)
def create_subscription_item(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    subscription = _subscription_for(ctx, params["subscription"], "subscription")
    if not any(name in params for name in ("price", "plan", "price_data")):
        raise InvalidRequestError("Missing required param: price.", param="price", code="parameter_missing")
    entry = {name: params[name] for name in ENTRY_FIELDS if name in params}
    known = {item["id"] for item in state.items_of(ctx, subscription["id"])}
    _change(ctx, subscription, entry, params)
    made = [item for item in state.items_of(ctx, subscription["id"]) if item["id"] not in known]
    return made[-1]


@routes.get("/v1/subscription_items/{item}")
def retrieve_subscription_item(ctx: Ctx, params: dict[str, Any], item: str) -> dict[str, Any]:
    return state.load_item(ctx, item)


@routes.post("/v1/subscription_items/{item}", spec.ITEM_UPDATE)
def update_subscription_item(ctx: Ctx, params: dict[str, Any], item: str) -> dict[str, Any]:
    found = state.load_item(ctx, item)
    subscription = _subscription_for(ctx, str(found["subscription"]), "item")
    entry = {name: params[name] for name in ENTRY_FIELDS if name in params}
    _change(ctx, subscription, {**entry, "id": item}, params)
    return state.load_item(ctx, item)


@routes.delete("/v1/subscription_items/{item}", spec.ITEM_DELETE)
def delete_subscription_item(ctx: Ctx, params: dict[str, Any], item: str) -> dict[str, Any]:
    found = state.load_item(ctx, item)
    subscription = _subscription_for(ctx, str(found["subscription"]), "item")
    if len(state.items_of(ctx, subscription["id"])) <= 1:
        raise InvalidRequestError(changes.LAST_ITEM)
    _change(ctx, subscription, {"id": item, "deleted": True}, params)
    return {"id": item, "object": "subscription_item", "deleted": True}


@routes.get("/v1/subscription_items", spec.ITEM_LIST)
def list_subscription_items(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    subscription_id = params["subscription"]
    if ctx.objects.get(subscription_id, "subscription") is None:
        from billfold.resources.billing.catalog import no_such

        raise no_such("subscription", subscription_id, "subscription")
    return page(ctx, "subscription_item", "/v1/subscription_items", params, {"subscription": subscription_id})


register("subscription_item", expandable=("discounts", "price.product", "subscription"), render=_render)

__all__ = ["ITEM_PERIODS_SINCE", "routes", "tax_rates_shown"]
