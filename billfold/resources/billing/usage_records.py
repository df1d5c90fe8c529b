"""Legacy usage records: ``/v1/subscription_items/{id}/usage_records`` and their summaries.

Before ``2025-03-31.basil`` a metered price without a meter was billed from usage records
reported on its subscription item, aggregated by the price's ``aggregate_usage``. Stripe removed
them in basil (Billing Meters replace them), so newer versions are refused here. Records are rows
of ``usage_records``, one per item and timestamp: ``set`` overwrites it, ``increment`` adds to it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.resources.base import page_computed
from billfold.resources.billing import meter_events
from billfold.resources.billing.price_build import METERS_REQUIRED
from billfold.wire.params import LIST_PARAMS, AnyOf, Int, Spec, Str, Timestamp
from billfold.wire.router import Routes
from billfold.wire.versions import at_least

routes = Routes("subscription_items")

CREATE: dict[str, Spec] = {
    "action": Str(enum=("increment", "set")),
    "quantity": Int(required=True, min=0),
    "timestamp": AnyOf(options=(Str(enum=("now",)), Timestamp())),
}
SUMMARIES: dict[str, Spec] = dict(LIST_PARAMS)


def _legacy_only(ctx: Ctx) -> None:
    if at_least(ctx.api_version, METERS_REQUIRED):
        raise InvalidRequestError(
            f"Usage records are not available in API version {ctx.api_version}: legacy "
            f"usage-based billing was removed in {METERS_REQUIRED}. Record usage with Billing "
            "Meters (/v1/billing/meter_events) instead, or send an earlier Stripe-Version."
        )


def _item(ctx: Ctx, item_id: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """The subscription item, its price, and its subscription (if stored)."""
    item = ctx.objects.get(item_id, "subscription_item")
    if item is None:
        raise ResourceMissing("subscription item", item_id, param="subscription_item")
    price = item.get("price")
    if isinstance(price, str):
        price = ctx.objects.get(price, "price", include_deleted=True)
    recurring = (price or {}).get("recurring") or {}
    if recurring.get("usage_type") != "metered" or recurring.get("meter"):
        raise InvalidRequestError(
            f"Usage records can only be reported for subscription items whose price is metered "
            f"(recurring[usage_type]=metered) and has no meter; `{item_id}` has "
            + ("a meter-backed price: send meter events instead." if recurring.get("meter")
               else "a licensed price, billed by its quantity."),
            param="subscription_item",
        )
    subscription_id = item.get("subscription")
    subscription = ctx.objects.get(subscription_id, "subscription") if isinstance(subscription_id, str) else None
    assert price is not None
    return item, price, subscription


def _period(item: dict[str, Any], subscription: dict[str, Any] | None) -> tuple[int, int]:
    """The item's current period; it lives on the subscription in shapes before basil."""
    holder = item if item.get("current_period_start") is not None else (subscription or {})
    return int(holder.get("current_period_start") or 0), int(holder.get("current_period_end") or 0)


def _now(ctx: Ctx, subscription: dict[str, Any] | None) -> int:
    customer_id = (subscription or {}).get("customer")
    customer = ctx.objects.get(customer_id, "customer") if isinstance(customer_id, str) else None
    return meter_events.customer_now(ctx, customer)


@routes.post("/v1/subscription_items/{subscription_item}/usage_records", CREATE)
def create_usage_record(ctx: Ctx, params: dict[str, Any], subscription_item: str) -> dict[str, Any]:
    _legacy_only(ctx)
    item, _, subscription = _item(ctx, subscription_item)
    now = _now(ctx, subscription)
    timestamp = params.get("timestamp", "now")
    if timestamp == "now":
        timestamp = now
    period_start, _ = _period(item, subscription)
    if timestamp < period_start:
        raise InvalidRequestError(
            "Cannot create the usage record with this timestamp because timestamps must be after "
            f"the subscription's current period start time ({period_start}).",
            param="timestamp",
        )
    if timestamp > now + meter_events.MAX_FUTURE:
        raise InvalidRequestError(
            "Cannot create the usage record with this timestamp because it is in the future.",
            param="timestamp",
        )
    quantity = params["quantity"]
    merge = "excluded.quantity" if params.get("action") == "set" else "usage_records.quantity + excluded.quantity"
    ctx.tx.execute(
        "INSERT INTO usage_records (id, account, livemode, subscription_item, timestamp, quantity, "
        "created) VALUES (:id, :account, :livemode, :item, :timestamp, :quantity, :created) "
        "ON CONFLICT (account, livemode, subscription_item, timestamp) "
        f"DO UPDATE SET quantity = {merge}",
        id=ids.new_id("usage_record", 14),
        account=ctx.scope.account,
        livemode=ctx.livemode,
        item=subscription_item,
        timestamp=timestamp,
        quantity=quantity,
        created=ctx.now,
    )
    row = ctx.tx.one(
        "SELECT id, quantity FROM usage_records WHERE account = :account AND livemode = :livemode "
        "AND subscription_item = :item AND timestamp = :timestamp",
        account=ctx.scope.account,
        livemode=ctx.livemode,
        item=subscription_item,
        timestamp=timestamp,
    )
    assert row is not None
    return {
        "id": row.id,
        "object": "usage_record",
        "livemode": ctx.livemode,
        "quantity": int(row.quantity),
        "subscription_item": subscription_item,
        "timestamp": timestamp,
    }


def legacy_quantity(ctx: Ctx, item_id: str, aggregate_usage: str, start: int, end: int) -> int:
    """An item's usage records aggregated as its price says, over ``[start, end)``
    (``last_ever`` looks back past ``start`` to the latest record before ``end``)."""
    bounds = {
        "account": ctx.scope.account,
        "livemode": ctx.livemode,
        "item": item_id,
        "start": start if aggregate_usage != "last_ever" else 0,
        "end": end,
    }
    where = (
        "FROM usage_records WHERE account = :account AND livemode = :livemode "
        "AND subscription_item = :item AND timestamp >= :start AND timestamp < :end"
    )
    if aggregate_usage in ("last_during_period", "last_ever"):
        row = ctx.tx.one(f"SELECT quantity AS n {where} ORDER BY timestamp DESC LIMIT 1", **bounds)
    elif aggregate_usage == "max":
        row = ctx.tx.one(f"SELECT MAX(quantity) AS n {where}", **bounds)
    else:
        row = ctx.tx.one(f"SELECT SUM(quantity) AS n {where}", **bounds)
    return int(row.n) if row is not None and row.n is not None else 0


def _summary(
    ctx: Ctx, item_id: str, start: int, end: int, total: int, invoice: str | None
) -> dict[str, Any]:
    seed = f"{ctx.scope.account}:{item_id}:{start}:{end}:{invoice}".encode()
    return {
        "id": f"{ids.PREFIXES['usage_record_summary']}_{hashlib.sha256(seed).hexdigest()[:24]}",
        "object": "usage_record_summary",
        "invoice": invoice,
        "livemode": ctx.livemode,
        "period": {"end": end, "start": start},
        "subscription_item": item_id,
        "total_usage": total,
    }


def _line_item(line: dict[str, Any]) -> str | None:
    """The subscription item a stored invoice line bills (newest shape, or the older one)."""
    details = ((line.get("parent") or {}).get("subscription_item_details") or {})
    found = details.get("subscription_item") or line.get("subscription_item")
    return found if isinstance(found, str) else None


def _invoiced(ctx: Ctx, item_id: str, subscription_id: str, before: int) -> list[dict[str, Any]]:
    """Summaries of the periods that ended by ``before`` and were invoiced: one per period, from
    the invoice line that billed its usage (a first invoice's line for the period just begun
    bills no usage and is the current summary's, not one of these)."""
    summaries: list[dict[str, Any]] = []
    seen: set[int] = set()
    cursor: str | None = None
    while True:
        found = ctx.objects.page(
            "invoice", filters={"subscription": subscription_id}, limit=100, starting_after=cursor
        )
        for invoice in found.data:
            lines = (invoice.get("lines") or {}).get("data") or []
            for line in lines:
                if _line_item(line) != item_id or line.get("proration"):
                    continue
                period = line.get("period") or {}
                start, end = int(period.get("start") or 0), int(period.get("end") or 0)
                if end > before or start in seen:
                    continue
                seen.add(start)
                summaries.append(
                    _summary(ctx, item_id, start, end, int(line.get("quantity") or 0), invoice["id"])
                )
        if not found.has_more or not found.data:
            return summaries
        cursor = found.data[-1]["id"]


@routes.get("/v1/subscription_items/{subscription_item}/usage_record_summaries", SUMMARIES)
def list_usage_record_summaries(
    ctx: Ctx, params: dict[str, Any], subscription_item: str
) -> dict[str, Any]:
    _legacy_only(ctx)
    item, price, subscription = _item(ctx, subscription_item)
    start, end = _period(item, subscription)
    aggregate = (price.get("recurring") or {}).get("aggregate_usage") or "sum"
    current = _summary(
        ctx, subscription_item, start, end,
        legacy_quantity(ctx, subscription_item, aggregate, start, end), None,
    )
    past = _invoiced(ctx, subscription_item, subscription["id"], start) if subscription else []
    url = f"/v1/subscription_items/{subscription_item}/usage_record_summaries"
    return page_computed([current, *past], params, url)
