"""Updating, canceling and resuming a subscription.

An update validates everything before it changes anything; then it applies the plain fields,
the item changes (with prorations per ``proration_behavior``), trial and billing-cycle moves,
announces ``customer.subscription.updated`` and, when the change is billed now
(``always_invoice``, ``billing_cycle_anchor=now``, a new interval, ``trial_end=now``), invoices
and collects per ``payment_behavior``: ``error_if_incomplete`` undoes it all with a 402.
"""

from __future__ import annotations

from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError, StateConflict
from billfold.resources.billing import proration, tax_rates
from billfold.resources.billing import subscription_billing as billing
from billfold.resources.billing import subscription_changes as changes
from billfold.resources.billing import subscription_create as creating
from billfold.resources.billing import subscription_lifecycle as lifecycle
from billfold.resources.billing import subscription_periods as periods
from billfold.resources.billing import subscription_state as state
from billfold.wire.params import apply_metadata

# What a subscription that has ended (or not yet started: incomplete) still lets you change.
ENDED_EDITABLE = frozenset({"cancellation_details", "metadata"})
INCOMPLETE_EDITABLE = frozenset(
    {"cancellation_details", "default_payment_method", "default_source", "description", "metadata",
     "off_session", "payment_settings"}
)


def _check_editable(subscription: dict[str, Any], params: dict[str, Any]) -> None:
    status = subscription["status"]
    if status in state.ENDED:
        allowed, what = ENDED_EDITABLE, "cancellation_details and metadata"
    elif status == "incomplete":
        allowed, what = INCOMPLETE_EDITABLE, "metadata, description and its payment method"
    else:
        return
    locked = sorted(set(params) - allowed)
    if locked:
        raise StateConflict(
            f"A subscription with status `{status}` can only update its {what}; it cannot change "
            f"`{locked[0]}`.",
            param=locked[0],
        )


def _cancellation_details(subscription: dict[str, Any], given: dict[str, Any]) -> None:
    details = dict(subscription.get("cancellation_details") or {})
    if "comment" in given:
        details["comment"] = given["comment"]
    if "feedback" in given:
        details["feedback"] = given["feedback"] or None
    subscription["cancellation_details"] = details


def _set_cancel(
    ctx: Ctx, subscription: dict[str, Any], params: dict[str, Any], behavior: str
) -> list[dict[str, Any]]:
    """``cancel_at_period_end`` and ``cancel_at``; an end before the period's credits the time
    it cuts off (``[cancel_at, period end)``), per ``proration_behavior``. Returns the
    proration invoice items it made."""
    made: list[dict[str, Any]] = []
    if "cancel_at_period_end" in params:
        subscription["cancel_at_period_end"] = params["cancel_at_period_end"]
        if params["cancel_at_period_end"]:
            subscription["cancel_at"] = None
    if "cancel_at" in params:
        value = params["cancel_at"]
        if isinstance(value, str):
            value = subscription["_period_end"]
        elif value is not None:
            value = creating.future_timestamp(ctx, int(value), "cancel_at", limit=100 * 365 * creating.DAY)
        subscription["cancel_at"] = value
        if value is not None:
            subscription["cancel_at_period_end"] = False
            if value < subscription["_period_end"]:
                made = changes.prorate(ctx, subscription, _credit_all(ctx, subscription, None), behavior, value)
    ending = subscription["cancel_at_period_end"] or subscription.get("cancel_at") is not None
    details = dict(subscription.get("cancellation_details") or {})
    if ending and subscription.get("canceled_at") is None:
        subscription["canceled_at"] = ctx.now
        details["reason"] = "cancellation_requested"
    elif not ending and ("cancel_at_period_end" in params or "cancel_at" in params):
        subscription["canceled_at"] = None
        details["reason"] = None
    subscription["cancellation_details"] = details
    return made


def _fields(ctx: Ctx, subscription: dict[str, Any], params: dict[str, Any]) -> None:
    if "description" in params:
        subscription["description"] = params["description"]
    if "metadata" in params:
        subscription["metadata"] = apply_metadata(subscription.get("metadata") or {}, params["metadata"])
    if "default_payment_method" in params:
        method = params["default_payment_method"]
        if method:
            creating.check_payment_method(ctx, str(subscription["customer"]), method)
        subscription["default_payment_method"] = method
    if "default_tax_rates" in params:
        subscription["default_tax_rates"] = tax_rates.resolve_rates(ctx, params["default_tax_rates"], "default_tax_rates")
    if "collection_method" in params:
        subscription["collection_method"] = params["collection_method"]
        if params["collection_method"] == "charge_automatically":
            subscription["days_until_due"] = None
        elif subscription.get("days_until_due") is None and "days_until_due" not in params:
            subscription["days_until_due"] = creating.DEFAULT_DAYS_UNTIL_DUE
    if "days_until_due" in params:
        if subscription["collection_method"] != "send_invoice":
            raise InvalidRequestError(
                "days_until_due can only be set when collection_method is send_invoice.",
                param="days_until_due",
            )
        subscription["days_until_due"] = params["days_until_due"]
    if "cancellation_details" in params:
        _cancellation_details(subscription, params["cancellation_details"])
    if "trial_settings" in params:
        subscription["trial_settings"] = {
            "end_behavior": {"missing_payment_method": params["trial_settings"]["end_behavior"]["missing_payment_method"]}
        }
    if "payment_settings" in params:
        given = params["payment_settings"]
        current = dict(subscription.get("payment_settings") or {})
        for name in ("payment_method_options", "payment_method_types", "save_default_payment_method"):
            if name in given:
                current[name] = given[name] or None
        subscription["payment_settings"] = current
    if "automatic_tax" in params:
        subscription["automatic_tax"] = {**subscription["automatic_tax"], "enabled": params["automatic_tax"]["enabled"]}
    if "pause_collection" in params:
        paused = params["pause_collection"]
        if paused and paused.get("resumes_at") is not None:
            creating.future_timestamp(ctx, int(paused["resumes_at"]), "pause_collection[resumes_at]", limit=100 * 365 * creating.DAY)
        subscription["pause_collection"] = (
            {"behavior": paused["behavior"], "resumes_at": paused.get("resumes_at")} if paused else None
        )


def _anchor_now(params: dict[str, Any]) -> bool:
    value = params.get("billing_cycle_anchor")
    if isinstance(value, dict):
        value = value.get("type")
    return value == "now"


def update(ctx: Ctx, subscription: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    _check_editable(subscription, params)
    creating.refuse_legacy(ctx, params)
    behavior = params.get("proration_behavior", "create_prorations")
    payment_behavior = params.get("payment_behavior", "allow_incomplete")
    if payment_behavior == "pending_if_incomplete":
        raise InvalidRequestError(
            "Billfold does not support pending updates (payment_behavior=pending_if_incomplete) yet; "
            "use allow_incomplete, default_incomplete or error_if_incomplete.",
            param="payment_behavior",
        )
    at = changes.proration_time(subscription, params, ctx.now)
    before = state.snapshot(ctx, subscription)
    planned = changes.plan_items(ctx, subscription, params["items"]) if params.get("items") else None
    interval_changed = changes.check_final(subscription, planned[0], "items") if planned else False
    trial = params.get("trial_end")
    if trial is not None and trial != "now":
        creating.future_timestamp(ctx, int(trial), "trial_end")
    _fields(ctx, subscription, params)
    prorated = _set_cancel(ctx, subscription, params, behavior)
    credits: list[proration.Change] = []
    found_discounts = creating.legacy_discounts(params)
    if found_discounts is not None:
        subscription["discounts"] = changes.redeem_discounts(ctx, found_discounts, subscription, "discounts")
    outcome = changes.store(ctx, subscription, *planned) if planned else changes.Outcome()
    if planned:
        state.sync_prices(ctx, subscription)
        prices = [p.price for p in planned[0]]
        subscription["_interval"], subscription["_interval_count"] = state.interval_of(prices[0])
    reset = (_anchor_now(params) or interval_changed) and subscription["status"] != "trialing"
    ending_trial = trial == "now" and subscription["status"] == "trialing"
    if trial is not None and trial != "now":
        _move_trial(ctx, subscription, int(trial), behavior, at, outcome if planned else None)
    elif reset:
        # A new cycle credits the unused time of everything the old one had.
        credits = _credit_all(ctx, subscription, outcome if planned else None)
    else:
        prorated += changes.prorate(ctx, subscription, outcome.changes, behavior, at)
    if credits:
        prorated += changes.prorate(ctx, subscription, credits, behavior, at)
    ctx.objects.save(subscription)
    if ending_trial:
        ctx.emit("customer.subscription.trial_will_end", subscription)
        subscription["trial_end"] = ctx.now
        subscription["billing_cycle_anchor"] = ctx.now
        fresh = lifecycle.start_paid_period(
            ctx, subscription, ctx.now, before, billing_reason="subscription_update",
            off_session=bool(params.get("off_session")),
        )
        if payment_behavior == "error_if_incomplete":
            latest = ctx.objects.get(str(fresh["latest_invoice"]), "invoice") or {}
            billing.refuse_unpaid(ctx, latest)
        return _settle(ctx, fresh, payment_behavior)
    if reset:
        return _restart_cycle(ctx, subscription, before, payment_behavior, params)
    lifecycle.updated(ctx, before, subscription)
    if behavior == "always_invoice" and prorated:
        invoice = billing.invoice_period(
            ctx, subscription, billing_reason="subscription_update", start=at,
            end=int(subscription["_period_end"]), lines=[],
        )
        ctx.objects.save(subscription)
        _collect(ctx, subscription, invoice, payment_behavior, params)
    fresh = state.load_subscription(ctx, subscription["id"], for_update=True)
    if state.due_work(fresh) != state.due_work(before):
        lifecycle.schedule_next(ctx, fresh)
    return _settle(ctx, fresh, payment_behavior)


def _credit_all(ctx: Ctx, subscription: dict[str, Any], outcome: changes.Outcome | None) -> list[proration.Change]:
    """Every item the subscription had before this request, as ended: its unused time credited.
    ``outcome`` holds the items as they were when this request changed them."""
    if outcome is not None:
        return [proration.Change(c.item, c.before, None) for c in outcome.changes if c.before is not None]
    return [
        proration.Change(item["id"], (state.price_of(ctx, item), int(item.get("quantity") or 0)), None)
        for item in state.items_of(ctx, subscription["id"])
    ]


def _move_trial(
    ctx: Ctx, subscription: dict[str, Any], trial_end: int, behavior: str, at: int,
    outcome: changes.Outcome | None,
) -> None:
    """A new trial end: a trial is extended or shortened; an active subscription starts one,
    crediting the unused time of its period."""
    if subscription["status"] != "trialing":
        changes.prorate(ctx, subscription, _credit_all(ctx, subscription, outcome), behavior, at)
        subscription["status"] = "trialing"
        subscription["trial_start"] = ctx.now
        state.set_period(ctx, subscription, ctx.now, trial_end)
    else:
        state.set_period(ctx, subscription, int(subscription["_period_start"]), trial_end)
    subscription["trial_end"] = trial_end
    subscription["billing_cycle_anchor"] = trial_end
    subscription.pop("_trial_will_end_sent", None)


def _restart_cycle(
    ctx: Ctx, subscription: dict[str, Any], before: dict[str, Any], payment_behavior: str, params: dict[str, Any]
) -> dict[str, Any]:
    """``billing_cycle_anchor=now`` (or a new interval): a full period starts now, invoiced now
    with the credits for the old period's unused time."""
    subscription["billing_cycle_anchor"] = ctx.now
    end_at = periods.boundary(ctx.now, subscription["_interval"], subscription["_interval_count"], 1)
    state.set_period(ctx, subscription, ctx.now, end_at)
    invoice = billing.invoice_period(
        ctx, subscription, billing_reason="subscription_update", start=ctx.now, end=end_at
    )
    lifecycle.updated(ctx, before, subscription)
    _collect(ctx, subscription, invoice, payment_behavior, params)
    fresh = state.load_subscription(ctx, subscription["id"], for_update=True)
    lifecycle.schedule_next(ctx, fresh)
    return _settle(ctx, fresh, payment_behavior)


def _collect(
    ctx: Ctx, subscription: dict[str, Any], invoice: dict[str, Any], payment_behavior: str, params: dict[str, Any]
) -> None:
    invoice = billing.collect(
        ctx, subscription, invoice, payment_behavior=payment_behavior,
        off_session=bool(params.get("off_session")),
    )
    if payment_behavior == "error_if_incomplete":
        billing.refuse_unpaid(ctx, invoice)
    if invoice.get("status") == "paid":
        lifecycle.on_invoice_paid(ctx, invoice)


def _settle(ctx: Ctx, subscription: dict[str, Any], payment_behavior: str) -> dict[str, Any]:
    """``default_incomplete``: an update whose invoice awaits confirmation leaves the
    subscription past_due until it is paid."""
    if payment_behavior != "default_incomplete" or subscription["status"] != "active":
        return subscription
    latest = subscription.get("latest_invoice")
    invoice = ctx.objects.get(str(latest), "invoice") if latest else None
    if invoice is None or invoice.get("status") != "open" or subscription["collection_method"] != "charge_automatically":
        return subscription
    before = state.snapshot(ctx, subscription)
    subscription["status"] = "past_due"
    lifecycle.updated(ctx, before, subscription)
    return subscription


def cancel(ctx: Ctx, subscription: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """``DELETE /v1/subscriptions/{id}``: ends now; ``prorate`` credits the unused time and
    ``invoice_now`` bills what is pending (prorations, usage) on a final invoice."""
    if subscription["status"] in state.ENDED:
        raise StateConflict(f"This subscription has already ended (status: {subscription['status']}).")
    if "cancellation_details" in params:
        _cancellation_details(subscription, params["cancellation_details"])
    running = subscription["status"] in ("active", "past_due", "unpaid")
    if params.get("prorate") and running:
        changes.prorate(ctx, subscription, _credit_all(ctx, subscription, None), "create_prorations", ctx.now)
    if params.get("invoice_now") and running:
        usage = (int(subscription["_period_start"]), ctx.now)
        lines = [
            line for line in billing.item_lines(ctx, subscription, ctx.now, ctx.now, usage=usage)
            if _is_metered_line(ctx, line)
        ]
        invoice = billing.invoice_period(
            ctx, subscription, billing_reason="subscription_cycle", start=ctx.now, end=ctx.now, lines=lines
        )
        ctx.objects.save(subscription)
        billing.collect(ctx, subscription, invoice, off_session=True)
        subscription = state.load_subscription(ctx, subscription["id"], for_update=True)
        if "cancellation_details" in params:
            _cancellation_details(subscription, params["cancellation_details"])
    subscription["canceled_at"] = ctx.now
    return lifecycle.end(ctx, subscription, at=ctx.now, reason="cancellation_requested")


def _is_metered_line(ctx: Ctx, line: dict[str, Any]) -> bool:
    price = line.get("price") or ((line.get("pricing") or {}).get("price_details") or {}).get("price")
    if isinstance(price, dict):
        return state.is_metered(price)
    found = ctx.objects.get(str(price), "price") if price else None
    return bool(found and state.is_metered(found))


def resume(ctx: Ctx, subscription: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/subscriptions/{id}/resume``: a paused subscription becomes active again, with a
    new period from now (``billing_cycle_anchor=now``) or the one around now (``unchanged``)."""
    if subscription["status"] != "paused":
        raise StateConflict(
            f"Only a subscription with status `paused` can be resumed; this one is "
            f"`{subscription['status']}`.",
        )
    before = state.snapshot(ctx, subscription)
    if params.get("billing_cycle_anchor", "now") == "now":
        subscription["billing_cycle_anchor"] = ctx.now
        resumed = lifecycle.start_paid_period(
            ctx, subscription, ctx.now, before, billing_reason="subscription_update", off_session=False
        )
        ctx.emit("customer.subscription.resumed", resumed)
        return resumed
    anchor = int(subscription["billing_cycle_anchor"])
    start, end_at = periods.period_containing(anchor, subscription["_interval"], subscription["_interval_count"], ctx.now)
    subscription["status"] = "active"
    state.set_period(ctx, subscription, start, end_at)
    behavior = params.get("proration_behavior", "create_prorations")
    if behavior != "none":
        lines = billing.item_lines(ctx, subscription, ctx.now, end_at)
        invoice = billing.invoice_period(
            ctx, subscription, billing_reason="subscription_update", start=ctx.now, end=end_at, lines=lines
        )
        lifecycle.updated(ctx, before, subscription)
        billing.collect(ctx, subscription, invoice, off_session=False)
    else:
        lifecycle.updated(ctx, before, subscription)
    fresh = state.load_subscription(ctx, subscription["id"], for_update=True)
    lifecycle.schedule_next(ctx, fresh)
    ctx.emit("customer.subscription.resumed", fresh)
    return fresh
