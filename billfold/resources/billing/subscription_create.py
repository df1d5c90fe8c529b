"""Creating a subscription: its items, trial, billing cycle and first invoice.

The subscription starts ``incomplete`` (``trialing`` with a trial, ``active`` when invoices are
sent), its first invoice is drafted, finalized and (charging automatically) paid at once;
paying it makes the subscription ``active`` through ``on_invoice_paid``. With
``error_if_incomplete`` an unpaid first invoice is a 402 and nothing is kept.
"""

from __future__ import annotations

from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.resources.billing import clock, tax_rates
from billfold.resources.billing import subscription_billing as billing
from billfold.resources.billing import subscription_changes as changes
from billfold.resources.billing import subscription_lifecycle as lifecycle
from billfold.resources.billing import subscription_periods as periods
from billfold.resources.billing import subscription_state as state
from billfold.resources.billing.catalog import no_such
from billfold.resources.billing.price_build import METERS_REQUIRED
from billfold.wire.versions import at_least

DAY = 86_400
MAX_TRIAL = 730 * DAY
DEFAULT_DAYS_UNTIL_DUE = 30


def only_one(params: dict[str, Any], first: str, second: str) -> None:
    if first in params and second in params:
        raise InvalidRequestError(
            f"You may only specify one of these parameters: {first}, {second}.", param=second
        )


def refuse_legacy(ctx: Ctx, params: dict[str, Any]) -> None:
    """``coupon`` and ``promotion_code`` left the API in 2025-03-31.basil (``discounts`` stays);
    Billfold has no legacy sources."""
    for name in ("coupon", "promotion_code"):
        if name in params and at_least(ctx.api_version, METERS_REQUIRED):
            raise InvalidRequestError(
                f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
            )
    if params.get("default_source"):
        raise InvalidRequestError(
            "Billfold does not support legacy sources; use PaymentMethods and "
            "default_payment_method.",
            param="default_source",
        )


def legacy_discounts(params: dict[str, Any]) -> list[dict[str, Any]] | None:
    """``discounts``, or the single ``coupon``/``promotion_code`` of older versions."""
    if "discounts" in params:
        only_one(params, "coupon", "discounts")
        only_one(params, "promotion_code", "discounts")
        return list(params["discounts"] or [])
    found = [{name: params[name]} for name in ("coupon", "promotion_code") if params.get(name)]
    return found if found else None


def check_payment_method(ctx: Ctx, customer: str, method_id: str, param: str = "default_payment_method") -> str:
    method = ctx.objects.get(method_id, "payment_method")
    if method is None or method.get("customer") != customer:
        raise InvalidRequestError(
            f"The customer does not have a payment method with the ID {method_id}. The payment "
            "method must be attached to the customer.",
            param=param,
        )
    return method_id


def future_timestamp(ctx: Ctx, value: int, param: str, limit: int = MAX_TRIAL) -> int:
    if value <= ctx.now:
        raise InvalidRequestError(
            "Invalid timestamp: must be an integer Unix timestamp in the future.", param=param
        )
    if value > ctx.now + limit:
        raise InvalidRequestError(
            f"Invalid timestamp: can be no more than {limit // DAY} days in the future.", param=param
        )
    return value


def trial_end(ctx: Ctx, params: dict[str, Any], prices: list[dict[str, Any]]) -> int | None:
    only_one(params, "trial_end", "trial_period_days")
    if params.get("trial_from_plan") and "trial_end" in params:
        raise InvalidRequestError(
            "You may only specify one of these parameters: trial_end, trial_from_plan.",
            param="trial_from_plan",
        )
    value = params.get("trial_end")
    if value == "now":
        return None
    if value is not None:
        return future_timestamp(ctx, int(value), "trial_end")
    days = params.get("trial_period_days")
    if days is None and params.get("trial_from_plan"):
        days = max((int((p.get("recurring") or {}).get("trial_period_days") or 0) for p in prices), default=0)
    return ctx.now + int(days) * DAY if days else None


def billing_cycle_anchor(
    ctx: Ctx, params: dict[str, Any], interval: str, count: int, trial: int | None
) -> tuple[int, dict[str, Any] | None]:
    only_one(params, "billing_cycle_anchor", "billing_cycle_anchor_config")
    start = trial or ctx.now
    config = params.get("billing_cycle_anchor_config")
    if config is not None:
        if interval not in ("month", "year"):
            raise InvalidRequestError(
                "billing_cycle_anchor_config is only supported for monthly and yearly prices.",
                param="billing_cycle_anchor_config",
            )
        anchor = periods.anchor_from_config(config, interval, start)
        shown = {name: config.get(name) for name in ("day_of_month", "hour", "minute", "month", "second")}
        return anchor, shown
    if params.get("billing_cycle_anchor") is None:
        return start, None
    anchor = int(params["billing_cycle_anchor"])
    natural = periods.boundary(start, interval, count, 1)
    if anchor < start:
        raise InvalidRequestError(
            "billing_cycle_anchor cannot be earlier than the start of the subscription"
            + (" (the end of its trial)." if trial else "."),
            param="billing_cycle_anchor",
        )
    if anchor > natural:
        raise InvalidRequestError(
            f"billing_cycle_anchor cannot be later than next natural billing date ({natural}) for plan",
            param="billing_cycle_anchor",
        )
    return int(anchor), None


def _items(ctx: Ctx, params: dict[str, Any]) -> list[tuple[dict[str, Any], int | None, dict[str, Any]]]:
    entries = params.get("items") or []
    if not entries:
        raise InvalidRequestError("Missing required param: items.", param="items", code="parameter_missing")
    chosen = []
    for index, entry in enumerate(entries):
        at = f"items[{index}]"
        price = state.resolve_price(ctx, entry, at)
        if price is None:
            raise InvalidRequestError(
                f"Missing required param: {at}[price].", param=f"{at}[price]", code="parameter_missing"
            )
        entry = {**entry, "tax_rates": tax_rates.resolve_rates(ctx, entry.get("tax_rates"), f"{at}[tax_rates]")}
        chosen.append((price, state.item_quantity(price, entry, at), entry))
    return chosen


def _cancel_at(ctx: Ctx, params: dict[str, Any], period_end: int) -> int | None:
    value = params.get("cancel_at")
    if value is None:
        return None
    if isinstance(value, str):
        return period_end
    return future_timestamp(ctx, int(value), "cancel_at", limit=100 * 365 * DAY)


def create(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    refuse_legacy(ctx, params)
    customer_id = params["customer"]
    customer = ctx.objects.get(customer_id, "customer")
    if customer is None:
        raise no_such("customer", customer_id, "customer")
    clock.enter(ctx, customer_id)
    chosen = _items(ctx, params)
    currency, interval, count = state.check_prices_for([c[0] for c in chosen], "items")
    if params.get("currency") not in (None, currency):
        raise InvalidRequestError(
            f"The currency {params['currency']} does not match the currency of the subscription's "
            f"prices ({currency}).",
            param="currency",
        )
    behavior = params.get("payment_behavior", "allow_incomplete")
    if behavior == "pending_if_incomplete":
        raise InvalidRequestError(
            "`pending_if_incomplete` is only used with updates and cannot be passed when creating "
            "a Subscription.",
            param="payment_behavior",
        )
    collection = params.get("collection_method", "charge_automatically")
    days_until_due = params.get("days_until_due")
    if collection == "charge_automatically" and days_until_due is not None:
        raise InvalidRequestError(
            "days_until_due can only be set when collection_method is send_invoice.", param="days_until_due"
        )
    if collection == "send_invoice" and days_until_due is None:
        days_until_due = DEFAULT_DAYS_UNTIL_DUE
    method = params.get("default_payment_method")
    if method:
        check_payment_method(ctx, customer_id, method)
    trial = trial_end(ctx, params, [c[0] for c in chosen])
    anchor, anchor_config = billing_cycle_anchor(ctx, params, interval, count, trial)
    period_end = trial or (anchor if anchor > ctx.now else periods.boundary(anchor, interval, count, 1))
    only_one(params, "cancel_at", "cancel_at_period_end")
    cancel_at = _cancel_at(ctx, params, period_end)
    status = "trialing" if trial else ("active" if collection == "send_invoice" else "incomplete")
    subscription = _document(ctx, params, customer, currency, status, anchor, anchor_config)
    subscription.update(
        _interval=interval, _interval_count=count, _period_start=ctx.now, _period_end=period_end,
        cancel_at=cancel_at, collection_method=collection, days_until_due=days_until_due,
        default_payment_method=method, trial_end=trial, trial_start=ctx.now if trial else None,
    )
    if params.get("cancel_at_period_end") or cancel_at is not None:
        subscription["canceled_at"] = ctx.now if params.get("cancel_at_period_end") else None
        subscription["cancellation_details"]["reason"] = "cancellation_requested"
    found_discounts = legacy_discounts(params)
    if found_discounts:
        subscription["discounts"] = changes.redeem_discounts(ctx, found_discounts, subscription, "discounts")
    for price, quantity, entry in chosen:
        item = state.new_item(ctx, subscription, price, quantity, entry)
        ctx.objects.insert(item)
        if entry.get("discounts"):
            item["discounts"] = changes.redeem_discounts(
                ctx, entry["discounts"], subscription, "items[discounts]", item=item["id"]
            )
            ctx.objects.save(item)
    state.sync_prices(ctx, subscription)
    ctx.objects.insert(subscription)
    ctx.emit("customer.subscription.created", subscription)
    return _first_invoice(ctx, subscription, params, behavior)


def _first_invoice(
    ctx: Ctx, subscription: dict[str, Any], params: dict[str, Any], behavior: str
) -> dict[str, Any]:
    start, end = ctx.now, int(subscription["_period_end"])
    free = subscription["status"] == "trialing" or (
        params.get("proration_behavior") == "none" and end < periods.boundary(start, subscription["_interval"], subscription["_interval_count"], 1)
    )
    lines = billing.item_lines(ctx, subscription, start, end, free=free)
    invoice = billing.invoice_period(ctx, subscription, billing_reason="subscription_create", start=start, end=end, lines=lines)
    ctx.objects.save(subscription)
    invoice = billing.collect(
        ctx, subscription, invoice, payment_behavior=behavior, off_session=bool(params.get("off_session"))
    )
    if behavior == "error_if_incomplete":
        billing.refuse_unpaid(ctx, invoice)
    if invoice.get("status") == "paid":
        lifecycle.on_invoice_paid(ctx, invoice)
    fresh = state.load_subscription(ctx, subscription["id"], for_update=True)
    lifecycle.schedule_next(ctx, fresh)
    return fresh


def _document(
    ctx: Ctx,
    params: dict[str, Any],
    customer: dict[str, Any],
    currency: str,
    status: str,
    anchor: int,
    anchor_config: dict[str, Any] | None,
) -> dict[str, Any]:
    settings = params.get("trial_settings") or {}
    missing = (settings.get("end_behavior") or {}).get("missing_payment_method", "create_invoice")
    payment_settings = params.get("payment_settings") or {}
    return {
        "id": ids.new_id("subscription", 24),
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": bool((params.get("automatic_tax") or {}).get("enabled")),
            "liability": None,
        },
        "billing_cycle_anchor": anchor,
        "billing_cycle_anchor_config": anchor_config,
        "billing_mode": {"flexible": None, "type": "classic"},
        "billing_schedules": [],
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": bool(params.get("cancel_at_period_end")),
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": ctx.now,
        "currency": currency,
        "customer": customer["id"],
        "customer_account": None,
        "days_until_due": None,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": tax_rates.resolve_rates(ctx, params.get("default_tax_rates"), "default_tax_rates"),
        "description": params.get("description"),
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {
            "account_tax_ids": (params.get("invoice_settings") or {}).get("account_tax_ids") or None,
            "custom_fields": None,
            "description": None,
            "footer": None,
            "issuer": {"type": "self"},
        },
        "latest_invoice": None,
        "livemode": ctx.livemode,
        "managed_payments": None,
        "metadata": {k: v for k, v in (params.get("metadata") or {}).items() if v is not None},
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": payment_settings.get("payment_method_options"),
            "payment_method_types": payment_settings.get("payment_method_types") or None,
            "save_default_payment_method": payment_settings.get("save_default_payment_method", "off"),
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": ctx.now,
        "status": status,
        "test_clock": customer.get("test_clock"),
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": missing}},
        "trial_start": None,
    }
