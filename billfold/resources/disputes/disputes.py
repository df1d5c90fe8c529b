"""Disputes: ``/v1/disputes`` — retrieve, list, stage or submit evidence, close (concede).

Disputes are opened by the card networks (in test mode, by Stripe's dispute test cards: see
``lifecycle``); the API only answers them.
"""

from __future__ import annotations

import copy
from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError, StateConflict
from billfold.events.record import diff
from billfold.resources.base import list_params, load, page
from billfold.resources.disputes import lifecycle
from billfold.resources.disputes.lifecycle import (
    CLOSED,
    FILE_EVIDENCE,
    NEEDS_RESPONSE,
    TEXT_EVIDENCE,
)
from billfold.wire.params import Bool, Dict, Metadata, Spec, Str, apply_metadata
from billfold.wire.present import register, render
from billfold.wire.router import Routes

routes = Routes("disputes")

# Stripe's limits: 20,000 characters for the long statements, 150,000 for all evidence together.
_LONG_TEXT = frozenset({
    "access_activity_log", "cancellation_policy_disclosure", "cancellation_rebuttal",
    "duplicate_charge_explanation", "product_description", "refund_policy_disclosure",
    "refund_refusal_explanation", "uncategorized_text",
})
MAX_EVIDENCE_CHARACTERS = 150_000

_FEE_ACKNOWLEDGED = Dict(fields={"fee_acknowledged": Bool()})
EVIDENCE = Dict(
    fields={
        **{
            name: Str(emptyable=True, max_length=20_000 if name in _LONG_TEXT else 5000)
            for name in TEXT_EVIDENCE
        },
        # File uploads; Billfold has no Files API yet, so an id shaped like Stripe's is accepted.
        **{name: Str(emptyable=True, pattern=r"file_[A-Za-z0-9]+") for name in FILE_EVIDENCE},
        "enhanced_evidence": Dict(
            fields={"mastercard_compliance": _FEE_ACKNOWLEDGED, "visa_compliance": _FEE_ACKNOWLEDGED},
            emptyable=True,
        ),
    }
)
UPDATE: dict[str, Spec] = {
    "evidence": EVIDENCE,
    "intended_submission_method": Str(
        enum=("manual", "prefer_manual", "prefer_smart_disputes", "smart_disputes")
    ),
    "metadata": Metadata(),
    "submit": Bool(),
}
LIST = list_params(charge=Str(), payment_intent=Str())


def _refuse_if_answered(dispute: dict[str, Any], param: str) -> None:
    status = dispute["status"]
    if status in CLOSED:
        raise StateConflict(
            f"This dispute is already closed (status: {status}); its evidence can no longer be "
            "changed or submitted.",
            param=param,
        )
    if status not in NEEDS_RESPONSE:
        raise StateConflict(
            f"This dispute's evidence has already been submitted (status: {status}); it can no "
            "longer be changed or submitted again.",
            param=param,
        )


def _stage(dispute: dict[str, Any], evidence: dict[str, Any]) -> None:
    staged = dispute["evidence"]
    for name, value in evidence.items():
        if name == "enhanced_evidence":
            staged["enhanced_evidence"] = {
                program: {"fee_acknowledged": bool(details.get("fee_acknowledged"))}
                for program, details in (value or {}).items()
            }
        else:
            staged[name] = value
    total = sum(len(value) for value in staged.values() if isinstance(value, str))
    if total > MAX_EVIDENCE_CHARACTERS:
        raise InvalidRequestError(
            f"The combined character count of all evidence fields is {total:,}; it must be at most "
            f"{MAX_EVIDENCE_CHARACTERS:,}.",
            param="evidence",
        )
    dispute["evidence_details"]["has_evidence"] = any(
        isinstance(value, str) and value for value in staged.values()
    )


@routes.get("/v1/disputes/{dispute}")
def retrieve_dispute(ctx: Ctx, params: dict[str, Any], dispute: str) -> dict[str, Any]:
    return load(ctx, "dispute", dispute)


@routes.get("/v1/disputes", LIST)
def list_disputes(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    filters = {"charge": params.get("charge"), "payment_intent": params.get("payment_intent")}
    return page(ctx, "dispute", "/v1/disputes", params, filters)


@routes.post("/v1/disputes/{dispute}", UPDATE)
def update_dispute(ctx: Ctx, params: dict[str, Any], dispute: str) -> dict[str, Any]:
    current = load(ctx, "dispute", dispute, for_update=True)
    before = copy.deepcopy(current)
    evidence = params.get("evidence")
    # Evidence is submitted unless ``submit=false`` stages it; Stripe's default is to submit.
    submitting = bool(params.get("submit", evidence is not None))
    if evidence is not None:
        _refuse_if_answered(current, "evidence")
    if submitting:
        _refuse_if_answered(current, "submit")
    if evidence is not None:
        _stage(current, evidence)
    if "metadata" in params:
        current["metadata"] = apply_metadata(current.get("metadata") or {}, params["metadata"])
    if "intended_submission_method" in params:
        current["intended_submission_method"] = params["intended_submission_method"]
    if submitting:
        lifecycle.submit(ctx, current)
    previous = diff(before, current)
    ctx.objects.save(current)
    if previous:
        ctx.emit("charge.dispute.updated", current, previous)
    return current


@routes.post("/v1/disputes/{dispute}/close")
def close_dispute(ctx: Ctx, params: dict[str, Any], dispute: str) -> dict[str, Any]:
    """Concede: a chargeback is lost (its money stays withdrawn), an inquiry is closed."""
    current = load(ctx, "dispute", dispute, for_update=True)
    status = current["status"]
    if status not in NEEDS_RESPONSE:
        raise StateConflict(
            f"This dispute cannot be closed because it has a status of {status}. Only a dispute "
            "with one of the following statuses may be closed: needs_response, "
            "warning_needs_response."
        )
    lifecycle.close(ctx, current, "lost" if status == "needs_response" else "warning_closed")
    return current


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    # Stored as ids; Stripe always shows a dispute's balance transactions in full.
    shown = []
    for entry in data.get("balance_transactions") or []:
        if isinstance(entry, str):
            found = ctx.objects.get(entry, "balance_transaction")
            if found is not None:
                shown.append(render(ctx, found))
        else:
            shown.append(entry)
    data["balance_transactions"] = shown
    return data


register("dispute", expandable=("charge", "payment_intent"), render=_render)
