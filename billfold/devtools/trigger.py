"""``billfold trigger EVENT [EVENT ...]``: make, through the API, the objects that make Billfold emit EVENT.

Like ``stripe trigger``, each event has a fixture: a short series of ordinary API calls with
Stripe's test cards (``pm_card_visa``, ``pm_card_chargeDeclined``, ``pm_card_createDispute``,
...). Nothing is faked: Billfold emits the event because the objects really changed. The command
then waits until the event shows up in ``GET /v1/events`` and prints its id, so a trigger that
succeeds has proven the event exists (disputes, for one, open a moment after the payment).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from billfold.devtools.client import ApiError, Client, connect, fail

CARD = "pm_card_visa"
# Funds available at once, so payouts and transfers have a balance to draw on.
AVAILABLE_CARD = "pm_card_bypassPending"


@dataclass
class Run:
    """One trigger's calls: prints each object it makes and remembers where the event lands."""

    client: Client
    out: Callable[[str], None]
    account: str | None = None  # the connected account the event happens on, if not the platform
    made: list[str] = field(default_factory=list)

    def call(
        self, method: str, path: str, params: dict[str, Any] | None = None, *,
        account: str | None = None, declined: bool = False,
    ) -> dict[str, Any]:
        try:
            found = self.client.request(method, path, params, account)
        except ApiError as exc:
            # A decline is the point of some fixtures; the failed object is in the error.
            if declined and exc.type == "card_error":
                self.out(f"  {method} {path} -> card declined ({exc.error.get('decline_code') or exc.code})")
                return exc.error.get("payment_intent") or exc.error
            raise
        self.out(f"  {method} {path} -> {found.get('object', 'object')} {found.get('id', '')}".rstrip())
        self.made.append(str(found.get("id")))
        return found

    def post(self, path: str, params: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        return self.call("POST", path, params, **kw)


# Building blocks


def _customer(run: Run, **extra: Any) -> dict[str, Any]:
    return run.post("/v1/customers", {"name": "Jenny Rosen", "email": "jenny.rosen@example.com",
                                      "description": "made by billfold trigger", **extra})


def _payment(run: Run, card: str = CARD, **extra: Any) -> dict[str, Any]:
    return run.post("/v1/payment_intents", {
        "amount": 2000, "currency": "usd", "payment_method": card, "confirm": True,
        "payment_method_types": ["card"], **extra,
    })


def payment_declined(run: Run) -> None:
    intent = run.post("/v1/payment_intents", {"amount": 2000, "currency": "usd",
                                              "payment_method_types": ["card"]})
    run.post(f"/v1/payment_intents/{intent['id']}/confirm", {"payment_method": "pm_card_chargeDeclined"},
             declined=True)


def _price(run: Run, recurring: bool = True) -> dict[str, Any]:
    product = run.post("/v1/products", {"name": "Billfold trigger product"})
    params: dict[str, Any] = {"product": product["id"], "unit_amount": 1500, "currency": "usd"}
    if recurring:
        params["recurring"] = {"interval": "month"}
    return run.post("/v1/prices", params)


def _subscription(run: Run) -> dict[str, Any]:
    price = _price(run)
    customer = _customer(run, payment_method=CARD, invoice_settings={"default_payment_method": CARD})
    return run.post("/v1/subscriptions", {"customer": customer["id"], "items": [{"price": price["id"]}]})


def _invoice(run: Run, card: str = CARD) -> dict[str, Any]:
    customer = _customer(run, payment_method=card, invoice_settings={"default_payment_method": card})
    invoice = run.post("/v1/invoices", {"customer": customer["id"], "collection_method": "charge_automatically",
                                        "auto_advance": False})
    run.post("/v1/invoiceitems", {"customer": customer["id"], "invoice": invoice["id"], "amount": 1500,
                                  "currency": "usd", "description": "Billfold trigger item"})
    return invoice


def _fund(run: Run, amount: int) -> None:
    """Make sure ``amount`` USD is available (refunds and disputes may have drawn it down)."""
    balance = run.client.get("/v1/balance")
    available = sum(b["amount"] for b in balance.get("available", []) if b["currency"] == "usd")
    if available >= amount:
        return
    # Enough to cover the shortfall after Stripe's card fee (2.9% + 30c) and a margin.
    gross = (amount - available + 30) * 10_000 // 9_710 + 100
    _payment(run, AVAILABLE_CARD, amount=max(gross, 100))


def _connected_account(run: Run) -> dict[str, Any]:
    return run.post("/v1/accounts", {
        "type": "custom", "country": "US", "business_type": "individual",
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        "individual": {
            "first_name": "Jenny", "last_name": "Rosen", "email": "jenny.rosen@example.com",
            "phone": "0000000000", "dob": {"day": 1, "month": 1, "year": 1901}, "ssn_last_4": "0000",
            "address": {"line1": "address_full_match", "city": "San Francisco", "state": "CA",
                        "postal_code": "94111"},
        },
        "business_profile": {"mcc": "5734", "url": "https://accessible.stripe.com"},
        "tos_acceptance": {"date": int(time.time()), "ip": "127.0.0.1"},
        "external_account": "btok_us_verified",
    })


# Fixtures, one per event


def payment_intent_created(run: Run) -> None:
    run.post("/v1/payment_intents", {"amount": 2000, "currency": "usd", "payment_method_types": ["card"]})


def payment_succeeded(run: Run) -> None:
    _payment(run)


def payment_canceled(run: Run) -> None:
    intent = run.post("/v1/payment_intents", {"amount": 2000, "currency": "usd", "payment_method_types": ["card"]})
    run.post(f"/v1/payment_intents/{intent['id']}/cancel")


def charge_captured(run: Run) -> None:
    intent = _payment(run, capture_method="manual")
    run.post(f"/v1/payment_intents/{intent['id']}/capture")


def refunded(run: Run) -> None:
    intent = _payment(run)
    run.post("/v1/refunds", {"payment_intent": intent["id"]})


def disputed(run: Run) -> None:
    _payment(run, "pm_card_createDispute")


def customer_created(run: Run) -> None:
    _customer(run)


def customer_updated(run: Run) -> None:
    customer = _customer(run)
    run.post(f"/v1/customers/{customer['id']}", {"metadata": {"triggered": "true"}})


def customer_deleted(run: Run) -> None:
    customer = _customer(run)
    run.call("DELETE", f"/v1/customers/{customer['id']}")


def subscription_created(run: Run) -> None:
    _subscription(run)


def subscription_updated(run: Run) -> None:
    subscription = _subscription(run)
    run.post(f"/v1/subscriptions/{subscription['id']}", {"metadata": {"triggered": "true"}})


def subscription_deleted(run: Run) -> None:
    subscription = _subscription(run)
    run.call("DELETE", f"/v1/subscriptions/{subscription['id']}")


def invoice_created(run: Run) -> None:
    _invoice(run)


def invoice_finalized(run: Run) -> None:
    invoice = _invoice(run)
    run.post(f"/v1/invoices/{invoice['id']}/finalize")


def invoice_paid(run: Run) -> None:
    invoice = _invoice(run)
    run.post(f"/v1/invoices/{invoice['id']}/finalize")
    run.post(f"/v1/invoices/{invoice['id']}/pay")


def invoice_payment_failed(run: Run) -> None:
    invoice = _invoice(run, "pm_card_chargeCustomerFail")
    run.post(f"/v1/invoices/{invoice['id']}/finalize")
    run.post(f"/v1/invoices/{invoice['id']}/pay", declined=True)


def product_created(run: Run) -> None:
    run.post("/v1/products", {"name": "Billfold trigger product"})


def price_created(run: Run) -> None:
    _price(run, recurring=False)


def setup_intent_succeeded(run: Run) -> None:
    customer = _customer(run)
    run.post("/v1/setup_intents", {"customer": customer["id"], "payment_method": CARD, "confirm": True,
                                   "payment_method_types": ["card"], "usage": "off_session"})


def payment_method_attached(run: Run) -> None:
    customer = _customer(run)
    run.post(f"/v1/payment_methods/{CARD}/attach", {"customer": customer["id"]})


def payout_created(run: Run) -> None:
    _fund(run, 1000)
    run.post("/v1/payouts", {"amount": 1000, "currency": "usd"})


def account_updated(run: Run) -> None:
    account = _connected_account(run)
    run.post(f"/v1/accounts/{account['id']}", {"business_profile": {"name": "Billfold trigger shop"}})
    run.account = account["id"]


def transfer_created(run: Run) -> None:
    account = _connected_account(run)
    _fund(run, 1000)
    run.post("/v1/transfers", {"amount": 1000, "currency": "usd", "destination": account["id"]})


FIXTURES: dict[str, Callable[[Run], None]] = {
    "account.updated": account_updated,
    "charge.captured": charge_captured,
    "charge.dispute.created": disputed,
    "charge.failed": payment_declined,
    "charge.refunded": refunded,
    "charge.succeeded": payment_succeeded,
    "customer.created": customer_created,
    "customer.deleted": customer_deleted,
    "customer.subscription.created": subscription_created,
    "customer.subscription.deleted": subscription_deleted,
    "customer.subscription.updated": subscription_updated,
    "customer.updated": customer_updated,
    "invoice.created": invoice_created,
    "invoice.finalized": invoice_finalized,
    "invoice.paid": invoice_paid,
    "invoice.payment_failed": invoice_payment_failed,
    "invoice.payment_succeeded": invoice_paid,
    "payment_intent.canceled": payment_canceled,
    "payment_intent.created": payment_intent_created,
    "payment_intent.payment_failed": payment_declined,
    "payment_intent.succeeded": payment_succeeded,
    "payment_method.attached": payment_method_attached,
    "payout.created": payout_created,
    "price.created": price_created,
    "product.created": product_created,
    "refund.created": refunded,
    "setup_intent.succeeded": setup_intent_succeeded,
    "transfer.created": transfer_created,
}


def _event_ids(client: Client, event: str, account: str | None) -> list[str]:
    found = client.get("/v1/events", {"type": event, "limit": 100}, account)
    return [item["id"] for item in found["data"]]


def trigger(client: Client, event: str, wait: float, out: Callable[[str], None]) -> tuple[str | None, str | None]:
    """Run ``event``'s fixture; the new event's id once it appears (None if not within ``wait``,
    "" when not waiting), and the connected account it happened on (None for the platform)."""
    before = set(_event_ids(client, event, None))
    run = Run(client, out)
    out(f"Running the fixture for {event}:")
    FIXTURES[event](run)
    if wait <= 0:
        return "", run.account
    # An event on a brand-new connected account is new whatever its id.
    known = before if run.account is None else set()
    deadline = time.monotonic() + wait
    while True:
        fresh = [i for i in _event_ids(client, event, run.account) if i not in known]
        if fresh:
            return fresh[0], run.account
        if time.monotonic() > deadline:
            return None, run.account
        time.sleep(0.2)


def trigger_command(args: argparse.Namespace) -> int:
    if args.list or not args.events:
        print("Events billfold trigger can make:")
        for name in sorted(FIXTURES):
            print(f"  {name}")
        return 0 if args.list else 2
    unknown = [event for event in args.events if event not in FIXTURES]
    if unknown:
        fail(f"cannot trigger {', '.join(unknown)}; supported events:\n  " + "\n  ".join(sorted(FIXTURES)))
        return 2
    client = connect(args)
    if client is None:
        return 1
    status = 0
    try:
        for event in args.events:
            found, account = trigger(client, event, args.wait, lambda line: print(line, flush=True))
            if found is None:
                fail(f"the fixture ran, but no {event} event appeared within {args.wait:g}s")
                status = 1
                continue
            shown = f" ({found}{f' on {account}' if account else ''})" if found else ""
            print(f"Trigger succeeded! Billfold emitted {event}{shown}.", flush=True)
    except ApiError as exc:
        fail(f"{event}: {exc.message}")
        return 1
    finally:
        client.close()
    return status


def add_parser(commands: Any) -> None:
    from billfold.devtools.client import add_arguments

    parser = commands.add_parser(
        "trigger", help="make the objects that cause an event on a running Billfold (like stripe trigger)"
    )
    add_arguments(parser)
    parser.add_argument(
        "events", nargs="*", metavar="EVENT", help="event types, e.g. payment_intent.succeeded"
    )
    parser.add_argument("--list", action="store_true", help="list the events trigger can make")
    parser.add_argument(
        "--wait", type=float, default=30.0,
        help="seconds to wait for the event to appear (0: do not wait)",
    )
