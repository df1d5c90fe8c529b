"""What a person reads on an invoice: the stored invoice turned into labelled, formatted rows.

The hosted invoice page (``invoices.py``) and the PDF (``invoice_pdf.py``) both draw this one
view, so they always say the same thing. Amounts are formatted from integers (and prices' exact
``unit_amount_decimal`` strings), never through floats.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from billfold.ledger.money import SYMBOLS, exponent, format_amount
from billfold.store.objects import ObjectStore

STATUS_LABELS = {
    "draft": "Draft",
    "open": "Open",
    "paid": "Paid",
    "void": "Void",
    "uncollectible": "Uncollectible",
}


@dataclass
class Line:
    description: str
    period: str | None
    quantity: int | None
    unit_amount: str | None
    amount: str


@dataclass
class Row:
    label: str
    amount: str
    strong: bool = False


@dataclass
class InvoiceView:
    id: str
    merchant: str
    status: str
    status_label: str
    number: str | None
    currency: str
    livemode: bool
    issued: str | None
    due: str | None
    paid_at: str | None
    voided_at: str | None
    uncollectible_at: str | None
    customer: list[str]
    description: str | None
    footer: str | None
    headline: str
    lines: list[Line] = field(default_factory=list)
    totals: list[Row] = field(default_factory=list)
    amount_remaining: int = 0
    amount_remaining_text: str = ""
    payable: bool = False


def format_date(timestamp: int | None) -> str | None:
    """``June 5, 2026`` in UTC, as Stripe's invoices print dates."""
    if timestamp is None:
        return None
    day = datetime.datetime.fromtimestamp(int(timestamp), datetime.UTC)
    return f"{day:%B} {day.day}, {day.year}"


def _short_date(timestamp: int) -> str:
    day = datetime.datetime.fromtimestamp(int(timestamp), datetime.UTC)
    return f"{day:%b} {day.day}, {day.year}"


def format_decimal_amount(value: Decimal, currency: str) -> str:
    """A price with sub-unit precision (``unit_amount_decimal`` ``"0.5"`` USD is ``$0.005``)."""
    places = exponent(currency)
    major = value.scaleb(-places)
    shown = major.normalize()
    exponent_ = shown.as_tuple().exponent
    if not isinstance(exponent_, int) or -exponent_ < places:
        shown = major.quantize(Decimal(1).scaleb(-places))
    sign = "-" if shown < 0 else ""
    digits = f"{abs(shown):,f}"
    symbol = SYMBOLS.get(currency.lower())
    if symbol is not None:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {currency.upper()}"


def _unit_amount(line: dict[str, Any], currency: str) -> str | None:
    raw = (line.get("pricing") or {}).get("unit_amount_decimal")
    if raw is None:
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return None
    if value == value.to_integral_value():
        return format_amount(int(value), currency)
    return format_decimal_amount(value, currency)


def _period(line: dict[str, Any]) -> str | None:
    period = line.get("period") or {}
    start, end = period.get("start"), period.get("end")
    if start is None or end is None or start == end:
        return None
    return f"{_short_date(start)} – {_short_date(end)}"


def invoice_lines(invoice: dict[str, Any]) -> list[dict[str, Any]]:
    """The embedded lines, whether stored as a list object or a plain list."""
    raw = invoice.get("lines")
    if isinstance(raw, dict):
        raw = raw.get("data")
    return [line for line in raw or [] if isinstance(line, dict)]


def _percentage(value: Any) -> str:
    # Rates are stored as JSON numbers; their shortest text form is the rate as it was given.
    number = Decimal(str(value)).normalize()
    return f"{number:f}"


def _discount_label(store: ObjectStore, discount_id: str, currency: str) -> str:
    discount = store.get(discount_id, "discount", include_deleted=True) or {}
    source = discount.get("source") or {}
    coupon_ref = source.get("coupon") or discount.get("coupon")
    coupon = coupon_ref if isinstance(coupon_ref, dict) else None
    if coupon is None and isinstance(coupon_ref, str):
        coupon = store.get(coupon_ref, "coupon", include_deleted=True)
    if not coupon:
        return "Discount"
    name = str(coupon.get("name") or coupon.get("id") or "Discount")
    if coupon.get("percent_off") is not None:
        return f"{name} ({_percentage(coupon['percent_off'])}% off)"
    amount_off = coupon.get("amount_off")
    if amount_off is not None and coupon.get("currency"):
        return f"{name} ({format_amount(int(amount_off), str(coupon['currency']))} off)"
    return name


def _tax_label(store: ObjectStore, tax_rate_id: str | None, inclusive: bool) -> str:
    rate = store.get(tax_rate_id, "tax_rate", include_deleted=True) if tax_rate_id else None
    if not rate:
        label = "Tax"
    else:
        label = str(rate.get("display_name") or "Tax")
        if rate.get("jurisdiction"):
            label += f" – {rate['jurisdiction']}"
        if rate.get("percentage") is not None:
            label += f" ({_percentage(rate['percentage'])}%)"
    return f"{label}, included" if inclusive else label


def _tax_rows(store: ObjectStore, invoice: dict[str, Any], currency: str) -> list[Row]:
    rows: list[Row] = []
    for tax in invoice.get("total_taxes") or []:
        details = tax.get("tax_rate_details") or {}
        inclusive = tax.get("tax_behavior") == "inclusive"
        label = _tax_label(store, details.get("tax_rate"), inclusive)
        rows.append(Row(label, format_amount(int(tax.get("amount") or 0), currency)))
    # The shape before 2025-03-31.basil, should an invoice carry it.
    for tax in invoice.get("total_tax_amounts") or []:
        label = _tax_label(store, tax.get("tax_rate"), bool(tax.get("inclusive")))
        rows.append(Row(label, format_amount(int(tax.get("amount") or 0), currency)))
    return rows


def _discount_rows(store: ObjectStore, invoice: dict[str, Any], currency: str) -> list[Row]:
    rows: list[Row] = []
    for entry in invoice.get("total_discount_amounts") or []:
        amount = int(entry.get("amount") or 0)
        if not amount:
            continue
        ref = entry.get("discount")
        discount_id = ref.get("id") if isinstance(ref, dict) else ref
        label = _discount_label(store, str(discount_id), currency) if discount_id else "Discount"
        rows.append(Row(label, format_amount(-amount, currency)))
    return rows


def _totals(store: ObjectStore, invoice: dict[str, Any], currency: str) -> list[Row]:
    def money(amount: Any) -> str:
        return format_amount(int(amount or 0), currency)

    rows = [Row("Subtotal", money(invoice.get("subtotal")))]
    rows.extend(_discount_rows(store, invoice, currency))
    taxes = _tax_rows(store, invoice, currency)
    if taxes:
        excluding = invoice.get("total_excluding_tax")
        if excluding is not None:
            rows.append(Row("Total excluding tax", money(excluding)))
        rows.extend(taxes)
    total = int(invoice.get("total") or 0)
    rows.append(Row("Total", money(total), strong=True))
    applied = int(invoice.get("amount_due") or 0) - total
    if applied and invoice.get("status") != "draft":
        rows.append(Row("Applied balance", money(applied)))
    paid = int(invoice.get("amount_paid") or 0)
    if paid:
        rows.append(Row("Amount paid", money(paid)))
    rows.append(Row("Amount due", money(invoice.get("amount_due")), strong=True))
    remaining = int(invoice.get("amount_remaining") or 0)
    if paid and remaining:
        rows.append(Row("Amount remaining", money(remaining), strong=True))
    return rows


def _customer(invoice: dict[str, Any]) -> list[str]:
    found = [str(invoice[k]) for k in ("customer_name", "customer_email") if invoice.get(k)]
    address = invoice.get("customer_address") or {}
    found += [str(address[k]) for k in ("line1", "line2") if address.get(k)]
    place = " ".join(str(address[k]) for k in ("city", "state", "postal_code") if address.get(k))
    if place:
        found.append(place)
    if address.get("country"):
        found.append(str(address["country"]))
    return found


def _headline(invoice: dict[str, Any], currency: str) -> str:
    status = invoice.get("status")
    transitions = invoice.get("status_transitions") or {}
    if status == "paid":
        amount = format_amount(int(invoice.get("amount_paid") or 0), currency)
        paid_at = format_date(transitions.get("paid_at"))
        return f"{amount} paid on {paid_at}" if paid_at else f"{amount} paid"
    due_amount = format_amount(int(invoice.get("amount_remaining") or 0), currency)
    if status == "void":
        return "This invoice is void"
    if status == "uncollectible":
        return f"{due_amount} was marked uncollectible"
    if status == "draft":
        return "This invoice is a draft"
    due = format_date(invoice.get("due_date"))
    return f"{due_amount} due {due}" if due else f"{due_amount} due"


def payable(invoice: dict[str, Any]) -> bool:
    """Whether a person may pay the invoice now (Stripe takes payment of uncollectible ones too)."""
    remaining = int(invoice.get("amount_remaining") or 0)
    return invoice.get("status") in ("open", "uncollectible") and remaining > 0


def build(store: ObjectStore, merchant: str, invoice: dict[str, Any]) -> InvoiceView:
    """The view of ``invoice`` (stored shape), looking up its tax rates and discounts."""
    currency = str(invoice.get("currency") or "usd")
    status = str(invoice.get("status") or "draft")
    transitions = invoice.get("status_transitions") or {}
    lines = [
        Line(
            description=str(line.get("description") or "Item"),
            period=_period(line),
            quantity=line.get("quantity"),
            unit_amount=_unit_amount(line, currency),
            amount=format_amount(int(line.get("amount") or 0), currency),
        )
        for line in invoice_lines(invoice)
    ]
    remaining = int(invoice.get("amount_remaining") or 0)
    return InvoiceView(
        id=str(invoice["id"]),
        merchant=merchant,
        status=status,
        status_label=STATUS_LABELS.get(status, status.title()),
        number=invoice.get("number"),
        currency=currency,
        livemode=bool(invoice.get("livemode")),
        issued=format_date(transitions.get("finalized_at") or invoice.get("created")),
        due=format_date(invoice.get("due_date")),
        paid_at=format_date(transitions.get("paid_at")),
        voided_at=format_date(transitions.get("voided_at")),
        uncollectible_at=format_date(transitions.get("marked_uncollectible_at")),
        customer=_customer(invoice),
        description=invoice.get("description"),
        footer=invoice.get("footer"),
        headline=_headline(invoice, currency),
        lines=lines,
        totals=_totals(store, invoice, currency),
        amount_remaining=remaining,
        amount_remaining_text=format_amount(remaining, currency),
        payable=payable(invoice),
    )
