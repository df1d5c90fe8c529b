"""Transfer reversals: ``/v1/transfers/{id}/reversals``, money taken back from a connected account.

A reversal is two balance transactions in one database transaction: ``transfer_refund``
(+amount) on the platform and ``payment_refund`` (−amount) on the connected account, whose
source is a ``pyr_`` refund of the transfer's ``py_`` payment.
"""

from __future__ import annotations

import copy
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.events.record import diff
from billfold.ledger.balance_transactions import record
from billfold.resources.base import page
from billfold.resources.connect.scope import as_account
from billfold.resources.connect.transfers import available, missing
from billfold.wire.params import LIST_PARAMS, Amount, Bool, Metadata, Spec, Str, apply_metadata
from billfold.wire.present import register
from billfold.wire.router import Routes

routes = Routes("transfers")

CREATE: dict[str, Spec] = {
    "amount": Amount(min=1),
    "description": Str(max_length=5000),
    "metadata": Metadata(),
    "refund_application_fee": Bool(),
}
UPDATE: dict[str, Spec] = {"metadata": Metadata()}
LIST: dict[str, Spec] = dict(LIST_PARAMS)


def _refund_payment(conn: Ctx, transfer: dict[str, Any], amount: int) -> dict[str, Any]:
    """Refund the ``py_`` payment on the connected account: its ``payment_refund`` row."""
    refund_id = ids.new_id("payment_refund")
    transaction = record(
        conn, amount=-amount, currency=transfer["currency"], type="payment_refund", source=refund_id
    )
    payment = conn.objects.get(str(transfer["destination_payment"]), "charge", for_update=True)
    refund: dict[str, Any] = {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": transaction["id"],
        "charge": transfer["destination_payment"],
        "created": conn.now,
        "currency": transfer["currency"],
        "destination_details": None,
        "metadata": {},
        "payment_intent": None,
        "reason": None,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }
    conn.objects.insert(refund)
    if payment is not None:
        payment["amount_refunded"] += amount
        payment["refunded"] = payment["amount_refunded"] >= payment["amount"]
        conn.objects.save(payment)
    return refund


def create_reversal(
    ctx: Ctx,
    transfer: dict[str, Any],
    amount: int | None = None,
    *,
    check_destination_balance: bool = True,
) -> dict[str, Any]:
    """Reverse ``amount`` (default: all that is left) of ``transfer``; the caller saved nothing yet.

    A transfer without a source charge may be reversed only as far as the connected account's
    available balance covers; one backed by a charge (a destination charge) up to its amount.
    """
    left = transfer["amount"] - transfer["amount_reversed"]
    if amount is None:
        amount = left
    if left <= 0:
        raise InvalidRequestError(f"Transfer {transfer['id']} has already been fully reversed.")
    if amount > left:
        raise InvalidRequestError(
            f"You have attempted to reverse more than the amount of the transfer. The transfer "
            f"{transfer['id']} has {left} left to reverse.",
            param="amount",
        )
    conn = as_account(ctx, str(transfer["destination"]))
    if (
        check_destination_balance
        and transfer.get("source_transaction") is None
        and amount > available(conn, transfer["currency"])
    ):
        raise InvalidRequestError(
            "Insufficient funds in the destination account to reverse this transfer: the "
            "connected account's available balance does not cover the reversal.",
            code="balance_insufficient",
            param="amount",
        )
    reversal_id = ids.new_id("transfer_reversal")
    refund = _refund_payment(conn, transfer, amount)
    transaction = record(
        ctx, amount=amount, currency=transfer["currency"], type="transfer_refund", source=reversal_id
    )
    reversal: dict[str, Any] = {
        "id": reversal_id,
        "object": "transfer_reversal",
        "amount": amount,
        "balance_transaction": transaction["id"],
        "created": ctx.now,
        "currency": transfer["currency"],
        "destination_payment_refund": refund["id"],
        "metadata": {},
        "source_refund": None,
        "transfer": transfer["id"],
        # The indexed ``charge`` column lists a transfer's reversals.
        "_charge": transfer["id"],
    }
    ctx.objects.insert(reversal)
    before = copy.deepcopy(transfer)
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
    ctx.objects.save(transfer)
    ctx.emit("transfer.reversed", transfer, diff(before, transfer))
    return reversal


def _transfer(ctx: Ctx, transfer_id: str, *, for_update: bool = False) -> dict[str, Any]:
    found = ctx.objects.get(transfer_id, "transfer", for_update=for_update)
    if found is None:
        raise missing(transfer_id)
    return found


def _reversal(ctx: Ctx, transfer_id: str, reversal_id: str, *, for_update: bool = False) -> dict[str, Any]:
    _transfer(ctx, transfer_id)
    found = ctx.objects.get(reversal_id, "transfer_reversal", for_update=for_update)
    if found is None or found["transfer"] != transfer_id:
        raise ResourceMissing("transfer_reversal", reversal_id)
    return found


@routes.post("/v1/transfers/{transfer}/reversals", CREATE)
def create(ctx: Ctx, params: dict[str, Any], transfer: str) -> dict[str, Any]:
    found = _transfer(ctx, transfer, for_update=True)
    reversal = create_reversal(ctx, found, params.get("amount"))
    if "metadata" in params:
        reversal["metadata"] = apply_metadata({}, params["metadata"])
        ctx.objects.save(reversal)
    return reversal


@routes.get("/v1/transfers/{transfer}/reversals", LIST)
def list_reversals(ctx: Ctx, params: dict[str, Any], transfer: str) -> dict[str, Any]:
    _transfer(ctx, transfer)
    url = f"/v1/transfers/{transfer}/reversals"
    return page(ctx, "transfer_reversal", url, params, {"charge": transfer})


@routes.get("/v1/transfers/{transfer}/reversals/{id}")
def retrieve_reversal(ctx: Ctx, params: dict[str, Any], transfer: str, id: str) -> dict[str, Any]:
    return _reversal(ctx, transfer, id)


@routes.post("/v1/transfers/{transfer}/reversals/{id}", UPDATE)
def update_reversal(ctx: Ctx, params: dict[str, Any], transfer: str, id: str) -> dict[str, Any]:
    found = _reversal(ctx, transfer, id, for_update=True)
    if "metadata" in params:
        found["metadata"] = apply_metadata(found["metadata"], params["metadata"])
        ctx.objects.save(found)
    return found


register("transfer_reversal", expandable=("balance_transaction", "destination_payment_refund", "transfer"))
