"""Changing a subscription's items: add, remove, change price or quantity, and their prorations.

``apply_items`` validates every entry of an ``items`` list (as ``POST /v1/subscriptions/{id}``
and ``/v1/subscription_items`` send them) before it changes anything, then stores the result
and returns what changed. ``prorate`` turns those changes into pending proration invoice items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.resources.billing import discounts, proration, tax_rates
from billfold.resources.billing import subscription_state as state
from billfold.resources.billing.catalog import no_such
from billfold.wire.params import apply_metadata

LAST_ITEM = (
    "A subscription must have at least one active plan. To cancel a subscription, please use "
    "the cancel API endpoint on /v1/subscriptions."
)


@dataclass
class Outcome:
    changes: list[proration.Change] = field(default_factory=list)
    interval_changed: bool = False


@dataclass
class _Planned:
    """An item as it will be after the request: an existing one (``item``) or a new one."""

    price: dict[str, Any]
    quantity: int | None
    entry: dict[str, Any]
    at: str
    item: dict[str, Any] | None = None
    price_changed: bool = False


def _new_items(ctx: Ctx, entry: dict[str, Any], at: str) -> _Planned:
    price = state.resolve_price(ctx, entry, at)
    if price is None:
        raise InvalidRequestError(
            f"Missing required param: {at}[price].", param=f"{at}[price]", code="parameter_missing"
        )
    return _Planned(price, state.item_quantity(price, entry, at), entry, at)


def _existing(ctx: Ctx, item: dict[str, Any], entry: dict[str, Any], at: str) -> _Planned:
    current = state.price_of(ctx, item)
    price = state.resolve_price(ctx, entry, at) or current
    changed = price["id"] != current["id"]
    # A new price starts again at quantity 1 unless told otherwise, as Stripe does.
    default = 1 if changed else item.get("quantity")
    quantity = state.item_quantity(price, entry, at, default=default)
    return _Planned(price, quantity, entry, at, item=item, price_changed=changed)


def plan_items(
    ctx: Ctx, subscription: dict[str, Any], entries: list[dict[str, Any]], at: str = "items"
) -> tuple[list[_Planned], list[dict[str, Any]]]:
    """Every item the subscription will have, and the items to remove; nothing stored yet."""
    current = {item["id"]: item for item in state.items_of(ctx, subscription["id"])}
    kept: dict[str, _Planned] = {}
    added: list[_Planned] = []
    removed: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        where = f"{at}[{index}]"
        item_id = entry.get("id")
        if item_id is None:
            if entry.get("deleted"):
                raise InvalidRequestError(
                    f"Missing required param: {where}[id].", param=f"{where}[id]", code="parameter_missing"
                )
            added.append(_new_items(ctx, entry, where))
            continue
        item = current.get(item_id)
        if item is None or any(i.get("id") == item_id for i in removed) or item_id in kept:
            raise no_such("subscription item", item_id, f"{where}[id]")
        if entry.get("deleted"):
            removed.append(item)
        else:
            kept[item_id] = _existing(ctx, item, entry, where)
    for item_id, item in current.items():
        if item_id not in kept and item not in removed:
            kept[item_id] = _Planned(state.price_of(ctx, item), item.get("quantity"), {}, at, item=item)
    final = [*kept.values(), *added]
    if not final:
        raise InvalidRequestError(LAST_ITEM, param=at)
    return final, removed


def check_final(subscription: dict[str, Any], final: list[_Planned], at: str) -> bool:
    """Refuse a mix of currencies or intervals; True when the subscription's interval changes."""
    if not final:
        return False
    prices = [planned.price for planned in final]
    param = next((p.at for p in final if p.item is None or p.price_changed), at)
    currency, interval, count = state.check_prices_for(prices, param)
    if currency != subscription["currency"]:
        raise InvalidRequestError(
            "Currency and interval fields must match across all plans on this subscription. "
            "Found mismatch in currency field.",
            param=param,
        )
    return (interval, count) != (subscription["_interval"], subscription["_interval_count"])


def store(
    ctx: Ctx, subscription: dict[str, Any], final: list[_Planned], removed: list[dict[str, Any]]
) -> Outcome:
    """Write the planned items; what changed, for prorations and events."""
    outcome = Outcome()
    for gone in removed:
        before = (state.price_of(ctx, gone), int(gone.get("quantity") or 0))
        outcome.changes.append(proration.Change(gone["id"], before, None))
        ctx.objects.save({**gone, "deleted": True}, deleted=True)
    for planned in final:
        if planned.item is None:
            item = state.new_item(ctx, subscription, planned.price, planned.quantity, planned.entry)
            item["tax_rates"] = tax_rates.resolve_rates(ctx, item["tax_rates"], f"{planned.at}[tax_rates]")
            ctx.objects.insert(item)
            _item_discounts(ctx, subscription, item, planned)
            after = (planned.price, int(planned.quantity or 0))
            outcome.changes.append(proration.Change(item["id"], None, after))
            continue
        item = planned.item
        before = (state.price_of(ctx, item), int(item.get("quantity") or 0))
        _update_item(ctx, item, planned)
        _item_discounts(ctx, subscription, item, planned)
        ctx.objects.save(item)
        outcome.changes.append(proration.Change(item["id"], before, (planned.price, int(planned.quantity or 0))))
    return outcome


def _update_item(ctx: Ctx, item: dict[str, Any], planned: _Planned) -> None:
    entry = planned.entry
    item["price"] = planned.price["id"]
    item["quantity"] = planned.quantity
    if "metadata" in entry:
        item["metadata"] = apply_metadata(item.get("metadata") or {}, entry["metadata"])
    if "tax_rates" in entry:
        item["tax_rates"] = tax_rates.resolve_rates(ctx, entry["tax_rates"], f"{planned.at}[tax_rates]")
    if "billing_thresholds" in entry:
        value = entry["billing_thresholds"]
        item["billing_thresholds"] = {"usage_gte": value["usage_gte"]} if value else None


def _item_discounts(ctx: Ctx, subscription: dict[str, Any], item: dict[str, Any], planned: _Planned) -> None:
    if "discounts" not in planned.entry:
        return
    item["discounts"] = redeem_discounts(
        ctx, planned.entry["discounts"] or [], subscription, f"{planned.at}[discounts]", item=item["id"]
    )
    ctx.objects.save(item)


def redeem_discounts(
    ctx: Ctx,
    entries: list[dict[str, Any]],
    subscription: dict[str, Any],
    param: str,
    *,
    item: str | None = None,
) -> list[str]:
    """Discount ids for ``discounts`` entries: coupons and promotion codes are redeemed into new
    discounts; ``discount`` reuses one the customer or subscription already has."""
    made: list[str] = []
    customer = str(subscription["customer"])
    for index, entry in enumerate(entries):
        where = f"{param}[{index}]"
        given = [name for name in ("coupon", "discount", "promotion_code") if entry.get(name)]
        if len(given) != 1:
            raise InvalidRequestError(
                "Each discount must specify exactly one of coupon, discount or promotion_code.",
                param=where,
            )
        kind = given[0]
        if kind == "discount":
            found = ctx.objects.get(entry["discount"], "discount")
            if found is None or found.get("customer") not in (customer, None):
                raise no_such("discount", entry["discount"], f"{where}[discount]")
            made.append(found["id"])
            continue
        promotion: str | None = None
        if kind == "coupon":
            from billfold.resources.billing import coupons

            coupon = coupons.redeem(ctx, entry["coupon"], param=f"{where}[coupon]")
        else:
            from billfold.resources.billing import promotion_codes

            code = promotion_codes.resolve_promotion_code(
                ctx, entry["promotion_code"], customer, None, None, param=f"{where}[promotion_code]"
            )
            coupon = promotion_codes.redeem_promotion_code(ctx, code["id"], param=f"{where}[promotion_code]")
            promotion = code["id"]
        discount = discounts.make_discount(
            ctx, coupon, customer=customer, subscription=subscription["id"], subscription_item=item,
            promotion_code=promotion,
        )
        made.append(discount["id"])
    return made


def prorate(
    ctx: Ctx, subscription: dict[str, Any], changes: list[proration.Change], behavior: str, at: int
) -> list[dict[str, Any]]:
    """Pending proration invoice items for ``changes`` at ``at`` (none while trialing, or with
    ``proration_behavior=none``)."""
    if behavior == "none" or subscription["status"] in ("trialing", "paused", *state.ENDED):
        return []
    lines = proration.lines_for(ctx, subscription, changes, at)
    return proration.record(ctx, subscription, lines)


def proration_time(subscription: dict[str, Any], params: dict[str, Any], now: int) -> int:
    """``proration_date`` (within the current period), or now."""
    at = params.get("proration_date")
    if at is None:
        return now
    if not (subscription["_period_start"] <= at <= subscription["_period_end"]):
        raise InvalidRequestError(
            "proration_date must be within the subscription's current period "
            f"({subscription['_period_start']} to {subscription['_period_end']}).",
            param="proration_date",
        )
    return int(at)
