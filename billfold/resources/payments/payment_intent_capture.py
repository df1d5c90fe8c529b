"""Finishing an authorized PaymentIntent: capturing it (in full or in part) or canceling it."""

from __future__ import annotations

import copy
from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.events.record import diff
from billfold.ledger.money import format_amount
from billfold.resources.base import load
from billfold.resources.connect import destination_charges
from billfold.resources.payments import charges
from billfold.resources.payments import payment_methods as pms
from billfold.resources.payments.payment_intent_confirm import unexpected_state
from billfold.wire.params import apply_metadata

CANCELABLE = (
    "requires_payment_method", "requires_capture", "requires_confirmation", "requires_action",
    "processing",
)


def capture(
    ctx: Ctx, intent: dict[str, Any], params: dict[str, Any], amount_param: str = "amount_to_capture"
) -> dict[str, Any]:
    status = intent["status"]
    if status != "requires_capture":
        if status == "succeeded":
            raise unexpected_state(
                "This PaymentIntent could not be captured because it has already been captured."
            )
        raise unexpected_state(
            f"This PaymentIntent could not be captured because it has a status of {status}. Only a "
            "PaymentIntent with one of the following statuses may be captured: requires_capture."
        )
    capturable = int(intent["amount_capturable"])
    amount = params.get("amount_to_capture", capturable)
    if amount > capturable or amount < 1:
        currency = intent["currency"]
        raise InvalidRequestError(
            f"The amount to capture ({format_amount(amount, currency)}) must be greater than zero "
            f"and at most the amount capturable ({format_amount(capturable, currency)}).",
            param=amount_param,
            code="amount_too_large" if amount > capturable else "amount_too_small",
        )
    for name in ("statement_descriptor", "statement_descriptor_suffix", "application_fee_amount"):
        if name in params:
            intent[name] = params[name]
    if "metadata" in params:
        intent["metadata"] = apply_metadata(intent.get("metadata") or {}, params["metadata"])
    charge = load(ctx, "charge", str(intent["latest_charge"]), param="intent", for_update=True)
    before = copy.deepcopy(charge)
    method = ctx.objects.get(str(charge["payment_method"]), "payment_method") or {}
    if "receipt_email" in params:
        charge["receipt_email"] = intent["receipt_email"] = params["receipt_email"]
    charges.capture(ctx, charge, amount, pms.test_card(method))
    destination_charges.settle(ctx, intent, charge)
    ctx.objects.save(charge)
    ctx.emit("charge.captured", charge, diff(before, charge))
    intent["status"] = "succeeded"
    intent["amount_received"] = amount
    intent["amount_capturable"] = 0
    ctx.objects.save(intent)
    ctx.emit("payment_intent.succeeded", intent)
    return intent


def cancel(ctx: Ctx, intent: dict[str, Any], reason: str | None) -> dict[str, Any]:
    status = intent["status"]
    if status not in CANCELABLE:
        raise unexpected_state(
            f"You cannot cancel this PaymentIntent because it has a status of {status}. Only a "
            "PaymentIntent with one of the following statuses may be canceled: "
            f"{', '.join(CANCELABLE)}."
        )
    if status == "requires_capture" and intent.get("latest_charge"):
        # The uncaptured authorization is given back to the cardholder.
        charge = load(ctx, "charge", str(intent["latest_charge"]), param="intent", for_update=True)
        charges.release(ctx, charge)
    intent["status"] = "canceled"
    intent["canceled_at"] = ctx.now
    intent["cancellation_reason"] = reason
    intent["next_action"] = None
    intent["amount_capturable"] = 0
    for private in ("_authenticated", "_three_d_secure"):
        intent.pop(private, None)
    ctx.objects.save(intent)
    ctx.emit("payment_intent.canceled", intent)
    return intent
