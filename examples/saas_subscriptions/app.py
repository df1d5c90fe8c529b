"""SaaS subscriptions: plans, sign-up with the Payment Element, access kept from webhooks.

The flow, and why each step sits where it does:

1. Plans are Stripe Products and Prices found by ``lookup_key`` (created on first use), so
   prices can change in Stripe without a deploy.
2. ``POST /signup`` creates the Customer and a Subscription with
   ``payment_behavior=default_incomplete``: nothing is charged yet, and the first invoice's
   ``confirmation_secret`` is handed to the Payment Element on ``/pay``. With
   ``save_default_payment_method=on_subscription`` the card paid with becomes the
   subscription's default for renewals.
3. Access is granted only by the ``invoice.paid`` webhook (until the paid period ends), a
   failed renewal (``invoice.payment_failed``) shows a dunning notice asking for a new card,
   and ``customer.subscription.deleted`` takes access away. The browser's redirect after
   paying changes nothing: the account page just shows what the webhooks recorded.
4. ``POST /webhook`` verifies the signature on the raw body and, in one database
   transaction, records the event id and applies it; a redelivered event is acknowledged
   and skipped.

Configured only by environment variables: STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY,
STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE (optional), STRIPE_JS_URL, DATABASE_URL, APP_URL.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stripe
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from models import ProcessedEvent, Session, Subscription, User, init_db
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

log = logging.getLogger("saas_subscriptions")

stripe.api_key = os.environ.get("STRIPE_SECRET_KEY", "")
if os.environ.get("STRIPE_API_BASE"):
    stripe.api_base = os.environ["STRIPE_API_BASE"]
PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL", "https://js.stripe.com/v3/")
APP_URL = os.environ.get("APP_URL", "http://127.0.0.1:8000").rstrip("/")
COOKIE = "saas_session"
CURRENCY = "usd"


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    pitch: str
    unit_amount: int  # cents per month

    @property
    def lookup_key(self) -> str:
        return f"saas_{self.key}_monthly"


PLANS = {
    plan.key: plan
    for plan in (
        Plan("starter", "Starter", "For one person: 3 projects.", 900),
        Plan("pro", "Pro", "For a team: unlimited projects and priority support.", 2900),
    )
}

app = FastAPI(title="Billfold example: SaaS subscriptions")
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["money"] = lambda cents: f"${cents // 100:,}.{cents % 100:02d}"
templates.env.filters["date"] = lambda ts: datetime.fromtimestamp(ts, UTC).strftime("%B %d, %Y")
init_db()

_prices: dict[str, str] = {}
_prices_lock = threading.Lock()


def price_for(plan: Plan) -> str:
    """The plan's Price id, found by lookup key (created, with its Product, the first time)."""
    with _prices_lock:
        if not _prices:
            found = stripe.Price.list(lookup_keys=[p.lookup_key for p in PLANS.values()],
                                      active=True, limit=len(PLANS))
            _prices.update({str(price.lookup_key): price.id for price in found.data})
        if plan.lookup_key not in _prices:
            product = stripe.Product.create(
                name=f"{plan.name} plan", description=plan.pitch,
                idempotency_key=f"saas-product-{plan.lookup_key}-{plan.unit_amount}",
            )
            price = stripe.Price.create(
                product=product.id, unit_amount=plan.unit_amount, currency=CURRENCY,
                recurring={"interval": "month"}, lookup_key=plan.lookup_key,
                idempotency_key=f"saas-price-{plan.lookup_key}-{plan.unit_amount}",
            )
            _prices[plan.lookup_key] = price.id
        return _prices[plan.lookup_key]


def current_user(db: DbSession, request: Request) -> User | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    return db.scalar(select(User).where(User.session_token == token))


def _signed_in(db: DbSession, request: Request) -> User:
    user = current_user(db, request)
    if user is None:
        raise HTTPException(303, headers={"Location": "/"})
    return user


@app.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    return templates.TemplateResponse(request, "index.html", {"plans": PLANS.values()})


@app.post("/signup")
async def signup(request: Request) -> Response:
    form = await request.form()
    email = str(form.get("email") or "").strip().lower()
    plan = PLANS.get(str(form.get("plan") or ""))
    if "@" not in email or plan is None:
        return templates.TemplateResponse(
            request, "index.html",
            {"plans": PLANS.values(), "error": "Enter your email and choose a plan."},
            status_code=400,
        )
    token = await run_in_threadpool(sign_up, email, plan)
    if token is None:
        return templates.TemplateResponse(
            request, "index.html",
            {"plans": PLANS.values(), "error": "That email already has an account."},
            status_code=400,
        )
    response = RedirectResponse("/pay", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax")
    return response


def sign_up(email: str, plan: Plan) -> str | None:
    """The user row first (its request key makes the Stripe calls idempotent), then Customer
    and Subscription; None when the email is taken."""
    try:
        with Session.begin() as db:
            user = User(email=email, session_token=secrets.token_urlsafe(32))
            db.add(user)
            db.flush()
    except IntegrityError:
        return None
    customer = stripe.Customer.create(
        email=email, metadata={"user_id": str(user.id)},
        idempotency_key=f"{user.request_key}-customer",
    )
    subscription = stripe.Subscription.create(
        customer=customer.id,
        items=[{"price": price_for(plan)}],
        payment_behavior="default_incomplete",
        payment_settings={"save_default_payment_method": "on_subscription"},
        metadata={"user_id": str(user.id), "plan": plan.key},
        idempotency_key=f"{user.request_key}-subscription",
    )
    with Session.begin() as db:
        stored = db.get_one(User, user.id)
        stored.stripe_customer_id = customer.id
        db.add(Subscription(id=subscription.id, user_id=user.id, plan=plan.key,
                            amount=plan.unit_amount, currency=CURRENCY,
                            status=subscription.status))
    return user.session_token


@app.get("/pay", response_class=HTMLResponse)
def pay(request: Request) -> Response:
    with Session() as db:
        user = _signed_in(db, request)
        row = user.subscription
    if row is None or row.access:
        return RedirectResponse("/account", status_code=303)
    subscription = stripe.Subscription.retrieve(
        row.id, expand=["latest_invoice.confirmation_secret"]
    )
    invoice = subscription.latest_invoice
    if (
        subscription.status != "incomplete"
        or not isinstance(invoice, stripe.Invoice)
        or invoice.status != "open"
        or invoice.confirmation_secret is None
    ):
        return RedirectResponse("/account", status_code=303)
    plan = PLANS[row.plan]
    return templates.TemplateResponse(request, "pay.html", {
        "title": f"Subscribe to {plan.name}",
        "summary": f"{plan.name} plan, billed monthly",
        "amount": invoice.amount_due,
        "button": "Subscribe",
        "confirm": "confirmPayment",
        "client_secret": invoice.confirmation_secret.client_secret,
        "publishable_key": PUBLISHABLE_KEY,
        "stripe_js_url": STRIPE_JS_URL,
        "return_url": f"{APP_URL}/account",
    })


@app.get("/account/card", response_class=HTMLResponse)
def update_card(request: Request) -> Response:
    """A SetupIntent saves a new card; its webhook makes it the subscription's default."""
    with Session() as db:
        user = _signed_in(db, request)
        row = user.subscription
    if row is None or user.stripe_customer_id is None or row.status == "canceled":
        return RedirectResponse("/account", status_code=303)
    setup = stripe.SetupIntent.create(
        customer=user.stripe_customer_id, usage="off_session",
        automatic_payment_methods={"enabled": True},
        metadata={"subscription": row.id, "purpose": "update_card"},
    )
    return templates.TemplateResponse(request, "pay.html", {
        "title": "Update your card",
        "summary": "The new card pays your next invoice and any that are overdue.",
        "amount": None,
        "button": "Save card",
        "confirm": "confirmSetup",
        "client_secret": setup.client_secret,
        "publishable_key": PUBLISHABLE_KEY,
        "stripe_js_url": STRIPE_JS_URL,
        "return_url": f"{APP_URL}/account",
    })


@app.get("/account", response_class=HTMLResponse)
def account(request: Request) -> Response:
    with Session() as db:
        user = _signed_in(db, request)
        row = user.subscription
    plan = PLANS[row.plan] if row is not None else None
    return templates.TemplateResponse(
        request, "account.html", {"user": user, "subscription": row, "plan": plan}
    )


@app.post("/account/cancel")
async def cancel(request: Request) -> Response:
    form = await request.form()
    when = str(form.get("when") or "")
    if when not in ("now", "period_end"):
        raise HTTPException(400, "Choose when to cancel: now or period_end.")
    with Session() as db:
        user = _signed_in(db, request)
        row = user.subscription
    if row is None or row.status == "canceled":
        return RedirectResponse("/account", status_code=303)
    # Only Stripe changes here; access changes when customer.subscription.deleted arrives.
    if when == "now":
        await run_in_threadpool(stripe.Subscription.cancel, row.id)
    else:
        await run_in_threadpool(stripe.Subscription.modify, row.id, cancel_at_period_end=True)
    return RedirectResponse("/account", status_code=303)


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
                handler(db, obj)
    except IntegrityError:
        return False
    return True


def _subscription_of(invoice: dict[str, Any]) -> str | None:
    """Newer API versions name it under ``parent``; older ones at the top level."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    found = details.get("subscription") or invoice.get("subscription")
    if isinstance(found, dict):
        found = found.get("id")
    return str(found) if found else None


def _row(db: DbSession, subscription_id: str | None) -> Subscription | None:
    return db.get(Subscription, subscription_id) if subscription_id else None


def invoice_paid(db: DbSession, invoice: dict[str, Any]) -> None:
    row = _row(db, _subscription_of(invoice))
    if row is None or row.status == "canceled":
        return
    ends = [line["period"]["end"] for line in (invoice.get("lines") or {}).get("data", [])
            if line.get("period")]
    row.access = True
    row.status = "active"
    row.dunning_notice = None
    if ends:
        row.current_period_end = max([row.current_period_end or 0, *ends])


def invoice_payment_failed(db: DbSession, invoice: dict[str, Any]) -> None:
    row = _row(db, _subscription_of(invoice))
    if row is None or row.status in ("incomplete", "canceled"):
        return  # a failed first payment is shown in the browser; there is no access to keep
    row.status = "past_due"
    amount = int(invoice.get("amount_due") or 0)
    row.dunning_notice = (
        f"We could not charge your card for your {PLANS[row.plan].name} plan "
        f"(${amount // 100:,}.{amount % 100:02d}). Please update your card to keep access."
    )


def subscription_updated(db: DbSession, subscription: dict[str, Any]) -> None:
    row = _row(db, subscription.get("id"))
    if row is None or row.status == "canceled":
        return
    row.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    if subscription.get("status") in ("unpaid", "incomplete_expired"):
        # Stripe gave up collecting: the retries ran out, so access ends here.
        row.status = str(subscription["status"])
        row.access = False


def subscription_deleted(db: DbSession, subscription: dict[str, Any]) -> None:
    row = _row(db, subscription.get("id"))
    if row is None:
        return
    row.status = "canceled"
    row.access = False
    row.dunning_notice = None
    row.cancel_at_period_end = False


def setup_intent_succeeded(db: DbSession, setup: dict[str, Any]) -> None:
    """A card saved from the account page: the default for renewals, and pays what is due."""
    metadata = setup.get("metadata") or {}
    row = _row(db, metadata.get("subscription"))
    method = setup.get("payment_method")
    if metadata.get("purpose") != "update_card" or row is None or not method:
        return
    subscription = stripe.Subscription.modify(row.id, default_payment_method=str(method))
    invoice_id = subscription.latest_invoice
    if isinstance(invoice_id, str) and stripe.Invoice.retrieve(invoice_id).status == "open":
        try:
            stripe.Invoice.pay(invoice_id, payment_method=str(method))
        except stripe.CardError as error:
            log.info("retrying invoice %s with the new card failed: %s", invoice_id, error)


HANDLERS: dict[str, Callable[[DbSession, dict[str, Any]], None]] = {
    "invoice.paid": invoice_paid,
    "invoice.payment_failed": invoice_payment_failed,
    "customer.subscription.updated": subscription_updated,
    "customer.subscription.deleted": subscription_deleted,
    "setup_intent.succeeded": setup_intent_succeeded,
}
