"""The upcoming invoice: ``POST /v1/invoices/create_preview`` (and, for versions that still have it,
``GET /v1/invoices/upcoming``). Nothing is stored or redeemed: the preview is the invoice the
customer would get next, built in memory.

Its lines are the subscription's next renewal (the subscriptions module's ``preview_lines`` when
it offers one, else the items for the next period and the metered usage of this one), the
customer's pending invoice items, and any ``invoice_items`` the request adds.
"""

from __future__ import annotations

import importlib
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.resources.billing import coupons, invoice_items, invoices, promotion_codes
from billfold.resources.billing import invoice_item_pricing as pricing
from billfold.resources.billing import invoice_params as spec
from billfold.resources.billing.catalog import no_such
from billfold.resources.billing.invoice_discounts import inherited
from billfold.resources.billing.invoice_lines import PARENT_SINCE, item_line
from billfold.resources.billing.invoice_totals import recompute
from billfold.resources.billing.tax_rates import resolve_rates
from billfold.wire.router import Routes
from billfold.wire.versions import at_least

routes = Routes("invoices")

NONE_UPCOMING = "invoice_upcoming_none"


def _nothing(customer: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"No upcoming invoices for customer: {customer}", code=NONE_UPCOMING, status=404
    )


def _subscription_lines(ctx: Ctx, subscription: dict[str, Any], details: dict[str, Any]) -> list[dict[str, Any]]:
    module = importlib.import_module("billfold.resources.billing.subscriptions")
    hook = getattr(module, "preview_lines", None)
    if hook is not None:
        lines: list[dict[str, Any]] = hook(ctx, subscription, details)
        return lines
    if subscription.get("status") in ("canceled", "incomplete_expired") or subscription.get("cancel_at_period_end"):
        raise _nothing(str(subscription["customer"]))
    billing = importlib.import_module("billfold.resources.billing.subscription_billing")
    periods = importlib.import_module("billfold.resources.billing.subscription_periods")
    start, end = int(subscription["_period_start"]), int(subscription["_period_end"])
    anchor = int(subscription["billing_cycle_anchor"])
    interval, count = subscription["_interval"], subscription["_interval_count"]
    following = periods.next_boundary(anchor, interval, count, end)
    made: list[dict[str, Any]] = billing.item_lines(ctx, subscription, end, following, usage=(start, end))
    return made


def _transient_item(ctx: Ctx, entry: dict[str, Any], customer: str, currency: str, index: int) -> dict[str, Any]:
    at = f"invoice_items[{index}]"
    if entry.get("invoiceitem"):
        found = ctx.objects.get(entry["invoiceitem"], "invoiceitem")
        if found is None or found.get("customer") != customer:
            raise no_such("invoice item", entry["invoiceitem"], f"{at}[invoiceitem]")
        return found
    if entry.get("price_data"):
        data = entry["price_data"]
        unit = data.get("unit_amount_decimal", data.get("unit_amount"))
        if unit is None:
            raise InvalidRequestError(
                "Prices require an `unit_amount` or `unit_amount_decimal` parameter to be set.",
                param=f"{at}[price_data]",
            )
        entry = {**entry, "unit_amount_decimal": str(unit), "currency": data["currency"]}
        entry.pop("price_data")
    money = pricing.amounts(ctx, entry, currency=entry.get("currency") or currency, creating=True)
    period = entry.get("period") or {"end": ctx.now, "start": ctx.now}
    return {
        "id": ids.new_id("invoice_item"),
        "amount": money["amount"],
        "currency": money["currency"],
        "description": entry.get("description") or pricing.default_description(ctx, money),
        "discountable": entry.get("discountable", money["amount"] >= 0),
        "discounts": [],
        "metadata": {k: v for k, v in (entry.get("metadata") or {}).items() if v is not None},
        "period": period,
        "pricing": money["pricing"],
        "proration": False,
        "quantity": money["quantity"],
        "subscription": None,
        "tax_rates": resolve_rates(ctx, entry.get("tax_rates"), f"{at}[tax_rates]"),
    }


def _discounts(ctx: Ctx, entries: list[dict[str, Any]] | None, customer: str) -> tuple[list[str], dict[str, Any]]:
    """Discounts as they would apply, without redeeming: ids, and coupons for the new ones."""
    chosen: list[str] = []
    transient: dict[str, Any] = {}
    for index, entry in enumerate(entries or []):
        at = f"discounts[{index}]"
        if entry.get("discount"):
            if ctx.objects.get(entry["discount"], "discount") is None:
                raise no_such("discount", entry["discount"], f"{at}[discount]")
            chosen.append(entry["discount"])
            continue
        if entry.get("promotion_code"):
            promotion = promotion_codes.resolve_promotion_code(
                ctx, entry["promotion_code"], customer, None, None, param=f"{at}[promotion_code]"
            )
            coupon_id = str(promotion["promotion"]["coupon"])
        elif entry.get("coupon"):
            coupon_id = entry["coupon"]
        else:
            raise InvalidRequestError(
                "You must specify exactly one of coupon, discount or promotion_code in each entry "
                "of discounts.", param=at,
            )
        coupon = coupons.load_coupon(ctx, coupon_id, param=f"{at}[coupon]")
        if not coupons.is_valid(ctx, coupon):
            raise coupons.expired(coupon_id, f"{at}[coupon]")
        pseudo = f"di_preview_{index}"
        transient[pseudo] = coupon
        chosen.append(pseudo)
    return chosen, transient


def preview(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    subscription = None
    if params.get("subscription"):
        subscription = ctx.objects.get(params["subscription"], "subscription")
        if subscription is None:
            raise no_such("subscription", params["subscription"], "subscription")
    customer_id = params.get("customer") or (subscription or {}).get("customer")
    if not customer_id:
        raise InvalidRequestError("Missing required param: customer.", param="customer", code="parameter_missing")
    customer = ctx.objects.get(str(customer_id), "customer")
    if customer is None:
        raise no_such("customer", str(customer_id), "customer")
    if subscription is not None and subscription.get("customer") != customer["id"]:
        raise no_such("subscription", subscription["id"], "subscription")
    lines: list[dict[str, Any]] = []
    if subscription is not None:
        lines = _subscription_lines(ctx, subscription, params.get("subscription_details") or {})
    currency = str(params.get("currency") or (subscription or {}).get("currency") or customer.get("currency")
                   or (lines[0]["currency"] if lines else "") or "")
    sub_id = subscription["id"] if subscription else None
    pending = invoice_items.pending(ctx, customer["id"], sub_id, currency or None)
    currency = currency or (pending[0]["currency"] if pending else str(ctx.account_settings.get("default_currency") or "usd"))
    extra = [
        _transient_item(ctx, entry, customer["id"], currency, index)
        for index, entry in enumerate(params.get("invoice_items") or [])
    ]
    replaced = {item["id"] for item in extra}
    items = [item for item in pending if item["id"] not in replaced] + extra
    if not lines and not items:
        raise _nothing(customer["id"])
    invoice = invoices.draft_invoice(
        ctx, customer, billing_reason="upcoming",
        subscription=subscription, collection_method=str((subscription or {}).get("collection_method") or "charge_automatically"),
        auto_advance=True, currency=currency,
    )
    invoice["id"] = "upcoming_" + invoice["id"]
    invoice["_preview"] = True
    data = invoice["lines"]["data"]
    for line in lines:
        data.append({**line, "invoice": invoice["id"]})
    for item in items:
        data.append(item_line(ctx, item, invoice["id"]))
    invoice["lines"]["url"] = f"/v1/invoices/{invoice['id']}/lines"
    transient: dict[str, Any] = {}
    if "discounts" in params:
        invoice["discounts"], transient = _discounts(ctx, params["discounts"], customer["id"])
    else:
        invoice["discounts"] = inherited(ctx, customer, subscription)
    if subscription is not None:
        invoice["default_tax_rates"] = [
            r["id"] if isinstance(r, dict) else str(r) for r in subscription.get("default_tax_rates") or []
        ]
        periods = [line["period"] for line in lines] or [{"start": ctx.now, "end": ctx.now}]
        invoice["period_start"] = min(int(p["start"]) for p in periods)
        invoice["period_end"] = max(int(p["end"]) for p in periods)
        invoice["next_payment_attempt"] = invoice["period_end"]
    recompute(ctx, invoice, customer, transient=transient)
    return invoice


@routes.post("/v1/invoices/create_preview", spec.PREVIEW)
def create_preview(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return preview(ctx, params)


@routes.get("/v1/invoices/upcoming", spec.UPCOMING)
def upcoming_invoice(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """The older preview: the same invoice, asked for with ``subscription_*`` parameters.
    2025-03-31.basil removed it in favour of create_preview."""
    if at_least(ctx.api_version, PARENT_SINCE):
        raise InvalidRequestError(
            "Unrecognized request URL (GET: /v1/invoices/upcoming). This endpoint was removed in "
            "API version 2025-03-31.basil: use POST /v1/invoices/create_preview instead.",
            status=404,
        )
    translated = {k: v for k, v in params.items() if not k.startswith("subscription_") and k != "coupon"}
    if params.get("coupon"):
        translated["discounts"] = [{"coupon": params["coupon"]}]
    details = {
        name[len("subscription_"):]: value
        for name, value in params.items()
        if name.startswith("subscription_") and name != "subscription_items"
    }
    if "subscription_items" in params:
        details["items"] = params["subscription_items"]
    if details:
        translated["subscription_details"] = details
    invoice = preview(ctx, translated)
    invoice.pop("id", None)
    return invoice
