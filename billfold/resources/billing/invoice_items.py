"""Invoice items: ``/v1/invoiceitems``, one-off charges (or credits) for a customer.

An item is pending (``invoice: null``) until an invoice takes it: the customer's next invoice
that includes pending items, or the draft named by ``invoice``. On a draft it is the source of
one line, which follows the item's updates and goes when the item is deleted; once the invoice
is finalized the item is fixed.
"""

from __future__ import annotations

from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.events.record import diff
from billfold.resources.base import list_params, load, page
from billfold.resources.billing import clock
from billfold.resources.billing import invoice_item_pricing as pricing
from billfold.resources.billing import invoice_params as spec
from billfold.resources.billing.catalog import DecimalString, no_such
from billfold.resources.billing.invoice_discounts import redeem_all
from billfold.resources.billing.invoice_lines import item_line, stored_lines
from billfold.resources.billing.invoice_states import not_editable
from billfold.resources.billing.invoice_totals import recompute
from billfold.resources.billing.tax_rates import resolve_rates
from billfold.wire.params import Bool, Currency, Dict, Int, Metadata, Spec, Str, apply_metadata
from billfold.wire.present import register
from billfold.wire.router import Routes

__all__ = ["attach", "pending", "release", "routes"]

routes = Routes("invoiceitems")

_AMOUNTS: dict[str, Spec] = {
    "amount": Int(min=-99_999_999, max=99_999_999),
    "price": Str(max_length=5000),
    "price_data": spec.PRICE_DATA,
    "pricing": Dict(fields={"price": Str(max_length=5000)}),
    "quantity": Int(min=0, max=99_999_999),
    "unit_amount": Int(min=-99_999_999, max=99_999_999),
    "unit_amount_decimal": DecimalString(),
}
_SHARED: dict[str, Spec] = {
    **_AMOUNTS,
    "description": Str(max_length=5000, emptyable=True),
    "discountable": Bool(),
    "discounts": spec.DISCOUNTS,
    "metadata": Metadata(),
    "period": spec.PERIOD,
    "tax_behavior": Str(enum=("exclusive", "inclusive", "unspecified")),
    "tax_code": Str(max_length=5000, emptyable=True),
    "tax_rates": spec.TAX_RATES,
}
CREATE: dict[str, Spec] = {
    **_SHARED,
    "currency": Currency(),
    "customer": Str(max_length=5000),
    "invoice": Str(max_length=5000),
    "subscription": Str(max_length=5000),
}
UPDATE: dict[str, Spec] = dict(_SHARED)
LIST = list_params(customer=Str(max_length=5000), invoice=Str(max_length=5000), pending=Bool())


def pending(ctx: Ctx, customer: str, subscription: str | None, currency: str | None) -> list[dict[str, Any]]:
    """The customer's pending items an invoice would take, oldest first: those of no
    subscription, or of ``subscription``, in ``currency`` (any, when None)."""
    found = ctx.objects.page(
        "invoiceitem", filters={"customer": customer}, where=("invoice IS NULL", {}), limit=250
    ).data
    found.reverse()
    return [
        item for item in found
        if item.get("subscription") in (None, subscription)
        and (currency is None or item["currency"] == currency)
    ]


def attach(ctx: Ctx, item: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    """Put a pending item on a draft invoice; returns its line."""
    item["invoice"] = invoice_id
    ctx.objects.save(item)
    return item_line(ctx, item, invoice_id)


def release(ctx: Ctx, invoice: dict[str, Any]) -> None:
    """A deleted draft's items go back to pending."""
    for line in stored_lines(invoice):
        item_id = line.get("_invoice_item")
        item = ctx.objects.get(str(item_id), "invoiceitem", for_update=True) if item_id else None
        if item is not None and item.get("invoice") == invoice["id"]:
            item["invoice"] = None
            ctx.objects.save(item)


def _draft_invoice(ctx: Ctx, invoice_id: str, customer: str, param: str) -> dict[str, Any]:
    invoice = ctx.objects.get(invoice_id, "invoice", for_update=True)
    if invoice is None:
        raise no_such("invoice", invoice_id, param)
    if invoice["customer"] != customer:
        raise InvalidRequestError(
            f"The invoice {invoice_id} belongs to another customer than this invoice item.", param=param
        )
    if invoice["status"] != "draft":
        raise not_editable(
            f"Invoice {invoice_id} is no longer a draft: invoice items can only be added to draft "
            "invoices.",
            param=param,
        )
    return invoice


def _refresh_line(ctx: Ctx, item: dict[str, Any], removed: bool = False) -> None:
    """Keep the item's line on its draft invoice in step with the item."""
    if not item.get("invoice"):
        return
    invoice = ctx.objects.get(str(item["invoice"]), "invoice", for_update=True)
    if invoice is None or invoice["status"] != "draft":
        return
    lines = stored_lines(invoice)
    index = next((i for i, line in enumerate(lines) if line.get("_invoice_item") == item["id"]), None)
    if removed:
        if index is not None:
            del lines[index]
    elif index is None:
        lines.append(item_line(ctx, item, invoice["id"]))
    else:
        lines[index] = item_line(ctx, item, invoice["id"], line_id=lines[index]["id"])
    recompute(ctx, invoice)
    ctx.objects.save(invoice)


def _editable(ctx: Ctx, item: dict[str, Any], verb: str) -> None:
    if not item.get("invoice"):
        return
    invoice = ctx.objects.get(str(item["invoice"]), "invoice") or {}
    if invoice.get("status", "draft") != "draft":
        raise not_editable(
            f"This invoice item cannot be {verb} because it is attached to invoice "
            f"{item['invoice']}, which is no longer a draft."
        )


@routes.post("/v1/invoiceitems", CREATE)
def create_invoice_item(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if "customer" not in params:
        raise InvalidRequestError("Missing required param: customer.", param="customer", code="parameter_missing")
    customer = ctx.objects.get(params["customer"], "customer")
    if customer is None:
        raise no_such("customer", params["customer"], "customer")
    clock.enter(ctx, customer["id"])
    subscription = params.get("subscription")
    if subscription is not None:
        found = ctx.objects.get(subscription, "subscription")
        if found is None or found.get("customer") != customer["id"]:
            raise no_such("subscription", subscription, "subscription")
    invoice = None
    if params.get("invoice"):
        invoice = _draft_invoice(ctx, params["invoice"], customer["id"], "invoice")
    money = pricing.amounts(ctx, params, currency=params.get("currency"), creating=True)
    if invoice is not None and money["currency"] != invoice["currency"]:
        raise InvalidRequestError(
            f"The currency of the invoice item ({money['currency']}) must match the currency of "
            f"invoice {invoice['id']} ({invoice['currency']}).",
            param="currency",
        )
    item_id = ids.new_id("invoice_item")
    period = params.get("period") or {"end": ctx.now, "start": ctx.now}
    item: dict[str, Any] = {
        "id": item_id,
        "object": "invoiceitem",
        "amount": money["amount"],
        "created": ctx.now,  # the store orders by it; Stripe's item shows ``date``
        "currency": money["currency"],
        "customer": customer["id"],
        "customer_account": None,
        "date": ctx.now,
        "description": params.get("description"),
        "discountable": params.get("discountable", money["amount"] >= 0),
        "discounts": [],
        "invoice": invoice["id"] if invoice else None,
        "livemode": ctx.livemode,
        "metadata": {k: v for k, v in (params.get("metadata") or {}).items() if v is not None},
        "net_amount": money["amount"],
        "parent": pricing.parent(subscription, None),
        "period": {"end": period["end"], "start": period["start"]},
        "pricing": money["pricing"],
        "proration": False,
        "quantity": money["quantity"],
        "quantity_decimal": str(money["quantity"]),
        "tax_rates": resolve_rates(ctx, params.get("tax_rates"), "tax_rates"),
        "test_clock": customer.get("test_clock"),
        # Shown only to versions before 2025-03-31.basil.
        "subscription": subscription,
        "subscription_item": None,
    }
    if period["end"] < period["start"]:
        raise InvalidRequestError(
            "Invalid period: the end must be on or after the start.", param="period[end]"
        )
    item["discounts"] = redeem_all(
        ctx, params.get("discounts"), param="discounts", customer=customer["id"],
        subscription=subscription, invoice_item=item_id,
    )
    if item["description"] is None:
        item["description"] = pricing.default_description(ctx, money)
    ctx.objects.insert(item)
    ctx.emit("invoiceitem.created", item)
    _refresh_line(ctx, item)
    return item


@routes.get("/v1/invoiceitems/{invoiceitem}")
def retrieve_invoice_item(ctx: Ctx, params: dict[str, Any], invoiceitem: str) -> dict[str, Any]:
    return load(ctx, "invoiceitem", invoiceitem, param="invoiceitem")


@routes.post("/v1/invoiceitems/{invoiceitem}", UPDATE)
def update_invoice_item(ctx: Ctx, params: dict[str, Any], invoiceitem: str) -> dict[str, Any]:
    item = load(ctx, "invoiceitem", invoiceitem, param="invoiceitem", for_update=True)
    _editable(ctx, item, "updated")
    before = dict(item)
    if any(name in params for name in _AMOUNTS):
        money = pricing.amounts(ctx, params, currency=item["currency"], creating=False, current=item)
        item.update(
            amount=money["amount"], net_amount=money["amount"], pricing=money["pricing"],
            quantity=money["quantity"], quantity_decimal=str(money["quantity"]),
        )
    for name in ("description", "discountable"):
        if name in params:
            item[name] = params[name]
    if "metadata" in params:
        item["metadata"] = apply_metadata(item.get("metadata") or {}, params["metadata"])
    if "period" in params:
        item["period"] = {"end": params["period"]["end"], "start": params["period"]["start"]}
    if "tax_rates" in params:
        item["tax_rates"] = resolve_rates(ctx, params["tax_rates"], "tax_rates")
    if "discounts" in params:
        item["discounts"] = redeem_all(
            ctx, params["discounts"], param="discounts", customer=item["customer"],
            subscription=item.get("subscription"), invoice_item=item["id"],
            keep=list(item.get("discounts") or []),
        )
    previous = diff(before, item)
    ctx.objects.save(item)
    if previous:
        ctx.emit("invoiceitem.updated", item, previous)
    _refresh_line(ctx, item)
    return item


@routes.delete("/v1/invoiceitems/{invoiceitem}")
def delete_invoice_item(ctx: Ctx, params: dict[str, Any], invoiceitem: str) -> dict[str, Any]:
    item = load(ctx, "invoiceitem", invoiceitem, param="invoiceitem", for_update=True)
    _editable(ctx, item, "deleted")
    ctx.objects.save({**item, "deleted": True}, deleted=True)
    ctx.emit("invoiceitem.deleted", item)
    _refresh_line(ctx, item, removed=True)
    return {"id": invoiceitem, "object": "invoiceitem", "deleted": True}


@routes.get("/v1/invoiceitems", LIST)
def list_invoice_items(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    where: tuple[str, dict[str, Any]] | None = None
    if params.get("pending") is True:
        where = ("invoice IS NULL", {})
    elif params.get("pending") is False:
        where = ("invoice IS NOT NULL", {})
    filters = {"customer": params.get("customer"), "invoice": params.get("invoice")}
    return page(ctx, "invoiceitem", "/v1/invoiceitems", params, filters, where=where)


register(
    "invoiceitem",
    expandable=("customer", "discounts", "invoice", "subscription", "test_clock"),
    render=pricing.render_item,
)
