"""What the subscription modules share: loading, items, prices, periods and jobs.

A subscription and its items are separate documents (items carry an indexed ``subscription``
column), stored in the newest API shape. The subscription keeps its current period privately
(``_period_start``, ``_period_end``) and every item mirrors it as ``current_period_start`` and
``current_period_end``: classic billing gives all items one period.
"""

from __future__ import annotations

import copy
import datetime
import importlib
from typing import Any

from billfold import ids, jobs
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.resources.billing import price_build, prices
from billfold.resources.billing.catalog import no_such
from billfold.resources.billing.price_math import amount_for_quantity
from billfold.wire.present import render
from billfold.wire.versions import at_least

# Statuses in which a subscription still runs (renews, can change).
LIVE = ("active", "past_due", "trialing", "unpaid", "paused", "incomplete")
ENDED = ("canceled", "incomplete_expired")
# Job kinds (billfold.jobs): the clock's entry points, each re-checking state before acting.
RENEW_JOB = "subscription.renew"
TRIAL_END_JOB = "subscription.trial_end"
TRIAL_WILL_END_JOB = "subscription.trial_will_end"
EXPIRE_JOB = "subscription.expire_incomplete"
RESUME_COLLECTION_JOB = "subscription.resume_collection"
# How long an incomplete subscription waits for its first payment.
INCOMPLETE_WINDOW = 23 * 3600
TRIAL_WILL_END_NOTICE = 3 * 86_400
# From this version an item carries its own current period (and the subscription none).
ITEM_PERIODS_SINCE = "2025-03-31.basil"


def load_subscription(
    ctx: Ctx, subscription_id: str, *, param: str = "subscription_exposed_id", for_update: bool = False
) -> dict[str, Any]:
    found = ctx.objects.get(subscription_id, "subscription", for_update=for_update)
    if found is None:
        raise ResourceMissing("subscription", subscription_id, param=param)
    return found


def load_item(ctx: Ctx, item_id: str, *, param: str = "item", for_update: bool = False) -> dict[str, Any]:
    found = ctx.objects.get(item_id, "subscription_item", for_update=for_update)
    if found is None:
        raise ResourceMissing("subscription item", item_id, param=param)
    return found


def items_of(ctx: Ctx, subscription_id: str) -> list[dict[str, Any]]:
    """The subscription's items, oldest first (Stripe's order)."""
    found = ctx.objects.page("subscription_item", filters={"subscription": subscription_id}, limit=100)
    return found.data[::-1]


def price_of(ctx: Ctx, item: dict[str, Any]) -> dict[str, Any]:
    """The item's price (stored form); memoized for the request."""
    memo: dict[str, dict[str, Any]] = ctx.memo.setdefault("subscriptions.prices", {})
    price_id = str(item["price"])
    if price_id not in memo:
        found = ctx.objects.get(price_id, "price", include_deleted=True)
        if found is None:
            raise ResourceMissing("price", price_id, param="price")
        memo[price_id] = found
    return copy.deepcopy(memo[price_id])


def product_name(ctx: Ctx, price: dict[str, Any]) -> str:
    product = ctx.objects.get(str(price.get("product")), "product", include_deleted=True) or {}
    return str(product.get("name") or price.get("nickname") or price.get("product"))


def amount_of(price: dict[str, Any], quantity: int, currency: str) -> int:
    """What the price charges for ``quantity`` over one whole period, in ``currency``."""
    return amount_for_quantity(price, quantity, currency)


def is_metered(price: dict[str, Any]) -> bool:
    return (price.get("recurring") or {}).get("usage_type") == "metered"


def interval_of(price: dict[str, Any]) -> tuple[str, int]:
    recurring = price.get("recurring") or {}
    return str(recurring.get("interval")), int(recurring.get("interval_count") or 1)


def resolve_price(ctx: Ctx, entry: dict[str, Any], at: str) -> dict[str, Any] | None:
    """The price an item entry names (``price``, legacy ``plan``, or ``price_data`` built inline)."""
    given = [name for name in ("price", "plan", "price_data") if name in entry]
    if len(given) > 1:
        raise InvalidRequestError(
            f"You may only specify one of these parameters: {', '.join(given)}.", param=f"{at}[{given[1]}]"
        )
    if not given:
        return None
    name = given[0]
    if name == "price_data":
        return _inline_price(ctx, entry["price_data"], f"{at}[price_data]")
    price_id = str(entry[name])
    price = ctx.objects.get(price_id, "price")
    if price is None:
        raise no_such("price" if name == "price" else "plan", price_id, f"{at}[{name}]")
    if price.get("type") != "recurring":
        raise InvalidRequestError(
            "The price specified is set to `type=one_time` but this field only accepts prices with "
            "`type=recurring`.",
            param=f"{at}[{name}]",
        )
    if not price.get("active"):
        raise InvalidRequestError(
            "The price specified is inactive. This field only accepts active prices.",
            param=f"{at}[{name}]",
        )
    return price


def _inline_price(ctx: Ctx, data: dict[str, Any], at: str) -> dict[str, Any]:
    product_id = data["product"]
    product = ctx.objects.get(product_id, "product")
    if product is None:
        raise no_such("product", product_id, f"{at}[product]")
    if "unit_amount" not in data and "unit_amount_decimal" not in data:
        raise InvalidRequestError(
            f"Missing required param: {at}[unit_amount].", param=f"{at}[unit_amount]", code="parameter_missing"
        )
    # Prices made from price_data serve the one item: archived from the start, as Stripe's are.
    price = price_build.build(ctx, {**data, "active": False}, product_id, at=at)
    return prices.insert(ctx, price)


def check_prices_for(chosen: list[dict[str, Any]], param: str) -> tuple[str, str, int]:
    """All items of a classic subscription share one currency and one billing interval."""
    currencies = {str(p["currency"]) for p in chosen}
    intervals = {interval_of(p) for p in chosen}
    if len(currencies) > 1 or len(intervals) > 1:
        field = "currency" if len(currencies) > 1 else "interval"
        raise InvalidRequestError(
            "Currency and interval fields must match across all plans on this subscription. "
            f"Found mismatch in {field} field.",
            param=param,
        )
    seen: set[str] = set()
    for price in chosen:
        if price["id"] in seen:
            raise InvalidRequestError(
                f"Cannot add multiple subscription items with the same price: {price['id']}.",
                param=param,
            )
        seen.add(price["id"])
    interval, count = intervals.pop()
    return currencies.pop(), interval, count


def item_quantity(price: dict[str, Any], entry: dict[str, Any], at: str, default: int | None = 1) -> int | None:
    if is_metered(price):
        if entry.get("quantity") is not None:
            raise InvalidRequestError(
                f"Quantity should not be specified where usage_type is `metered`. Remove quantity "
                f"from `{at}`.",
                param=f"{at}[quantity]",
            )
        return None
    quantity = entry.get("quantity", default)
    return None if quantity is None else int(quantity)


def new_item(
    ctx: Ctx, subscription: dict[str, Any], price: dict[str, Any], quantity: int | None, entry: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": ids.new_id("subscription_item", 14),
        "object": "subscription_item",
        "billing_thresholds": _thresholds(entry.get("billing_thresholds")),
        "created": ctx.now,
        "current_period_end": subscription["_period_end"],
        "current_period_start": subscription["_period_start"],
        "discounts": [],
        "metadata": {k: v for k, v in (entry.get("metadata") or {}).items() if v is not None},
        "price": price["id"],
        "quantity": quantity,
        "subscription": subscription["id"],
        "tax_rates": list(entry.get("tax_rates") or []),
    }


def _thresholds(value: dict[str, Any] | None) -> dict[str, Any] | None:
    return {"usage_gte": value["usage_gte"]} if value else None


def sync_prices(ctx: Ctx, subscription: dict[str, Any]) -> None:
    """The item prices, kept on the subscription for ``GET /v1/subscriptions?price=``."""
    found = [str(item["price"]) for item in items_of(ctx, subscription["id"])]
    subscription["_prices"] = f" {' '.join(found)} "


def set_period(ctx: Ctx, subscription: dict[str, Any], start: int, end: int) -> None:
    """Move the subscription (and each of its items) to the period ``[start, end)``."""
    subscription["_period_start"], subscription["_period_end"] = start, end
    for item in items_of(ctx, subscription["id"]):
        if (item["current_period_start"], item["current_period_end"]) != (start, end):
            item["current_period_start"], item["current_period_end"] = start, end
            ctx.objects.save(item)


def snapshot(ctx: Ctx, subscription: dict[str, Any]) -> dict[str, Any]:
    """The subscription with its items as the API shows them, for the ``previous_attributes``
    of the next ``customer.subscription.updated``."""
    whole = copy.deepcopy(subscription)
    shown = [render(ctx, copy.deepcopy(item)) for item in items_of(ctx, subscription["id"])]
    whole["items"] = {
        "object": "list",
        "data": shown,
        "has_more": False,
        "url": f"/v1/subscription_items?subscription={subscription['id']}",
    }
    if not at_least(ctx.api_version, ITEM_PERIODS_SINCE):
        whole["current_period_start"] = subscription.get("_period_start")
        whole["current_period_end"] = subscription.get("_period_end")
    return whole


def payment_method_for(ctx: Ctx, subscription: dict[str, Any]) -> str | None:
    """The payment method invoices of this subscription charge: its own, else the customer's."""
    if subscription.get("default_payment_method"):
        return str(subscription["default_payment_method"])
    customer = ctx.objects.get(str(subscription["customer"]), "customer") or {}
    default = (customer.get("invoice_settings") or {}).get("default_payment_method")
    return str(default) if default else None


def schedule(ctx: Ctx, kind: str, subscription: dict[str, Any], run_at: int) -> None:
    """Queue clock work for the subscription, once per kind and time. A subscription on a test
    clock queues it on the clock: advancing the clock runs what falls due (``test_clocks``)."""
    queued = ctx.tx.one(
        "SELECT id FROM jobs WHERE status = 'pending' AND run_at = :run_at AND kind = :kind "
        "AND target = :target AND account = :account AND livemode = :livemode",
        run_at=float(run_at), kind=kind, target=subscription["id"], account=ctx.scope.account,
        livemode=ctx.livemode,
    )
    if queued is None:
        jobs.schedule(ctx, kind, subscription["id"], run_at, test_clock=subscription.get("test_clock"))
    if kind == RENEW_JOB:  # and ``invoice.upcoming`` a few days before (billing/upcoming.py)
        importlib.import_module("billfold.resources.billing.upcoming").schedule_upcoming(ctx, subscription, run_at)


def due_work(subscription: dict[str, Any]) -> list[tuple[int, str]]:
    """The subscription's future clock work as (time, job kind), earliest first."""
    work: list[tuple[int, str]] = []
    status = subscription.get("status")
    trial_end = subscription.get("trial_end")
    if status == "trialing" and trial_end:
        work.append((int(trial_end) - TRIAL_WILL_END_NOTICE, TRIAL_WILL_END_JOB))
        work.append((int(trial_end), TRIAL_END_JOB))
    elif status in ("active", "past_due", "unpaid"):
        work.append((int(subscription["_period_end"]), RENEW_JOB))
    if status == "incomplete":
        work.append((int(subscription["created"]) + INCOMPLETE_WINDOW, EXPIRE_JOB))
    cancel_at = subscription.get("cancel_at")
    if cancel_at and status in LIVE and cancel_at < subscription["_period_end"]:
        work.append((int(cancel_at), RENEW_JOB))
    resumes_at = (subscription.get("pause_collection") or {}).get("resumes_at")
    if resumes_at:
        work.append((int(resumes_at), RESUME_COLLECTION_JOB))
    return sorted(work)


def day_label(timestamp: int) -> str:
    """Stripe's date in line descriptions: ``27 Nov 2026``."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return f"{moment.day} {moment.strftime('%b %Y')}"
