"""Refunds: ``/v1/refunds`` — giving back all or part of a successful charge.

A refund locks its charge, checks what remains to refund, writes a ``refund`` balance
transaction (Stripe keeps its processing fee), updates the charge's ``amount_refunded`` and
``refunded``, and emits ``refund.created`` and ``charge.refunded`` — all in the request's one
transaction. Two test cards settle later (``REFUND_OUTCOMES``): their second step is a
scheduled job, due a moment after the commit, that survives restarts (see ``settle``).
"""

from __future__ import annotations

import secrets
from typing import Any

from billfold import ids, jobs
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing, StateConflict
from billfold.events.record import diff
from billfold.ledger.balance_transactions import DAY, record
from billfold.ledger.money import format_amount
from billfold.resources.base import list_params, load, page
from billfold.resources.payments.test_cards import REFUND_OUTCOMES
from billfold.wire.params import Amount, Bool, Currency, Metadata, Spec, Str, apply_metadata
from billfold.wire.present import list_object, register
from billfold.wire.router import Routes

routes = Routes("refunds")

# How long a test card's refund waits before its second step (pending→succeeded, succeeded→failed).
ASYNC_OUTCOME_DELAY = 2.0
# The scheduled job (billfold.jobs) that takes that second step.
SETTLE_JOB = "refund.settle"
# Stripe's reason for the failing test card's refund (4000000000005126).
TEST_FAILURE_REASON = "expired_or_canceled_card"

CREATE: dict[str, Spec] = {
    "amount": Amount(min=1),
    "charge": Str(),
    "payment_intent": Str(),
    "reason": Str(enum=("duplicate", "fraudulent", "requested_by_customer")),
    "metadata": Metadata(),
    "instructions_email": Str(max_length=800),
    "refund_application_fee": Bool(),
    "reverse_transfer": Bool(),
    "currency": Currency(),
    "customer": Str(),
    "origin": Str(enum=("customer_balance",)),
}


def _no_successful_charge(payment_intent: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"This PaymentIntent ({payment_intent}) does not have a successful charge to refund.",
        param=param,
    )


def _charge_to_refund(ctx: Ctx, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The charge named by ``charge`` or ``payment_intent``, locked; and the param that named it."""
    for unsupported in ("origin", "customer"):
        if params.get(unsupported) is not None:
            raise InvalidRequestError(
                "Billfold does not support refunds to a customer's cash balance yet; refund a "
                "charge or a PaymentIntent.",
                param=unsupported,
            )
    charge_id, intent_id = params.get("charge"), params.get("payment_intent")
    if charge_id is None and intent_id is None:
        raise InvalidRequestError(
            "Missing required param: charge.", param="charge", code="parameter_missing"
        )
    if charge_id is not None and intent_id is not None:
        raise InvalidRequestError(
            "You may only specify one of these parameters: charge, payment_intent.",
            param="payment_intent",
        )
    param = "charge" if charge_id is not None else "payment_intent"
    if intent_id is not None:
        intent = load(ctx, "payment_intent", intent_id, param="payment_intent")
        if intent.get("status") != "succeeded" or not intent.get("latest_charge"):
            raise _no_successful_charge(intent_id, param)
        charge_id = str(intent["latest_charge"])
    assert charge_id is not None
    # Locked before reading what remains, so concurrent refunds cannot over-refund.
    charge = ctx.objects.get(charge_id, "charge", for_update=True)
    if charge is None:
        raise ResourceMissing("charge", charge_id, param=param)
    return charge, param


def _check_refundable(ctx: Ctx, charge: dict[str, Any], param: str) -> None:
    intent = charge.get("payment_intent")
    if charge.get("status") != "succeeded" or (intent and not charge.get("captured")):
        if intent:
            raise _no_successful_charge(str(intent), param)
        raise InvalidRequestError(
            f"Charge {charge['id']} has not succeeded, so it cannot be refunded.", param=param
        )
    if charge.get("disputed") and _has_chargeback(ctx, charge["id"]):
        raise InvalidRequestError(
            f"Charge {charge['id']} has been charged back; cannot issue a refund.",
            code="charge_disputed",
        )


def _has_chargeback(ctx: Ctx, charge_id: str) -> bool:
    """A dispute past the inquiry stage; inquiries (``warning_*``) may still be refunded."""
    disputes = ctx.objects.page("dispute", filters={"charge": charge_id}, limit=10).data
    return not disputes or any(not str(d.get("status", "")).startswith("warning_") for d in disputes)


def _refundable(charge: dict[str, Any]) -> int:
    """What remains to refund. A partial capture already counts its released part as refunded
    (Stripe's ``amount_refunded``), so the whole amount less that is what may still go back."""
    return int(charge.get("amount") or 0) - int(charge.get("amount_refunded") or 0)


def _check_amount(charge: dict[str, Any], amount: int | None) -> int:
    remaining = _refundable(charge)
    if remaining <= 0:
        raise InvalidRequestError(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    if amount is None:
        return remaining
    if amount > remaining:
        currency = str(charge["currency"])
        raise InvalidRequestError(
            f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded amount "
            f"on charge ({format_amount(remaining, currency)})",
            code="amount_too_large",
            param="amount",
        )
    if not charge.get("captured") and amount != remaining:
        raise InvalidRequestError(
            "You cannot partially refund an uncaptured charge. Instead, capture the charge for an "
            "amount less than the original amount",
            param="amount",
        )
    return amount


def _test_outcome(ctx: Ctx, charge: dict[str, Any]) -> str | None:
    """``pending`` or ``failed`` for Stripe's refund test cards (by number, else last four digits)."""
    if ctx.livemode:
        return None
    method = ctx.objects.get(str(charge.get("payment_method") or ""), "payment_method")
    if method is not None and method.get("_number"):
        return REFUND_OUTCOMES.get(str(method["_number"]))
    card = (charge.get("payment_method_details") or {}).get("card") or {}
    last4 = card.get("last4")
    for number, outcome in REFUND_OUTCOMES.items():
        if last4 == number[-4:]:
            return outcome
    return None


def _destination(charge: dict[str, Any], now: int, pending: bool) -> dict[str, Any]:
    if pending:
        card: dict[str, Any] = {
            "reference": None,
            "reference_status": "pending",
            "reference_type": "acquirer_reference_number",
            "type": "pending",
        }
    elif now - int(charge.get("created") or now) < DAY:
        # Refunded soon after the payment, the authorization is reversed instead.
        card = {"type": "reversal"}
    else:
        card = {
            "reference": _arn(),
            "reference_status": "available",
            "reference_type": "acquirer_reference_number",
            "type": "refund",
        }
    return {"card": card, "type": "card"}


def _arn() -> str:
    """A 23-digit acquirer reference number, as card networks print them."""
    return "".join(str(secrets.randbelow(10)) for _ in range(23))


@routes.post("/v1/refunds", CREATE)
def create_refund(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    charge, param = _charge_to_refund(ctx, params)
    _check_refundable(ctx, charge, param)
    amount = _check_amount(charge, params.get("amount"))
    outcome = _test_outcome(ctx, charge)
    refund_id = ids.new_id("refund")
    currency = str(charge["currency"])
    refund: dict[str, Any] = {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": charge["id"],
        "created": ctx.now,
        "currency": currency,
        "customer": charge.get("customer"),
        "customer_account": None,
        "destination_details": _destination(charge, ctx.now, outcome == "pending"),
        "metadata": apply_metadata({}, params.get("metadata") or {}),
        "payment_intent": charge.get("payment_intent"),
        "payment_method": charge.get("payment_method"),
        "reason": params.get("reason"),
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "pending" if outcome == "pending" else "succeeded",
        "transfer_reversal": None,
    }
    if outcome == "pending":
        refund["pending_reason"] = "processing"
    if params.get("instructions_email") is not None:
        refund["instructions_email"] = params["instructions_email"]
    if charge.get("captured"):
        # Money moves back out; Stripe keeps the original processing fee.
        description = charge.get("description")
        refund["balance_transaction"] = record(
            ctx,
            amount=-amount,
            currency=currency,
            type="refund",
            source=refund_id,
            description=f"REFUND FOR CHARGE ({description})" if description else "REFUND FOR PAYMENT",
        )["id"]
    before = dict(charge)
    charge["amount_refunded"] = int(charge.get("amount_refunded") or 0) + amount
    charge["refunded"] = _refundable(charge) <= 0
    if outcome is not None:
        refund["_settle_to"] = "succeeded" if outcome == "pending" else "failed"
        jobs.schedule(ctx, SETTLE_JOB, refund_id, ctx.app.clock.precise() + ASYNC_OUTCOME_DELAY)
    if params.get("reverse_transfer") or params.get("refund_application_fee"):
        # Connect: take back the transfer and give back the fee, in proportion to this refund.
        from billfold.resources.connect.destination_charges import undo_for_refund

        refund["transfer_reversal"] = undo_for_refund(
            ctx, charge, amount, params, refund_id
        )["transfer_reversal"]
    ctx.objects.insert(refund)
    ctx.emit("refund.created", refund)
    ctx.objects.save(charge)
    ctx.emit("charge.refunded", charge, diff(before, charge))
    if charge.get("review"):
        from billfold.resources.radar.reviews import close_for_refund

        close_for_refund(ctx, charge, params.get("reason"))
    return refund


@routes.get("/v1/refunds/{refund}")
def retrieve_refund(ctx: Ctx, params: dict[str, Any], refund: str) -> dict[str, Any]:
    return load(ctx, "refund", refund)


@routes.post("/v1/refunds/{refund}", {"metadata": Metadata()})
def update_refund(ctx: Ctx, params: dict[str, Any], refund: str) -> dict[str, Any]:
    current = load(ctx, "refund", refund, for_update=True)
    before = {**current, "metadata": dict(current.get("metadata") or {})}
    if "metadata" in params:
        current["metadata"] = apply_metadata(current.get("metadata") or {}, params["metadata"])
    previous = diff(before, current)
    if previous:
        ctx.objects.save(current)
        _updated(ctx, current, previous)
    return current


@routes.get("/v1/refunds", list_params(charge=Str(), payment_intent=Str()))
def list_refunds(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    filters = {"charge": params.get("charge"), "payment_intent": params.get("payment_intent")}
    return page(ctx, "refund", "/v1/refunds", params, filters)


@routes.post("/v1/refunds/{refund}/cancel")
def cancel_refund(ctx: Ctx, params: dict[str, Any], refund: str) -> dict[str, Any]:
    current = load(ctx, "refund", refund)
    if current.get("status") != "requires_action":
        raise StateConflict(
            f"This refund cannot be canceled because it has a status of {current.get('status')}. "
            "Only a refund with a status of requires_action can be canceled.",
            param="refund",
        )
    charge = ctx.objects.get(str(current["charge"]), "charge", for_update=True)
    current = load(ctx, "refund", refund, for_update=True)
    previous = _give_back(ctx, current, charge, "canceled", "merchant_request")
    _updated(ctx, current, previous)
    return current


def _updated(ctx: Ctx, refund: dict[str, Any], previous: dict[str, Any]) -> None:
    ctx.emit("refund.updated", refund, previous)
    ctx.emit("charge.refund.updated", refund, previous)


def _give_back(
    ctx: Ctx, refund: dict[str, Any], charge: dict[str, Any] | None, status: str, reason: str
) -> dict[str, Any]:
    """A refund that did not go through: its money returns to the balance and to the charge."""
    previous = {
        "failure_balance_transaction": None,
        "failure_reason": None,
        "status": refund["status"],
    }
    refund["status"] = status
    refund["failure_reason"] = reason
    refund["failure_balance_transaction"] = None
    if refund.get("balance_transaction"):
        refund["failure_balance_transaction"] = record(
            ctx,
            amount=int(refund["amount"]),
            currency=str(refund["currency"]),
            type="refund_failure",
            source=refund["id"],
            description=f"REFUND FAILURE FOR {refund['id']}",
        )["id"]
    refund.pop("pending_reason", None)
    ctx.objects.save(refund)
    if charge is not None:
        charge["amount_refunded"] = max(0, int(charge.get("amount_refunded") or 0) - int(refund["amount"]))
        charge["refunded"] = _refundable(charge) <= 0
        ctx.objects.save(charge)
    return previous


@jobs.handler(SETTLE_JOB)
def settle(ctx: Ctx, refund_id: str) -> None:
    """A test card refund's second step: pending→succeeded (7726) or succeeded→failed (5126).

    A job may run again after a crash, so a refund already settled is left alone."""
    found = ctx.objects.get(refund_id, "refund")
    if found is None or "_settle_to" not in found:
        return
    # The charge is locked first, as refund creation does, so the two never deadlock.
    charge = ctx.objects.get(str(found["charge"]), "charge", for_update=True)
    refund = ctx.objects.get(refund_id, "refund", for_update=True)
    if refund is None or "_settle_to" not in refund:
        return
    target = refund.pop("_settle_to")
    if target == "failed":
        previous = _give_back(ctx, refund, charge, "failed", TEST_FAILURE_REASON)
        ctx.emit("refund.failed", refund, previous)
        ctx.emit("charge.refund.updated", refund, previous)
        return
    before = dict(refund)
    refund["status"] = "succeeded"
    refund.pop("pending_reason", None)
    refund["destination_details"] = _destination(charge or {}, ctx.now, False)
    previous = {**diff(before, refund), "pending_reason": "processing"}
    ctx.objects.save(refund)
    _updated(ctx, refund, previous)


def refunds_of_charge(ctx: Ctx, charge_id: str, limit: int = 10) -> dict[str, Any]:
    """A charge's refunds as Stripe nests them (``charge.refunds``), newest first."""
    found = ctx.objects.page("refund", filters={"charge": charge_id}, limit=limit)
    return list_object(f"/v1/charges/{charge_id}/refunds", found.data, found.has_more)


register(
    "refund",
    expandable=(
        "balance_transaction", "charge", "customer", "failure_balance_transaction",
        "payment_intent", "payment_method", "source_transfer_reversal", "transfer_reversal",
    ),
)
