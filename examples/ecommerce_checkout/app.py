"""E-commerce checkout: an order, a PaymentIntent, the Payment Element, fulfilment by webhook.

The flow, and why each step sits where it does:

1. ``POST /orders`` prices the cart on the server (the browser never says what it costs),
   stores a pending order, and creates a PaymentIntent for exactly that amount with the order
   id in its metadata. The idempotency key ties one order to one PaymentIntent, so a retried
   request cannot charge twice.
2. ``GET /orders/{id}/checkout`` mounts the Payment Element with the intent's client secret;
   ``stripe.confirmPayment`` handles 3D Secure in place and shows errors in ``#payment-message``.
3. ``GET /orders/{id}/complete`` only *reads* the order: a browser redirect proves nothing
   (it can be forged or never arrive), so the page says "processing" until the webhook lands.
4. ``POST /webhook`` verifies the signature on the raw body, and in one database transaction
   records the event id and applies it: ``payment_intent.succeeded`` pays and fulfils the
   order, ``payment_intent.payment_failed`` records the failed attempt.

Configured only by environment variables: STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY,
STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE (optional), STRIPE_JS_URL, DATABASE_URL, APP_URL.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import stripe
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from models import FailedPayment, Order, OrderLine, ProcessedEvent, Session, init_db, utcnow
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

log = logging.getLogger("ecommerce_checkout")

stripe.api_key = os.environ.get("STRIPE_SECRET_KEY", "")
if os.environ.get("STRIPE_API_BASE"):
    stripe.api_base = os.environ["STRIPE_API_BASE"]
PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL", "https://js.stripe.com/v3/")
APP_URL = os.environ.get("APP_URL", "http://127.0.0.1:8000").rstrip("/")
CURRENCY = "usd"


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    description: str
    unit_amount: int  # cents


CATALOG = {
    product.sku: product
    for product in (
        Product("mug", "Enamel camp mug", "Holds 350 ml of coffee, survives being dropped.", 1800),
        Product("socks", "Wool hiking socks", "Merino blend, one pair.", 2400),
        Product("lamp", "Folding lantern", "USB-rechargeable, 300 lumens.", 4500),
    )
}
MAX_QUANTITY = 20

app = FastAPI(title="Billfold example: e-commerce checkout")
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["money"] = lambda cents: f"${cents // 100:,}.{cents % 100:02d}"
init_db()


@app.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    return templates.TemplateResponse(request, "index.html", {"products": CATALOG.values()})


@app.post("/orders")
async def create_order(request: Request) -> Response:
    form = await request.form()
    quantities: dict[str, int] = {}
    for sku in CATALOG:
        raw = str(form.get(f"quantity_{sku}") or "0").strip()
        if not raw.isdigit() or int(raw) > MAX_QUANTITY:
            raise HTTPException(400, f"Quantity for {sku} must be a whole number up to {MAX_QUANTITY}.")
        if int(raw):
            quantities[sku] = int(raw)
    email = str(form.get("email") or "").strip()
    problem = ("Choose at least one item." if not quantities
               else "Enter the email for your receipt." if "@" not in email else None)
    if problem:
        return templates.TemplateResponse(
            request, "index.html", {"products": CATALOG.values(), "error": problem},
            status_code=400,
        )
    order_id = await run_in_threadpool(place_order, quantities, email)
    return RedirectResponse(f"/orders/{order_id}/checkout", status_code=303)


def place_order(quantities: dict[str, int], email: str) -> int:
    """Store the order first (so its id can go in the intent's metadata), then its intent."""
    with Session.begin() as db:
        order = Order(email=email, currency=CURRENCY, amount=0)
        for sku, quantity in quantities.items():
            product = CATALOG[sku]
            order.lines.append(OrderLine(sku=sku, name=product.name,
                                         unit_amount=product.unit_amount, quantity=quantity))
        order.amount = sum(line.amount for line in order.lines)
        db.add(order)
    return ensure_intent(order).id


def ensure_intent(order: Order) -> Order:
    """The order's PaymentIntent, created if the order has none yet (say the first attempt
    failed halfway). The idempotency key makes it one order, one PaymentIntent."""
    if order.payment_intent_id is not None:
        return order
    intent = stripe.PaymentIntent.create(
        amount=order.amount,
        currency=order.currency,
        automatic_payment_methods={"enabled": True},
        description=f"Order #{order.id}",
        metadata={"order_id": str(order.id)},
        receipt_email=order.email,
        idempotency_key=f"order-{order.request_key}-payment-intent",
    )
    with Session.begin() as db:
        stored = db.get_one(Order, order.id)
        stored.payment_intent_id = order.payment_intent_id = intent.id
    return order


def _order(db: DbSession, order_id: int) -> Order:
    order = db.get(Order, order_id)
    if order is None:
        raise HTTPException(404, "No such order.")
    return order


@app.get("/orders/{order_id}/checkout", response_class=HTMLResponse)
def checkout(request: Request, order_id: int) -> Response:
    with Session() as db:
        order = _order(db, order_id)
        lines = list(order.lines)
    if order.status != "pending":
        return RedirectResponse(f"/orders/{order_id}/complete", status_code=303)
    # The client secret is fetched, not stored: it is a credential for this one payment.
    intent = stripe.PaymentIntent.retrieve(str(ensure_intent(order).payment_intent_id))
    return templates.TemplateResponse(request, "checkout.html", {
        "order": order,
        "lines": lines,
        "publishable_key": PUBLISHABLE_KEY,
        "client_secret": intent.client_secret,
        "stripe_js_url": STRIPE_JS_URL,
        "return_url": f"{APP_URL}/orders/{order_id}/complete",
    })


@app.get("/orders/{order_id}/complete", response_class=HTMLResponse)
def complete(request: Request, order_id: int) -> Response:
    with Session() as db:
        order = _order(db, order_id)
        lines = list(order.lines)
        failures = list(order.failures)
    return templates.TemplateResponse(request, "order.html", {
        "order": order,
        "lines": lines,
        "failures": failures,
        "redirect_status": request.query_params.get("redirect_status"),
    })


@app.get("/orders/{order_id}.json")
def order_json(order_id: int) -> dict[str, Any]:
    with Session() as db:
        order = _order(db, order_id)
        return {"id": order.id, "status": order.status, "amount": order.amount,
                "currency": order.currency, "payment_intent": order.payment_intent_id,
                "fulfilled": order.fulfilled_at is not None}


@app.post("/webhook")
async def webhook(request: Request) -> Response:
    payload = await request.body()  # the raw bytes: the signature covers them exactly
    signature = request.headers.get("stripe-signature")
    try:
        event = stripe.Webhook.construct_event(payload, signature, WEBHOOK_SECRET)
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
            if handler is not None:
                handler(db, event_id, obj)
    except IntegrityError:
        return False
    return True


def _order_for_intent(db: DbSession, intent: dict[str, Any]) -> Order | None:
    order_id = (intent.get("metadata") or {}).get("order_id")
    order = db.get(Order, int(order_id)) if order_id and str(order_id).isdigit() else None
    if order is None or order.payment_intent_id != intent.get("id"):
        log.warning("payment intent %s does not belong to any order", intent.get("id"))
        return None
    return order


def payment_succeeded(db: DbSession, event_id: str, intent: dict[str, Any]) -> None:
    order = _order_for_intent(db, intent)
    if order is None or order.status != "pending":
        return
    received = intent.get("amount_received") or 0
    if received != order.amount or intent.get("currency") != order.currency:
        # Never ship on a payment that does not match the order's own total.
        order.status = "needs_review"
        return
    order.status = "paid"
    order.paid_at = utcnow()
    fulfil(order)


def fulfil(order: Order) -> None:
    """Where a real shop would reserve stock and create the shipment."""
    order.fulfilled_at = utcnow()
    log.info("fulfilled order %s", order.id)


def payment_failed(db: DbSession, event_id: str, intent: dict[str, Any]) -> None:
    order = _order_for_intent(db, intent)
    if order is None:
        return
    error = intent.get("last_payment_error") or {}
    db.add(FailedPayment(
        order_id=order.id,
        event_id=event_id,
        payment_intent_id=intent["id"],
        code=error.get("code"),
        decline_code=error.get("decline_code"),
        message=error.get("message") or "The payment failed.",
    ))


HANDLERS: dict[str, Callable[[DbSession, str, dict[str, Any]], None]] = {
    "payment_intent.succeeded": payment_succeeded,
    "payment_intent.payment_failed": payment_failed,
}
