"""A subscription's invoices: the invoice for a period, and collecting it.

``invoice_period`` drafts the invoice for ``[start, end)`` (a line per item, plus the
subscription's pending invoice items such as prorations); ``collect`` finalizes it and, for
``charge_automatically``, attempts the payment, unless collection is paused. Both run inside the
caller's transaction and use the invoices module's calls (``docs/billing.md``).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from billfold.context import Ctx
from billfold.errors import CardError
from billfold.resources.billing import proration
from billfold.resources.billing import subscription_periods as periods
from billfold.resources.billing import subscription_state as state

REQUIRES_ACTION = (
    "Payment for this subscription requires additional user action before it can be completed "
    "successfully. Payment can be completed using the PaymentIntent associated with "
    "`subscription.latest_invoice`. Additional information is available here: "
    "https://stripe.com/docs/billing/subscriptions/overview#requires-action"
)


def invoices() -> ModuleType:
    # Imported on use: the invoices module calls back into subscriptions (on_invoice_paid).
    from billfold.resources.billing import invoices as module

    return module


def _usage(ctx: Ctx, subscription: dict[str, Any], item: dict[str, Any], price: dict[str, Any],
           start: int, end: int) -> int:
    from billfold.resources.billing import meters

    return meters.usage_quantity(
        ctx, price=price, customer=str(subscription["customer"]), subscription_item=item,
        period_start=start, period_end=end,
    )


def item_lines(
    ctx: Ctx,
    subscription: dict[str, Any],
    start: int,
    end: int,
    *,
    usage: tuple[int, int] | None = None,
    free: bool = False,
) -> list[dict[str, Any]]:
    """A line per item for ``[start, end)``. A period shorter than the natural one (a billing
    cycle anchor ahead, a ``cancel_at`` inside it) is prorated. Metered items bill the usage of
    ``usage`` (the period just ended), or nothing yet on a first invoice. ``free`` lines (a
    trial, or a first partial period with ``proration_behavior=none``) charge nothing."""
    module = invoices()
    anchor = int(subscription["billing_cycle_anchor"])
    interval, count = subscription["_interval"], subscription["_interval_count"]
    natural_start, natural_end = periods.period_containing(anchor, interval, count, start)
    if natural_end < end:
        natural_start, natural_end = start, periods.next_boundary(start, interval, count, start)
    partial = (natural_start, natural_end) != (start, end)
    lines = []
    for item in state.items_of(ctx, subscription["id"]):
        price = state.price_of(ctx, item)
        if state.is_metered(price):
            line_start, line_end = usage if usage is not None else (start, end)
            quantity = _usage(ctx, subscription, item, price, *usage) if usage is not None else 0
            lines.append(module.subscription_line(
                ctx, price=price, quantity=quantity, period_start=line_start, period_end=line_end,
                subscription=subscription, subscription_item=item["id"],
            ))
            continue
        quantity = int(item.get("quantity") or 0)
        amount = None
        description = None
        if free:
            amount = 0
            if subscription["status"] == "trialing":
                description = f"Trial period for {state.product_name(ctx, price)}"
        elif partial:
            full = state.amount_of(price, quantity, str(subscription["currency"]))
            amount = proration.prorated(full, natural_start, natural_end, start, end)
        lines.append(module.subscription_line(
            ctx, price=price, quantity=quantity, period_start=start, period_end=end,
            subscription=subscription, subscription_item=item["id"], proration=partial and not free,
            amount=amount, description=description,
        ))
    return lines


def invoice_period(
    ctx: Ctx,
    subscription: dict[str, Any],
    *,
    billing_reason: str,
    start: int,
    end: int,
    usage: tuple[int, int] | None = None,
    lines: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Draft the subscription's invoice (it becomes ``latest_invoice``)."""
    made = item_lines(ctx, subscription, start, end, usage=usage) if lines is None else lines
    paused = subscription.get("pause_collection") or {}
    invoice: dict[str, Any] = invoices().create_invoice(
        ctx,
        customer=str(subscription["customer"]),
        billing_reason=billing_reason,
        subscription=subscription,
        collection_method=str(subscription["collection_method"]),
        days_until_due=subscription.get("days_until_due"),
        auto_advance=paused.get("behavior") != "keep_as_draft",
        period_start=usage[0] if usage else ctx.now,
        period_end=usage[1] if usage else ctx.now,
        include_pending_items=True,
        lines=made,
    )
    subscription["latest_invoice"] = invoice["id"]
    return invoice


def collect(
    ctx: Ctx,
    subscription: dict[str, Any],
    invoice: dict[str, Any],
    *,
    payment_behavior: str = "allow_incomplete",
    off_session: bool = True,
) -> dict[str, Any]:
    """Finalize the invoice and, when the subscription charges automatically, try to pay it.

    ``pause_collection`` keeps it a draft, or finalizes and then voids or marks it
    uncollectible. ``default_incomplete`` leaves it open for the client to confirm its payment.
    """
    module = invoices()
    behavior = (subscription.get("pause_collection") or {}).get("behavior")
    if behavior == "keep_as_draft":
        return invoice
    invoice = module.finalize(ctx, invoice)
    if behavior == "void" and invoice.get("status") == "open":
        return dict(module.void(ctx, invoice))
    if behavior == "mark_uncollectible" and invoice.get("status") == "open":
        return dict(module.mark_uncollectible(ctx, invoice))
    if (
        invoice.get("status") == "open"
        and subscription["collection_method"] == "charge_automatically"
        and payment_behavior != "default_incomplete"
        and subscription.get("status") != "unpaid"
    ):
        invoice = module.attempt_payment(ctx, invoice, off_session=off_session)
    result: dict[str, Any] = invoice
    return result


def payment_intent_of(ctx: Ctx, invoice: dict[str, Any]) -> dict[str, Any] | None:
    """The PaymentIntent collecting the invoice, wherever this version keeps it."""
    intent_id = invoice.get("payment_intent") or invoice.get("_payment_intent")
    if not intent_id:
        for payment in ((invoice.get("payments") or {}).get("data") or []):
            intent_id = (payment.get("payment") or {}).get("payment_intent")
            if intent_id:
                break
    if isinstance(intent_id, dict):
        intent_id = intent_id.get("id")
    return ctx.objects.get(str(intent_id), "payment_intent") if intent_id else None


def refuse_unpaid(ctx: Ctx, invoice: dict[str, Any]) -> None:
    """``error_if_incomplete``: an invoice left unpaid is Stripe's 402, and nothing is kept."""
    if invoice.get("status") in ("paid", "void", "uncollectible") or invoice.get("status") == "draft":
        return
    intent = payment_intent_of(ctx, invoice) or {}
    error = intent.get("last_payment_error")
    if intent.get("status") == "requires_action" or not error:
        failure = CardError(
            REQUIRES_ACTION, code="subscription_payment_intent_requires_action",
        )
    else:
        failure = CardError(
            str(error.get("message") or "Your card was declined."),
            code=str(error.get("code") or "card_declined"),
            decline_code=error.get("decline_code"),
            charge=error.get("charge"),
        )
    # Unlike a PaymentIntent's decline, a refused subscription keeps nothing.
    failure.commits_state = False
    raise failure
