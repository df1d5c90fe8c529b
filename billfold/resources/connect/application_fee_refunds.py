"""Application fee refunds: ``/v1/application_fees/{id}/refunds``, a platform giving back its fee.

The money goes from the platform to the account that paid the fee (an ``application_fee_refund``
balance transaction on each side, see ``application_fees.record_refund``).
"""

from __future__ import annotations

import copy
from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.events.record import diff
from billfold.ledger.money import format_amount
from billfold.resources.base import page
from billfold.resources.connect.application_fees import load_fee, record_refund
from billfold.wire.params import LIST_PARAMS, Amount, Metadata, Spec, apply_metadata
from billfold.wire.router import Routes

routes = Routes("application_fees")

CREATE: dict[str, Spec] = {"amount": Amount(min=1), "metadata": Metadata()}
UPDATE: dict[str, Spec] = {"metadata": Metadata()}


def refundable(fee: dict[str, Any]) -> int:
    return int(fee["amount"]) - int(fee["amount_refunded"])


def refund_fee(
    ctx: Ctx, fee: dict[str, Any], amount: int | None, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Refund ``amount`` (default: all that is left) of a locked fee, or refuse with Stripe's error."""
    left = refundable(fee)
    if left <= 0:
        raise InvalidRequestError(
            f"Application fee {fee['id']} has already been refunded.", param="amount"
        )
    if amount is None:
        amount = left
    if amount > left:
        currency = str(fee["currency"])
        raise InvalidRequestError(
            f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded amount "
            f"on fee ({format_amount(left, currency)})",
            param="amount",
        )
    return record_refund(ctx, fee, amount, apply_metadata({}, metadata or {}))


def _load_refund(ctx: Ctx, fee_id: str, refund_id: str, *, for_update: bool = False) -> dict[str, Any]:
    load_fee(ctx, fee_id, param="fee")
    found = ctx.objects.get(refund_id, "fee_refund", for_update=for_update)
    if found is None or found.get("fee") != fee_id:
        raise ResourceMissing("fee refund", refund_id)
    return found


@routes.post("/v1/application_fees/{id}/refunds", CREATE)
def create_fee_refund(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    fee = load_fee(ctx, id, for_update=True)
    return refund_fee(ctx, fee, params.get("amount"), params.get("metadata"))


@routes.post("/v1/application_fees/{id}/refund", {"amount": Amount(min=1)})
def refund_application_fee(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    """The older endpoint: refund and answer with the fee."""
    fee = load_fee(ctx, id, for_update=True)
    refund_fee(ctx, fee, params.get("amount"))
    return fee


@routes.get("/v1/application_fees/{id}/refunds", dict(LIST_PARAMS))
def list_fee_refunds(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    load_fee(ctx, id)
    return page(ctx, "fee_refund", f"/v1/application_fees/{id}/refunds", params, {"charge": id})


@routes.get("/v1/application_fees/{fee}/refunds/{id}")
def retrieve_fee_refund(ctx: Ctx, params: dict[str, Any], fee: str, id: str) -> dict[str, Any]:
    return _load_refund(ctx, fee, id)


@routes.post("/v1/application_fees/{fee}/refunds/{id}", UPDATE)
def update_fee_refund(ctx: Ctx, params: dict[str, Any], fee: str, id: str) -> dict[str, Any]:
    found = _load_refund(ctx, fee, id, for_update=True)
    before = copy.deepcopy(found)
    if "metadata" in params:
        found["metadata"] = apply_metadata(found.get("metadata") or {}, params["metadata"])
    previous = diff(before, found)
    if previous:
        ctx.objects.save(found)
        ctx.emit("application_fee.refund.updated", found, previous)
    return found
