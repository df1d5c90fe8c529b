"""Marketplace: Express sellers onboarded by Account Links, destination charges, seller payouts.

The flow, and why each step sits where it does:

1. ``POST /sellers`` creates an Express connected account for the seller and sends them to
   ``/sellers/{id}/onboard``, which makes a fresh Account Link each time: links are single-use
   and short-lived, so the link's ``refresh_url`` points back here to get a new one.
2. After onboarding, Stripe sends the seller to ``return_url`` (their page here). Coming back
   proves nothing about the account; ``account.updated`` (a Connect webhook) copies
   ``charges_enabled`` into the app's table, and only then are the seller's listings for sale.
3. A buyer's ``POST /listings/{id}/orders`` prices the order on the server and creates a
   destination charge: a PaymentIntent with ``transfer_data.destination`` (the seller) and
   ``application_fee_amount`` (the platform's 10%). The Payment Element confirms it.
4. ``payment_intent.succeeded`` marks the order paid; Stripe has already moved the amount less
   the fee to the seller's balance.
5. The seller's page reads their balance and payouts from the API with the ``Stripe-Account``
   header, and its "Pay out" button pays the available balance to their bank account.

Webhooks: ``POST /webhook`` verifies the signature on the raw body and applies each event id
once (``processed_events``). Platform events (``payment_intent.*``) and Connect events
(``account.updated``) come from two webhook endpoints with two signing secrets, so both are
accepted: ``STRIPE_WEBHOOK_SECRET`` and, if set, ``STRIPE_CONNECT_WEBHOOK_SECRET``.

This example has no logins: anyone can open any seller's page. A real marketplace puts its own
authentication in front of ``/sellers/...``.

Configured only by environment variables: STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY,
STRIPE_WEBHOOK_SECRET, STRIPE_CONNECT_WEBHOOK_SECRET (optional), STRIPE_API_BASE (optional),
STRIPE_JS_URL, DATABASE_URL, APP_URL.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stripe
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from models import Listing, Order, ProcessedEvent, Seller, Session, init_db, utcnow
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import selectinload

log = logging.getLogger("marketplace")

stripe.api_key = os.environ.get("STRIPE_SECRET_KEY", "")
if os.environ.get("STRIPE_API_BASE"):
    stripe.api_base = os.environ["STRIPE_API_BASE"]
PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
WEBHOOK_SECRETS = [
    secret
    for secret in (os.environ.get("STRIPE_WEBHOOK_SECRET"),
                   os.environ.get("STRIPE_CONNECT_WEBHOOK_SECRET"))
    if secret
]
STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL", "https://js.stripe.com/v3/")
APP_URL = os.environ.get("APP_URL", "http://127.0.0.1:8000").rstrip("/")
CURRENCY = "usd"
PLATFORM_FEE_PERCENT = 10
MAX_PRICE = 1_000_000  # $10,000.00


def platform_fee(amount: int) -> int:
    """The platform's cut of a sale, rounded half up to a whole cent."""
    return (amount * PLATFORM_FEE_PERCENT + 50) // 100


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def parse_price(raw: str) -> int | None:
    """``"12.50"`` -> 1250; None for anything that is not a positive amount with <= 2 decimals."""
    text = raw.strip().lstrip("$").replace(",", "")
    whole, _, fraction = text.partition(".")
    if not whole.isdigit() or (fraction and (not fraction.isdigit() or len(fraction) > 2)):
        return None
    cents = int(whole) * 100 + int(fraction.ljust(2, "0") or 0)
    return cents if 0 < cents <= MAX_PRICE else None


app = FastAPI(title="Billfold example: marketplace")
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["money"] = money
templates.env.filters["date"] = lambda ts: datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d")
init_db()


# --- Buyers -----------------------------------------------------------------------------


@app.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    with Session() as db:
        listings = db.scalars(
            select(Listing).join(Seller).where(Seller.charges_enabled.is_(True))
            .options(selectinload(Listing.seller)).order_by(Listing.id.desc())
        ).all()
    return templates.TemplateResponse(request, "index.html", {"listings": listings})


def _for_sale(db: DbSession, listing_id: int) -> Listing:
    listing = db.get(Listing, listing_id, options=[selectinload(Listing.seller)])
    if listing is None or not listing.seller.charges_enabled:
        raise HTTPException(404, "No such listing.")
    return listing


@app.get("/listings/{listing_id}", response_class=HTMLResponse)
def listing_page(request: Request, listing_id: int) -> Response:
    with Session() as db:
        listing = _for_sale(db, listing_id)
    return templates.TemplateResponse(request, "listing.html", {
        "listing": listing, "fee_percent": PLATFORM_FEE_PERCENT,
    })


@app.post("/listings/{listing_id}/orders")
async def create_order(request: Request, listing_id: int) -> Response:
    form = await request.form()
    email = str(form.get("email") or "").strip()
    order_id = await run_in_threadpool(place_order, listing_id, email)
    return RedirectResponse(f"/orders/{order_id}/checkout", status_code=303)


def place_order(listing_id: int, email: str) -> int:
    """Store the order, then create its destination charge for exactly the listing's price."""
    with Session.begin() as db:
        listing = _for_sale(db, listing_id)
        order = Order(
            listing_id=listing.id,
            seller_id=listing.seller_id,
            buyer_email=email,
            amount=listing.price,
            application_fee_amount=platform_fee(listing.price),
            currency=listing.currency,
        )
        db.add(order)
        db.flush()
        order_id, destination, title = order.id, listing.seller.stripe_account_id, listing.title
    intent = stripe.PaymentIntent.create(
        amount=order.amount,
        currency=order.currency,
        automatic_payment_methods={"enabled": True},
        application_fee_amount=order.application_fee_amount,
        transfer_data={"destination": destination},
        description=f"Order #{order_id}: {title}",
        metadata={"order_id": str(order_id), "listing_id": str(listing_id)},
        idempotency_key=f"marketplace-order-{order_id}",
    )
    with Session.begin() as db:
        db.get_one(Order, order_id).payment_intent_id = intent.id
    return order_id


def _order(db: DbSession, order_id: int) -> Order:
    order = db.get(Order, order_id, options=[selectinload(Order.listing), selectinload(Order.seller)])
    if order is None:
        raise HTTPException(404, "No such order.")
    return order


@app.get("/orders/{order_id}/checkout", response_class=HTMLResponse)
def checkout(request: Request, order_id: int) -> Response:
    with Session() as db:
        order = _order(db, order_id)
    if order.status != "pending" or order.payment_intent_id is None:
        return RedirectResponse(f"/orders/{order_id}", status_code=303)
    # The client secret is fetched, not stored: it is a credential for this one payment.
    intent = stripe.PaymentIntent.retrieve(order.payment_intent_id)
    return templates.TemplateResponse(request, "checkout.html", {
        "order": order,
        "publishable_key": PUBLISHABLE_KEY,
        "client_secret": intent.client_secret,
        "stripe_js_url": STRIPE_JS_URL,
        "return_url": f"{APP_URL}/orders/{order_id}",
    })


@app.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(request: Request, order_id: int) -> Response:
    """What the webhooks have recorded; the redirect's query string is not trusted."""
    with Session() as db:
        order = _order(db, order_id)
    return templates.TemplateResponse(request, "order.html", {"order": order})


# --- Sellers ----------------------------------------------------------------------------


@app.get("/sellers/new", response_class=HTMLResponse)
def new_seller(request: Request) -> Response:
    return templates.TemplateResponse(request, "seller_new.html", {})


@app.post("/sellers")
async def create_seller(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("name") or "").strip()
    email = str(form.get("email") or "").strip()
    if not name or "@" not in email:
        return templates.TemplateResponse(
            request, "seller_new.html",
            {"error": "Enter your shop's name and an email address.", "name": name, "email": email},
            status_code=400,
        )
    seller_id = await run_in_threadpool(sign_up_seller, name, email)
    return RedirectResponse(f"/sellers/{seller_id}/onboard", status_code=303)


def sign_up_seller(name: str, email: str) -> int:
    """An Express account that asks for card payments and transfers (what destination charges
    need); Stripe's hosted onboarding collects the rest."""
    account = stripe.Account.create(
        type="express",
        country="US",
        email=email,
        business_profile={"name": name},
        capabilities={"card_payments": {"requested": True}, "transfers": {"requested": True}},
        metadata={"marketplace_seller": name},
    )
    with Session.begin() as db:
        seller = Seller(name=name, email=email, stripe_account_id=account.id)
        db.add(seller)
        db.flush()
        return seller.id


def _seller(db: DbSession, seller_id: int) -> Seller:
    seller = db.get(Seller, seller_id, options=[selectinload(Seller.listings)])
    if seller is None:
        raise HTTPException(404, "No such seller.")
    return seller


@app.get("/sellers/{seller_id}/onboard")
def onboard(seller_id: int) -> Response:
    """A fresh Account Link (also the link's refresh_url: an expired link lands back here)."""
    with Session() as db:
        seller = _seller(db, seller_id)
    link = stripe.AccountLink.create(
        account=seller.stripe_account_id,
        type="account_onboarding",
        refresh_url=f"{APP_URL}/sellers/{seller_id}/onboard",
        return_url=f"{APP_URL}/sellers/{seller_id}?onboarding=returned",
    )
    return RedirectResponse(link.url, status_code=303)


NOTICES = {"payout_created": "Payout created: it is on its way to your bank account."}
ERRORS = {
    "listing_invalid": "Give the listing a title and a price such as 25.00.",
    "nothing_available": "Nothing is available to pay out yet.",
    "payout_failed": "The payout could not be created. Please try again later.",
}


def _usd(entries: list[Any]) -> int:
    return sum(int(entry.amount) for entry in entries if entry.currency == CURRENCY)


@app.get("/sellers/{seller_id}", response_class=HTMLResponse)
def seller_page(request: Request, seller_id: int) -> Response:
    with Session() as db:
        seller = _seller(db, seller_id)
        sales = db.scalars(
            select(Order).where(Order.seller_id == seller_id, Order.status == "paid")
            .options(selectinload(Order.listing)).order_by(Order.id.desc())
        ).all()
    context: dict[str, Any] = {
        "seller": seller,
        "sales": sales,
        "returned": request.query_params.get("onboarding") == "returned",
        # Messages by code, so a crafted link cannot put words on the seller's page.
        "notice": NOTICES.get(request.query_params.get("notice") or ""),
        "error": ERRORS.get(request.query_params.get("error") or ""),
        "balance": None,
        "payouts": [],
    }
    if seller.details_submitted or seller.charges_enabled:
        # Read live from Stripe, acting as the connected account (the Stripe-Account header).
        try:
            balance = stripe.Balance.retrieve(stripe_account=seller.stripe_account_id)
            payouts = stripe.Payout.list(limit=10, stripe_account=seller.stripe_account_id)
            context["balance"] = {"available": _usd(balance.available),
                                  "pending": _usd(balance.pending)}
            context["payouts"] = list(payouts.data)
        except stripe.StripeError as error:
            context["error"] = error.user_message or "Could not load your balance."
    return templates.TemplateResponse(request, "seller.html", context)


@app.post("/sellers/{seller_id}/listings")
async def create_listing(request: Request, seller_id: int) -> Response:
    form = await request.form()
    title = str(form.get("title") or "").strip()[:200]
    description = str(form.get("description") or "").strip()[:2000]
    price = parse_price(str(form.get("price") or ""))
    if not title or price is None:
        return RedirectResponse(
            f"/sellers/{seller_id}?error=listing_invalid", status_code=303
        )
    with Session.begin() as db:
        _seller(db, seller_id)
        db.add(Listing(seller_id=seller_id, title=title, description=description,
                       price=price, currency=CURRENCY))
    return RedirectResponse(f"/sellers/{seller_id}", status_code=303)


@app.post("/sellers/{seller_id}/payouts")
def pay_out(seller_id: int) -> Response:
    """Pay the seller's whole available balance to their bank account (a standard payout)."""
    with Session() as db:
        seller = _seller(db, seller_id)
    account = seller.stripe_account_id
    try:
        available = _usd(stripe.Balance.retrieve(stripe_account=account).available)
        if available <= 0:
            return RedirectResponse(f"/sellers/{seller_id}?error=nothing_available", status_code=303)
        stripe.Payout.create(
            amount=available, currency=CURRENCY, stripe_account=account,
            metadata={"seller_id": str(seller_id)},
        )
    except stripe.StripeError as error:
        log.warning("payout for seller %s failed: %s", seller_id, error.user_message)
        return RedirectResponse(f"/sellers/{seller_id}?error=payout_failed", status_code=303)
    return RedirectResponse(f"/sellers/{seller_id}?notice=payout_created", status_code=303)


# --- Webhooks ---------------------------------------------------------------------------


def verify(payload: bytes, signature: str | None) -> stripe.Event:
    """The event, if the signature matches one of the endpoints' secrets."""
    if not WEBHOOK_SECRETS:
        raise ValueError("No webhook signing secret is configured.")
    for secret in WEBHOOK_SECRETS[:-1]:
        try:
            return stripe.Webhook.construct_event(payload, signature or "", secret)
        except stripe.SignatureVerificationError:
            continue  # perhaps signed by the other endpoint
    return stripe.Webhook.construct_event(payload, signature or "", WEBHOOK_SECRETS[-1])


@app.post("/webhook")
async def webhook(request: Request) -> Response:
    payload = await request.body()  # the raw bytes: the signature covers them exactly
    try:
        event = verify(payload, request.headers.get("stripe-signature"))
    except (ValueError, stripe.SignatureVerificationError) as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    applied = await run_in_threadpool(
        process_event, event.id, event.type, getattr(event, "account", None),
        event.data.object.to_dict(),
    )
    return JSONResponse({"received": True, "duplicate": not applied})


def process_event(event_id: str, event_type: str, account: str | None, obj: dict[str, Any]) -> bool:
    """Record the event id and apply its effect in one transaction; False if seen before."""
    current = obj
    if event_type == "account.updated":
        # Events can arrive out of order: read the account as it is now, not as it was.
        current = stripe.Account.retrieve(obj["id"]).to_dict()
    try:
        with Session.begin() as db:
            if db.get(ProcessedEvent, event_id) is not None:
                return False
            db.add(ProcessedEvent(id=event_id, type=event_type, account=account))
            db.flush()  # a concurrent duplicate fails here, before any effect
            handler = HANDLERS.get(event_type)
            if handler is not None:
                handler(db, current)
    except IntegrityError:
        return False
    return True


def account_updated(db: DbSession, account: dict[str, Any]) -> None:
    seller = db.scalar(select(Seller).where(Seller.stripe_account_id == account["id"]))
    if seller is None:
        return
    seller.details_submitted = bool(account.get("details_submitted"))
    seller.charges_enabled = bool(account.get("charges_enabled"))
    seller.payouts_enabled = bool(account.get("payouts_enabled"))
    seller.account_updated_at = utcnow()


def _order_for_intent(db: DbSession, intent: dict[str, Any]) -> Order | None:
    order_id = (intent.get("metadata") or {}).get("order_id")
    order = db.get(Order, int(order_id)) if order_id and str(order_id).isdigit() else None
    if order is None or order.payment_intent_id != intent.get("id"):
        log.warning("payment intent %s does not belong to any order", intent.get("id"))
        return None
    return order


def payment_succeeded(db: DbSession, intent: dict[str, Any]) -> None:
    order = _order_for_intent(db, intent)
    if order is None or order.status != "pending":
        return
    seller = db.get_one(Seller, order.seller_id)
    destination = (intent.get("transfer_data") or {}).get("destination")
    if (
        intent.get("amount_received") != order.amount
        or intent.get("currency") != order.currency
        or intent.get("application_fee_amount") != order.application_fee_amount
        or destination != seller.stripe_account_id
    ):
        order.status = "needs_review"  # never hand over goods on a payment that does not match
        return
    order.status = "paid"
    order.paid_at = utcnow()
    order.last_error = None
    fulfil(order)


def fulfil(order: Order) -> None:
    """Where a real marketplace would tell the seller to ship and the buyer what comes next."""
    order.fulfilled_at = utcnow()
    log.info("order %s paid; seller %s notified", order.id, order.seller_id)


def payment_failed(db: DbSession, intent: dict[str, Any]) -> None:
    order = _order_for_intent(db, intent)
    if order is None or order.status != "pending":
        return
    error = intent.get("last_payment_error") or {}
    order.failed_attempts += 1
    order.last_error = str(error.get("message") or "The payment failed.")[:1000]


HANDLERS = {
    "account.updated": account_updated,
    "payment_intent.succeeded": payment_succeeded,
    "payment_intent.payment_failed": payment_failed,
}
