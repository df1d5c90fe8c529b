"""iDEAL and SEPA Direct Debit payments of a PaymentIntent, as Stripe's test mode runs them.

iDEAL is a redirect: confirming needs a ``return_url`` and leaves the intent in
``requires_action`` with a ``redirect_to_url`` to Billfold's test authorization page (the page
3D Secure uses), where the customer authorizes or fails the test payment. SEPA Direct Debit is
asynchronous: the intent goes ``processing`` with a pending charge, and a job settles it moments
later, failing for Stripe's failing test IBANs. Both are euro-only, as on Stripe.
"""

from __future__ import annotations

from typing import Any

from billfold import jobs
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.ledger.balance_transactions import record, settlement_time
from billfold.resources.base import load
from billfold.resources.connect import destination_charges
from billfold.resources.payments import authentication, charges

TYPES = ("ideal", "sepa_debit")
CURRENCIES = {"ideal": ("eur",), "sepa_debit": ("eur",)}
# Stripe's EU price list: a fixed fee per payment, in euro cents.
FEES = {"ideal": 29, "sepa_debit": 35}
SETTLE_JOB = "payment_intent.sepa_debit_settle"
# Stripe's test IBANs whose debit fails, processing -> requires_payment_method (AT, BE, DE, EE,
# FI, FR); every other valid IBAN succeeds. The delayed and disputed variants are not modelled.
FAILING_IBANS = frozenset({
    "AT861904300235473202", "BE68539007547034", "DE62370400440532013001",
    "EE762200221020145680", "FI9112345600000786", "FR8420041010050500013M02607",
})
ATTEMPT_FAILED = (
    "The latest payment attempt of this PaymentIntent has failed or been canceled, and the "
    "attached payment method has been removed. You can try confirming again with a new payment "
    "method."
)


def _details(method: dict[str, Any]) -> dict[str, Any]:
    kind = method["type"]
    found = dict(method.get(kind) or {})
    if kind == "ideal":
        found.update({
            "iban_last4": None, "generated_sepa_debit": None, "generated_sepa_debit_mandate": None,
            "transaction_id": None, "verified_name": method["billing_details"].get("name"),
        })
    else:
        found.pop("generated_from", None)
        found["mandate"] = None
    return {"type": kind, kind: found}


def _outcome(approved: bool) -> dict[str, Any]:
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network" if approved else "declined_by_network",
        "reason": None,
        "risk_level": "not_assessed",
        "seller_message": "Payment complete." if approved else "The bank did not return any further details with this payment.",
        "type": "authorized" if approved else "issuer_declined",
    }


def _new_charge(ctx: Ctx, intent: dict[str, Any], method: dict[str, Any], status: str) -> dict[str, Any]:
    charge = charges.new_charge(ctx, intent, method, status=status, outcome=_outcome(True))
    charge["payment_method_details"] = _details(method)
    destination_charges.describe(intent, charge)
    return charge


def attempt(ctx: Ctx, intent: dict[str, Any], method: dict[str, Any], return_url: str | None) -> None:
    """Start the payment: a redirect for iDEAL, a pending debit for SEPA."""
    kind = method["type"]
    if intent["currency"] not in CURRENCIES[kind]:
        raise InvalidRequestError(
            f"The currency provided ({intent['currency']}) is invalid. Payments with {kind} "
            f"support the following currencies: {', '.join(CURRENCIES[kind])}.",
            param="currency",
        )
    intent["last_payment_error"] = None
    if kind == "ideal":
        if not return_url:
            raise InvalidRequestError(
                "A return_url must be provided when confirming a PaymentIntent with the "
                "payment method type ideal.",
                param="return_url",
            )
        intent["status"] = "requires_action"
        intent["next_action"] = {
            "type": "redirect_to_url",
            "redirect_to_url": {"return_url": return_url, "url": authentication.challenge_url(ctx, intent)},
        }
        ctx.objects.save(intent)
        ctx.emit("payment_intent.requires_action", intent)
        return
    charge = _new_charge(ctx, intent, method, "pending")
    ctx.objects.insert(charge)
    ctx.emit("charge.pending", charge)
    intent["latest_charge"] = charge["id"]
    intent["status"] = "processing"
    intent["next_action"] = None
    ctx.objects.save(intent)
    ctx.emit("payment_intent.processing", intent)
    jobs.schedule(ctx, SETTLE_JOB, intent["id"], ctx.now)


def _pay(ctx: Ctx, intent: dict[str, Any], method: dict[str, Any], charge: dict[str, Any]) -> None:
    from billfold.resources.payments.payment_intent_confirm import _tell_invoice

    charge["status"] = "succeeded"
    charge["paid"] = True
    amount = int(intent["amount"])
    transaction = record(
        ctx, amount=amount, currency=charge["currency"], type="charge", source=charge["id"],
        fee=FEES[method["type"]], available_on=settlement_time(ctx),
        description=charge.get("description"),
    )
    charge["captured"] = True
    charge["amount_captured"] = amount
    charge["balance_transaction"] = transaction["id"]
    destination_charges.settle(ctx, intent, charge)
    intent["status"] = "succeeded"
    intent["amount_received"] = amount
    intent["latest_charge"] = charge["id"]
    intent["next_action"] = None
    ctx.objects.save(intent)
    ctx.emit("charge.succeeded", charge)
    ctx.emit("payment_intent.succeeded", intent)
    _tell_invoice(ctx, intent)


def _decline(ctx: Ctx, intent: dict[str, Any], method: dict[str, Any], charge: dict[str, Any]) -> None:
    from billfold.resources.payments.payment_intent_confirm import fail

    charge["status"] = "failed"
    charge["outcome"] = _outcome(False)
    charge["failure_code"] = "payment_intent_payment_attempt_failed"
    charge["failure_message"] = ATTEMPT_FAILED
    ctx.emit("charge.failed", charge)
    fail(ctx, intent, method, {
        "code": "payment_intent_payment_attempt_failed",
        "message": ATTEMPT_FAILED,
        "type": "invalid_request_error",
    })


def finish_redirect(ctx: Ctx, intent: dict[str, Any], method: dict[str, Any], success: bool) -> dict[str, Any]:
    """The test authorization page's verdict on an iDEAL payment."""
    charge = _new_charge(ctx, intent, method, "succeeded" if success else "failed")
    ctx.objects.insert(charge)
    intent["latest_charge"] = charge["id"]
    if success:
        _pay(ctx, intent, method, charge)
    else:
        _decline(ctx, intent, method, charge)
    ctx.objects.save(charge)
    return intent


@jobs.handler(SETTLE_JOB)
def settle_sepa_debit(ctx: Ctx, intent_id: str) -> None:
    """The debit's result: idempotent, since a job may run again after a crash."""
    intent = ctx.objects.get(intent_id, "payment_intent", for_update=True)
    if intent is None or intent.get("status") != "processing" or not intent.get("latest_charge"):
        return
    charge = load(ctx, "charge", str(intent["latest_charge"]), for_update=True)
    method = load(ctx, "payment_method", str(charge["payment_method"]))
    if method.get("_iban") in FAILING_IBANS:
        _decline(ctx, intent, method, charge)
    else:
        _pay(ctx, intent, method, charge)
    ctx.objects.save(charge)
