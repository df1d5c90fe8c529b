"""A dispute's life outside the API: opened by a test card, money moved, decided by test evidence.

Stripe's dispute test cards open a dispute moments after the payment succeeds; Billfold does the
same with a scheduled job (:data:`OPEN_JOB`). A chargeback withdraws the disputed amount plus the
dispute fee at once. Countering it (submitting evidence) costs the dispute countered fee, and in
test mode the evidence ``uncategorized_text`` decides the outcome a moment later
(:data:`RESOLVE_JOB`): ``winning_evidence`` wins, ``losing_evidence`` loses and
``escalate_inquiry_evidence`` turns an inquiry into a chargeback. A won dispute gives back the
amount, the countered fee and (by default, as the issue asks and Stripe did before June 2025)
the dispute fee; with the account setting ``dispute_fee_returned_on_win=0`` the dispute fee is
kept, as Stripe's US pricing does since June 2025, and ``dispute_countered_fee`` (0 by default)
charges for countering.
"""

from __future__ import annotations

from typing import Any

from billfold import ids, jobs
from billfold.context import Ctx
from billfold.ledger.balance_transactions import DAY, record
from billfold.ledger.money import rescale
from billfold.resources.payments import payment_methods as pms
from billfold.resources.payments.test_cards import TestCard

OPEN_JOB = "dispute.open"
RESOLVE_JOB = "dispute.resolve"
# Stripe's test mode opens a test card's dispute within moments of the payment.
OPEN_DELAY = 1.0
# How long a submitted test dispute stays under review before the test evidence decides it.
RESOLVE_DELAY = 2.0
EVIDENCE_DUE_DAYS = 7
# Stripe's US fees, in cents, used when the account's settings do not name them.
DISPUTE_FEE = 1500
DISPUTE_COUNTERED_FEE = 1500

WINNING = "winning_evidence"
LOSING = "losing_evidence"
ESCALATE = "escalate_inquiry_evidence"

NEEDS_RESPONSE = ("needs_response", "warning_needs_response")
UNDER_REVIEW = ("under_review", "warning_under_review")
CLOSED = ("won", "lost", "warning_closed", "prevented")

TEXT_EVIDENCE = (
    "access_activity_log", "billing_address", "cancellation_policy_disclosure",
    "cancellation_rebuttal", "customer_email_address", "customer_name", "customer_purchase_ip",
    "duplicate_charge_explanation", "duplicate_charge_id", "product_description",
    "refund_policy_disclosure", "refund_refusal_explanation", "service_date", "shipping_address",
    "shipping_carrier", "shipping_date", "shipping_tracking_number", "uncategorized_text",
)
FILE_EVIDENCE = (
    "cancellation_policy", "customer_communication", "customer_signature",
    "duplicate_charge_documentation", "receipt", "refund_policy", "service_documentation",
    "shipping_documentation", "uncategorized_file",
)
EVIDENCE_FIELDS = tuple(sorted(TEXT_EVIDENCE + FILE_EVIDENCE))

# The networks' own reason codes for the reasons Stripe's test cards dispute with.
_REASON_CODES = {
    "visa": {"fraudulent": "10.4", "product_not_received": "13.1", "general": "13.3"},
    "mastercard": {"fraudulent": "4837", "product_not_received": "4855", "general": "4853"},
}


def fee_setting(ctx: Ctx, name: str, default: int, currency: str) -> int:
    """A fee from the account's settings (written in cents), in ``currency``'s minor units."""
    return rescale(int(ctx.account_settings.get(name, default)), 2, currency)


def after_payment(ctx: Ctx, charge: dict[str, Any], card: TestCard) -> None:
    """Queue what a test card does after its payment is captured: a dispute, an early warning."""
    if ctx.livemode:
        return
    if card.dispute:
        jobs.schedule(ctx, OPEN_JOB, charge["id"], ctx.now + OPEN_DELAY)
    if card.early_fraud_warning:
        from billfold.resources.radar import early_fraud_warnings

        early_fraud_warnings.schedule(ctx, charge["id"])


def _due_by(now: int) -> int:
    """The last second (UTC) of the day the evidence is due."""
    return (now // DAY + EVIDENCE_DUE_DAYS + 1) * DAY - 1


def new_dispute(ctx: Ctx, charge: dict[str, Any], reason: str, inquiry: bool) -> dict[str, Any]:
    card = (charge.get("payment_method_details") or {}).get("card") or {}
    network = str(card.get("network") or card.get("brand") or "unknown")
    code = _REASON_CODES.get(network, {}).get(reason)
    case_type = "inquiry" if inquiry else "compliance" if reason == "noncompliant" else "chargeback"
    return {
        "id": ids.new_id("dispute"),
        "object": "dispute",
        "amount": int(charge["amount"]) - int(charge.get("amount_refunded") or 0),
        "balance_transactions": [],
        "charge": charge["id"],
        "created": ctx.now,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {**{name: None for name in EVIDENCE_FIELDS}, "enhanced_evidence": {}},
        "evidence_details": {
            "due_by": _due_by(ctx.now),
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "intended_submission_method": None,
        "is_charge_refundable": inquiry,
        "livemode": ctx.livemode,
        "metadata": {},
        "network_reason_code": code,
        "payment_intent": charge.get("payment_intent"),
        "payment_method_details": {
            "card": {
                "brand": card.get("brand") or "unknown",
                "case_type": case_type,
                "network": network,
                "network_reason_code": code,
            },
            "type": "card",
        },
        "reason": reason,
        "status": "warning_needs_response" if inquiry else "needs_response",
    }


def withdraw(ctx: Ctx, dispute: dict[str, Any]) -> dict[str, Any]:
    """Take the disputed amount and the dispute fee from the balance, at once."""
    currency = dispute["currency"]
    fee = fee_setting(ctx, "dispute_fee", DISPUTE_FEE, currency)
    dispute["_dispute_fee"] = fee
    transaction = record(
        ctx,
        amount=-int(dispute["amount"]),
        currency=currency,
        type="adjustment",
        source=dispute["id"],
        fee=fee,
        fee_description="Dispute fee",
        available_on=ctx.now,
        description=f"Chargeback withdrawal for {dispute['charge']}",
    )
    dispute["balance_transactions"].append(transaction["id"])
    return transaction


def reinstate(ctx: Ctx, dispute: dict[str, Any]) -> dict[str, Any]:
    """A won dispute: the amount comes back, with the countered fee and, unless the account
    follows Stripe's June 2025 pricing, the dispute fee."""
    returned = int(dispute.get("_countered_fee") or 0)
    if int(ctx.account_settings.get("dispute_fee_returned_on_win", 1)):
        returned += int(dispute.get("_dispute_fee") or 0)
    transaction = record(
        ctx,
        amount=int(dispute["amount"]),
        currency=dispute["currency"],
        type="adjustment",
        source=dispute["id"],
        fee=-returned,
        fee_description="Dispute fee refund",
        available_on=ctx.now,
        description=f"Chargeback reversal for {dispute['charge']}",
    )
    transaction["reporting_category"] = "dispute_reversal"
    ctx.objects.save(transaction)
    dispute["balance_transactions"].append(transaction["id"])
    return transaction


def open_dispute(ctx: Ctx, charge: dict[str, Any], reason: str) -> dict[str, Any] | None:
    """Open a dispute on a captured charge (``reason`` ``inquiry`` opens an inquiry)."""
    inquiry = reason == "inquiry"
    dispute = new_dispute(ctx, charge, "general" if inquiry else reason, inquiry)
    if dispute["amount"] <= 0:
        return None  # a fully refunded charge can no longer be disputed
    if not inquiry:
        withdraw(ctx, dispute)
    ctx.objects.insert(dispute)
    charge["disputed"] = True
    ctx.objects.save(charge)
    ctx.emit("charge.dispute.created", dispute)
    if not inquiry:
        ctx.emit("charge.dispute.funds_withdrawn", dispute)
    return dispute


@jobs.handler(OPEN_JOB)
def open_for_test_card(ctx: Ctx, charge_id: str) -> None:
    """The test card's dispute, once: a charge already disputed is left alone (the job may rerun)."""
    charge = ctx.objects.get(charge_id, "charge", for_update=True)
    if charge is None or charge.get("disputed") or not charge.get("captured"):
        return
    method = ctx.objects.get(str(charge.get("payment_method")), "payment_method") or {}
    reason = pms.test_card(method).dispute
    if reason is None:
        return
    # "multiple" stands for a charge disputed more than once; its first dispute is a general one.
    open_dispute(ctx, charge, "general" if reason == "multiple" else reason)


def submit(ctx: Ctx, dispute: dict[str, Any]) -> None:
    """Send the staged evidence: the dispute goes under review, and test evidence is acted on."""
    details = dispute["evidence_details"]
    details["submission_count"] = int(details["submission_count"]) + 1
    details["past_due"] = ctx.now > int(details["due_by"] or 0)
    details["submission_method"] = "manual"
    if dispute["status"] == "needs_response":
        dispute["status"] = "under_review"
        _charge_countered_fee(ctx, dispute)
    elif dispute["status"] == "warning_needs_response":
        dispute["status"] = "warning_under_review"
    text = str(dispute["evidence"].get("uncategorized_text") or "").strip()
    if not ctx.livemode and text in (WINNING, LOSING, ESCALATE):
        jobs.schedule(ctx, RESOLVE_JOB, dispute["id"], ctx.now + RESOLVE_DELAY)


def _charge_countered_fee(ctx: Ctx, dispute: dict[str, Any]) -> None:
    currency = dispute["currency"]
    fee = fee_setting(ctx, "dispute_countered_fee", DISPUTE_COUNTERED_FEE, currency)
    if fee <= 0 or dispute.get("_countered_fee"):
        return
    record(
        ctx,
        amount=-fee,
        currency=currency,
        type="stripe_fee",
        source=dispute["id"],
        available_on=ctx.now,
        description=f"Dispute countered fee ({dispute['id']})",
    )
    dispute["_countered_fee"] = fee


def close(ctx: Ctx, dispute: dict[str, Any], status: str) -> None:
    """End the dispute as ``status`` (won gives the money back); emits charge.dispute.closed."""
    previous = {"status": dispute["status"]}
    dispute["status"] = status
    if status == "won":
        reinstate(ctx, dispute)
    ctx.objects.save(dispute)
    ctx.emit("charge.dispute.closed", dispute, previous)
    if status == "won":
        ctx.emit("charge.dispute.funds_reinstated", dispute)


def escalate(ctx: Ctx, dispute: dict[str, Any]) -> None:
    """An inquiry the issuer turns into a chargeback: the money is withdrawn, a response is due."""
    previous = {
        "status": dispute["status"],
        "is_charge_refundable": dispute["is_charge_refundable"],
        "evidence_details": dict(dispute["evidence_details"]),
    }
    dispute["status"] = "needs_response"
    dispute["is_charge_refundable"] = False
    dispute["payment_method_details"]["card"]["case_type"] = "chargeback"
    dispute["evidence_details"]["due_by"] = _due_by(ctx.now)
    withdraw(ctx, dispute)
    ctx.objects.save(dispute)
    ctx.emit("charge.dispute.updated", dispute, previous)
    ctx.emit("charge.dispute.funds_withdrawn", dispute)


@jobs.handler(RESOLVE_JOB)
def resolve_test_evidence(ctx: Ctx, dispute_id: str) -> None:
    """Decide a submitted test dispute by its evidence, as Stripe's test mode does."""
    dispute = ctx.objects.get(dispute_id, "dispute", for_update=True)
    if dispute is None or dispute["status"] not in UNDER_REVIEW:
        return
    text = str(dispute["evidence"].get("uncategorized_text") or "").strip()
    if dispute["status"] == "warning_under_review":
        if text == ESCALATE:
            escalate(ctx, dispute)
        elif text in (WINNING, LOSING):
            close(ctx, dispute, "warning_closed")
        return
    if text == WINNING:
        close(ctx, dispute, "won")
    elif text == LOSING:
        close(ctx, dispute, "lost")
