"""B2B invoicing: business customers, invoices with line items, paid on Stripe's hosted page.

The flow, and why each step sits where it does:

1. ``POST /customers`` creates a Stripe Customer with the company's billing email and address.
   An optional tax ID goes on every invoice as a custom field (``invoice_settings``).
2. ``POST /invoices`` stores the invoice and its lines here first (the app's own record of what
   was billed), then creates the Stripe invoice (``collection_method=send_invoice``, due in 30
   days), one invoice item per line on that invoice, finalizes it (it gets its number and
   ``hosted_invoice_url``) and sends it to the customer's email. Idempotency keys tie each
   call to the app's ids, so retrying a half-done request cannot bill twice.
3. The customer pays on the hosted invoice page; nothing in this app takes card details.
4. ``POST /webhook`` verifies the signature on the raw body and, in one transaction, records
   the event id and applies it: ``invoice.paid`` settles the invoice; ``invoice.finalized``,
   ``invoice.sent``, ``invoice.payment_failed``, ``invoice.voided`` and
   ``invoice.marked_uncollectible`` update its status and its activity log.

Configured only by environment variables: STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET,
STRIPE_API_BASE (optional), DATABASE_URL, APP_URL.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stripe
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from models import (
    Activity,
    Customer,
    Invoice,
    InvoiceLine,
    ProcessedEvent,
    Session,
    init_db,
    utcnow,
)
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

log = logging.getLogger("b2b_invoicing")

stripe.api_key = os.environ.get("STRIPE_SECRET_KEY", "")
if os.environ.get("STRIPE_API_BASE"):
    stripe.api_base = os.environ["STRIPE_API_BASE"]
WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
APP_URL = os.environ.get("APP_URL", "http://127.0.0.1:8000").rstrip("/")
CURRENCY = "usd"
DAYS_UNTIL_DUE = 30
LINE_ROWS = 5  # line item rows on the invoice form
MAX_QUANTITY = 100_000
MAX_UNIT_AMOUNT = 10_000_000  # $100,000.00
# Stripe statuses after which nothing but a payment can change an invoice.
FINAL_STATUSES = {"paid", "void"}


def money(cents: int | None) -> str:
    cents = cents or 0
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def parse_amount(raw: str) -> int | None:
    """``"1,250.5"`` -> 125050 cents; None unless a positive amount with at most 2 decimals."""
    text = raw.strip().lstrip("$").replace(",", "")
    whole, _, fraction = text.partition(".")
    if not whole.isdigit() or (fraction and (not fraction.isdigit() or len(fraction) > 2)):
        return None
    cents = int(whole) * 100 + int(fraction.ljust(2, "0") or 0)
    return cents if 0 < cents <= MAX_UNIT_AMOUNT else None


app = FastAPI(title="Billfold example: B2B invoicing")
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["money"] = money
templates.env.filters["day"] = lambda value: value.strftime("%Y-%m-%d") if value else ""
init_db()


@app.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    with Session() as db:
        customers = db.scalars(select(Customer).order_by(Customer.name)).all()
        invoices = db.scalars(
            select(Invoice).options(selectinload(Invoice.customer)).order_by(Invoice.id.desc())
        ).all()
    return templates.TemplateResponse(request, "index.html",
                                      {"customers": customers, "invoices": invoices})


# --- Customers --------------------------------------------------------------------------


CUSTOMER_FIELDS = ("name", "email", "tax_id", "line1", "city", "postal_code", "country")


@app.get("/customers/new", response_class=HTMLResponse)
def new_customer(request: Request) -> Response:
    return templates.TemplateResponse(request, "customer_new.html", {"form": {"country": "US"}})


@app.post("/customers")
async def create_customer(request: Request) -> Response:
    raw = await request.form()
    form = {name: str(raw.get(name) or "").strip() for name in CUSTOMER_FIELDS}
    form["country"] = form["country"].upper()
    problems = []
    if not form["name"]:
        problems.append("Enter the company's legal name.")
    if "@" not in form["email"]:
        problems.append("Enter the billing email address invoices go to.")
    if not (form["line1"] and form["city"] and form["postal_code"]):
        problems.append("Enter the billing address.")
    if len(form["country"]) != 2 or not form["country"].isalpha():
        problems.append("Use a two-letter country code, such as US or DE.")
    if problems:
        return templates.TemplateResponse(request, "customer_new.html",
                                          {"form": form, "errors": problems}, status_code=400)
    try:
        await run_in_threadpool(add_customer, form)
    except stripe.InvalidRequestError as error:
        return templates.TemplateResponse(
            request, "customer_new.html",
            {"form": form, "errors": [error.user_message or "Stripe refused this customer."]},
            status_code=400,
        )
    return RedirectResponse("/", status_code=303)


def add_customer(form: dict[str, str]) -> int:
    custom_fields = [{"name": "Tax ID", "value": form["tax_id"]}] if form["tax_id"] else []
    customer = stripe.Customer.create(
        name=form["name"],
        email=form["email"],
        address={"line1": form["line1"], "city": form["city"],
                 "postal_code": form["postal_code"], "country": form["country"]},
        invoice_settings={"custom_fields": custom_fields},
        metadata={"source": "b2b_invoicing example"},
    )
    with Session.begin() as db:
        row = Customer(
            stripe_customer_id=customer.id, name=form["name"], email=form["email"],
            tax_id=form["tax_id"] or None, address_line1=form["line1"], address_city=form["city"],
            address_postal_code=form["postal_code"], address_country=form["country"],
        )
        db.add(row)
        db.flush()
        return row.id


# --- Invoices ---------------------------------------------------------------------------


@dataclass
class LineInput:
    description: str
    quantity: int
    unit_amount: int


def _lines(form: dict[str, str]) -> tuple[list[LineInput], list[str]]:
    """The filled rows of the form; a row with a description needs a quantity and a price."""
    lines: list[LineInput] = []
    problems: list[str] = []
    for row in range(LINE_ROWS):
        description = form.get(f"description_{row}", "").strip()[:500]
        quantity_text = form.get(f"quantity_{row}", "").strip() or "1"
        amount_text = form.get(f"unit_amount_{row}", "").strip()
        if not description and not amount_text:
            continue
        quantity = int(quantity_text) if quantity_text.isdigit() else 0
        unit_amount = parse_amount(amount_text)
        if not description or not 0 < quantity <= MAX_QUANTITY or unit_amount is None:
            problems.append(f"Line {row + 1} needs a description, a whole quantity and a unit "
                            "price such as 150.00.")
            continue
        lines.append(LineInput(description, quantity, unit_amount))
    if not lines and not problems:
        problems.append("Add at least one line item.")
    return lines, problems


def _form_context(db: DbSession, form: dict[str, str], errors: list[str]) -> dict[str, Any]:
    return {
        "customers": db.scalars(select(Customer).order_by(Customer.name)).all(),
        "form": form,
        "errors": errors,
        "rows": range(LINE_ROWS),
        "days_until_due": DAYS_UNTIL_DUE,
    }


@app.get("/invoices/new", response_class=HTMLResponse)
def new_invoice(request: Request) -> Response:
    with Session() as db:
        context = _form_context(db, {"customer": request.query_params.get("customer", "")}, [])
    if not context["customers"]:
        return RedirectResponse("/customers/new", status_code=303)
    return templates.TemplateResponse(request, "invoice_new.html", context)


@app.post("/invoices")
async def create_invoice(request: Request) -> Response:
    raw = await request.form()
    form = {key: str(value) for key, value in raw.items()}
    lines, problems = _lines(form)
    customer_id = int(form["customer"]) if form.get("customer", "").isdigit() else 0
    with Session() as db:
        if db.get(Customer, customer_id) is None:
            problems.insert(0, "Choose the customer to bill.")
        if problems:
            context = _form_context(db, form, problems)
            return templates.TemplateResponse(request, "invoice_new.html", context,
                                              status_code=400)
    memo = form.get("memo", "").strip()[:500]
    invoice_id = await run_in_threadpool(issue_invoice, customer_id, lines, memo)
    return RedirectResponse(f"/invoices/{invoice_id}", status_code=303)


def issue_invoice(customer_id: int, lines: list[LineInput], memo: str) -> int:
    """Record the invoice, then draft, finalize and send it on Stripe."""
    with Session.begin() as db:
        customer = db.get_one(Customer, customer_id)
        invoice = Invoice(
            customer_id=customer_id, currency=CURRENCY, memo=memo,
            total=sum(line.quantity * line.unit_amount for line in lines),
            lines=[InvoiceLine(description=line.description, quantity=line.quantity,
                               unit_amount=line.unit_amount) for line in lines],
        )
        db.add(invoice)
        db.flush()
        invoice_id, stripe_customer = invoice.id, customer.stripe_customer_id
        line_ids = [line.id for line in invoice.lines]

    draft = stripe.Invoice.create(
        customer=stripe_customer,
        currency=CURRENCY,
        collection_method="send_invoice",
        days_until_due=DAYS_UNTIL_DUE,
        pending_invoice_items_behavior="exclude",  # only this invoice's lines, nothing pending
        auto_advance=False,  # finalized and sent below, not an hour later
        **({"description": memo} if memo else {}),
        metadata={"app_invoice_id": str(invoice_id)},
        idempotency_key=f"b2b-invoice-{invoice_id}",
    )
    # Stored before it is finalized, so webhooks about it find their invoice.
    with Session.begin() as db:
        db.get_one(Invoice, invoice_id).stripe_invoice_id = draft.id

    item_ids = []
    for line_id, line in zip(line_ids, lines, strict=True):
        item = stripe.InvoiceItem.create(
            customer=stripe_customer,
            invoice=draft.id,
            currency=CURRENCY,
            description=line.description,
            quantity=line.quantity,
            unit_amount_decimal=str(line.unit_amount),
            metadata={"app_invoice_line_id": str(line_id)},
            idempotency_key=f"b2b-invoice-line-{line_id}",
        )
        item_ids.append(item.id)

    finalized = stripe.Invoice.finalize_invoice(draft.id, auto_advance=False)
    if finalized.total != sum(line.quantity * line.unit_amount for line in lines):
        log.warning("invoice %s: Stripe's total %s differs from the lines'", invoice_id,
                    finalized.total)
    sent = stripe.Invoice.send_invoice(draft.id)

    with Session.begin() as db:
        invoice = db.get_one(Invoice, invoice_id)
        for line, item_id in zip(invoice.lines, item_ids, strict=True):
            line.stripe_invoice_item_id = item_id
        invoice.number = sent.number
        invoice.hosted_invoice_url = sent.hosted_invoice_url
        invoice.invoice_pdf = sent.invoice_pdf
        invoice.due_date = datetime.fromtimestamp(sent.due_date, UTC) if sent.due_date else None
        if invoice.status not in FINAL_STATUSES:  # a fast webhook may already have settled it
            invoice.status = sent.status or "open"
    return invoice_id


@app.get("/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice_page(request: Request, invoice_id: int) -> Response:
    with Session() as db:
        invoice = db.get(Invoice, invoice_id, options=[
            selectinload(Invoice.customer), selectinload(Invoice.lines),
            selectinload(Invoice.activity),
        ])
        if invoice is None:
            raise HTTPException(404, "No such invoice.")
    return templates.TemplateResponse(request, "invoice.html", {"invoice": invoice})


# --- Webhooks ---------------------------------------------------------------------------


@app.post("/webhook")
async def webhook(request: Request) -> Response:
    payload = await request.body()  # the raw bytes: the signature covers them exactly
    signature = request.headers.get("stripe-signature")
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", WEBHOOK_SECRET)
    except (ValueError, stripe.SignatureVerificationError) as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    applied = await run_in_threadpool(process_event, event.id, event.type,
                                      event.data.object.to_dict())
    return JSONResponse({"received": True, "duplicate": not applied})


def process_event(event_id: str, event_type: str, obj: dict[str, Any]) -> bool:
    """Record the event id and apply its effect in one transaction; False if seen before."""
    try:
        with Session.begin() as db:
            if db.get(ProcessedEvent, event_id) is not None:
                return False
            db.add(ProcessedEvent(id=event_id, type=event_type))
            db.flush()  # a concurrent duplicate fails here, before any effect
            handler = HANDLERS.get(event_type)
            invoice = _invoice_for(db, obj) if handler is not None else None
            if handler is not None and invoice is not None:
                handler(invoice, obj, event_id)
    except IntegrityError:
        return False
    return True


def _invoice_for(db: DbSession, obj: dict[str, Any]) -> Invoice | None:
    """Only invoices this app issued: others (a subscription's, say) are not its business."""
    if obj.get("object") != "invoice":
        return None
    return db.scalar(select(Invoice).where(Invoice.stripe_invoice_id == obj.get("id")))


def _note(invoice: Invoice, event_id: str, kind: str, detail: str = "") -> None:
    invoice.activity.append(Activity(event_id=event_id, kind=kind, detail=detail))


def _mirror(invoice: Invoice, obj: dict[str, Any]) -> None:
    """Copy what Stripe decides (number, links, status) unless the invoice is already final."""
    invoice.number = obj.get("number") or invoice.number
    invoice.hosted_invoice_url = obj.get("hosted_invoice_url") or invoice.hosted_invoice_url
    invoice.invoice_pdf = obj.get("invoice_pdf") or invoice.invoice_pdf
    if invoice.status not in FINAL_STATUSES and obj.get("status"):
        invoice.status = str(obj["status"])


def invoice_finalized(invoice: Invoice, obj: dict[str, Any], event_id: str) -> None:
    _mirror(invoice, obj)
    _note(invoice, event_id, "finalized", f"Invoice {obj.get('number') or ''} finalized")


def invoice_sent(invoice: Invoice, obj: dict[str, Any], event_id: str) -> None:
    _mirror(invoice, obj)
    invoice.sent_at = invoice.sent_at or utcnow()
    _note(invoice, event_id, "sent", f"Sent to {obj.get('customer_email') or 'the customer'}")


def invoice_paid(invoice: Invoice, obj: dict[str, Any], event_id: str) -> None:
    """Settled: the only place the app decides an invoice has been paid."""
    invoice.status = "paid"
    invoice.amount_paid = int(obj.get("amount_paid") or 0)
    invoice.settled_at = invoice.settled_at or utcnow()
    if invoice.amount_paid != invoice.total:
        log.warning("invoice %s paid %s of %s", invoice.id, invoice.amount_paid, invoice.total)
    _note(invoice, event_id, "paid", f"Paid {money(invoice.amount_paid)}")


def invoice_payment_failed(invoice: Invoice, obj: dict[str, Any], event_id: str) -> None:
    _note(invoice, event_id, "payment_failed", "A payment attempt failed")


def invoice_voided(invoice: Invoice, obj: dict[str, Any], event_id: str) -> None:
    if invoice.status != "paid":
        invoice.status = "void"
    _note(invoice, event_id, "voided", "Voided")


def invoice_uncollectible(invoice: Invoice, obj: dict[str, Any], event_id: str) -> None:
    _mirror(invoice, obj)
    _note(invoice, event_id, "uncollectible", "Marked uncollectible")


HANDLERS = {
    "invoice.finalized": invoice_finalized,
    "invoice.sent": invoice_sent,
    "invoice.paid": invoice_paid,
    "invoice.payment_failed": invoice_payment_failed,
    "invoice.voided": invoice_voided,
    "invoice.marked_uncollectible": invoice_uncollectible,
}
