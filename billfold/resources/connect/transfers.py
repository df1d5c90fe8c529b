"""Transfers: ``/v1/transfers``, money sent from a platform to one of its connected accounts.

A transfer is two balance transactions written in one database transaction: ``transfer``
(−amount) on the platform and ``payment`` (+amount) on the destination, whose source is a
``py_`` payment (a charge object) Stripe creates on the connected account. Reversals live in
``billfold.resources.connect.transfer_reversals``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.events.record import diff
from billfold.ledger.balance_transactions import balances, record
from billfold.resources.base import list_params, load, page
from billfold.resources.connect.scope import as_account
from billfold.wire.params import Amount, Currency, Metadata, Spec, Str, apply_metadata
from billfold.wire.present import list_object, register
from billfold.wire.router import Routes

routes = Routes("transfers")

INSUFFICIENT = (
    "You have insufficient available funds in your Stripe account. Try adding funds directly to "
    "your available balance by creating Charges using the 4000000000000077 test card. See: "
    "https://stripe.com/docs/testing#available-balance"
)
CREATE: dict[str, Spec] = {
    "amount": Amount(required=True, min=1),
    "currency": Currency(required=True),
    "destination": Str(required=True, max_length=5000),
    "description": Str(max_length=5000, emptyable=True),
    "metadata": Metadata(),
    "source_transaction": Str(max_length=5000),
    "source_type": Str(enum=("bank_account", "card", "fpx")),
    "transfer_group": Str(max_length=5000),
}
UPDATE: dict[str, Spec] = {
    "description": Str(max_length=5000, emptyable=True),
    "metadata": Metadata(),
}
LIST = list_params(destination=Str(max_length=5000), transfer_group=Str(max_length=5000))


def available(ctx: Ctx, currency: str) -> int:
    """The available balance of the ctx's account in ``currency``, from the ledger.

    The account's row is locked first, so two concurrent withdrawals cannot both spend it.
    """
    ctx.tx.one("SELECT id FROM accounts WHERE id = :id" + ctx.tx.for_update, id=ctx.scope.account)
    return balances(ctx.tx, ctx.scope, ctx.now).get(currency, {}).get("available", 0)


def _source_available_on(ctx: Ctx, charge_id: str) -> int | None:
    """When the source charge's funds become available (its ``charge`` ledger row)."""
    row = ctx.tx.one(
        "SELECT MAX(available_on) AS available_on FROM ledger_entries WHERE account = :account "
        "AND livemode = :livemode AND source = :source AND type IN ('charge', 'payment')",
        account=ctx.scope.account,
        livemode=ctx.livemode,
        source=charge_id,
    )
    return None if row is None or row.available_on is None else int(row.available_on)


def _destination_payment(conn: Ctx, transfer: dict[str, Any], available_on: int) -> dict[str, Any]:
    """The ``py_`` payment on the connected account, and its ``payment`` balance transaction."""
    payment_id = ids.new_id("payment")
    transaction = record(
        conn,
        amount=transfer["amount"],
        currency=transfer["currency"],
        type="payment",
        source=payment_id,
        available_on=available_on,
    )
    payment: dict[str, Any] = {
        "id": payment_id,
        "object": "charge",
        "amount": transfer["amount"],
        "amount_captured": transfer["amount"],
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": transaction["id"],
        "billing_details": {
            "address": {k: None for k in ("city", "country", "line1", "line2", "postal_code", "state")},
            "email": None, "name": None, "phone": None, "tax_id": None,
        },
        "calculated_statement_descriptor": None,
        "captured": True,
        "created": conn.now,
        "currency": transfer["currency"],
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": conn.livemode,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": None,
        "paid": True,
        "payment_intent": None,
        "payment_method": None,
        "payment_method_details": {"stripe_account": {}, "type": "stripe_account"},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": transfer["id"],
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": transfer.get("transfer_group"),
    }
    conn.objects.insert(payment)
    return payment


def create_transfer(
    ctx: Ctx,
    *,
    amount: int,
    currency: str,
    destination: str,
    source_transaction: str | None = None,
    transfer_group: str | None = None,
) -> dict[str, Any]:
    """Move ``amount`` from the ctx's (platform) account to ``destination``, in ctx's transaction.

    Without ``source_transaction`` the platform's available balance must cover it; with one,
    the money becomes available on both sides when the source charge's funds do. Returns the
    stored transfer (the caller may add description and metadata, then save it).
    """
    currency = currency.lower()
    if source_transaction is None and amount > available(ctx, currency):
        raise InvalidRequestError(INSUFFICIENT, code="balance_insufficient")
    available_on = ctx.now
    if source_transaction is not None:
        available_on = max(ctx.now, _source_available_on(ctx, source_transaction) or ctx.now)
    transfer_id = ids.new_id("transfer")
    transaction = record(
        ctx, amount=-amount, currency=currency, type="transfer", source=transfer_id,
        available_on=available_on,
    )
    transfer: dict[str, Any] = {
        "id": transfer_id,
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "balance_transaction": transaction["id"],
        "created": ctx.now,
        "currency": currency,
        "description": None,
        "destination": destination,
        "destination_payment": None,
        "livemode": ctx.livemode,
        "metadata": {},
        "reversed": False,
        "source_transaction": source_transaction,
        "source_type": "card",
        "transfer_group": transfer_group,
        # The indexed ``charge`` column finds a source charge's transfers.
        "_charge": source_transaction,
        # When both sides' money becomes available (a destination charge's fee follows it).
        "_available_on": available_on,
    }
    payment = _destination_payment(as_account(ctx, destination), transfer, available_on)
    transfer["destination_payment"] = payment["id"]
    ctx.objects.insert(transfer)
    ctx.emit("transfer.created", transfer)
    return transfer


def check_destination(ctx: Ctx, destination: str, param: str = "destination") -> dict[str, Any]:
    """A connected account of the caller that may receive transfers."""
    account = ctx.objects.get(destination, "account")
    if account is None:
        raise InvalidRequestError(
            f"No such destination: '{destination}'", code="resource_missing", param=param
        )
    status = ((account.get("_capabilities") or {}).get("transfers") or {}).get("status")
    if status != "active":
        raise InvalidRequestError(
            "Your destination account needs to have at least one of the following capabilities "
            "enabled: transfers, crypto_transfers, legacy_payments",
            code="insufficient_capabilities_for_transfer",
            param=param,
        )
    return account


def _check_source(ctx: Ctx, charge_id: str, amount: int, currency: str) -> None:
    """A transfer backed by a charge may not exceed what that charge still has to give."""
    charge = ctx.objects.get(charge_id, "charge")
    if charge is None:
        raise InvalidRequestError(
            f"No such charge: '{charge_id}'", code="resource_missing", param="source_transaction"
        )
    if charge.get("status") != "succeeded" or not charge.get("captured"):
        raise InvalidRequestError(
            f"The source_transaction {charge_id} must be a succeeded, captured charge.",
            param="source_transaction",
        )
    if charge["currency"] != currency:
        raise InvalidRequestError(
            f"The currency of source_transaction's balance transaction ({charge['currency']}) must "
            f"be the same as the transfer currency ({currency})",
            param="currency",
        )
    earlier = ctx.objects.page("transfer", filters={"charge": charge_id}, limit=100).data
    left = charge["amount_captured"] - charge.get("amount_refunded", 0) - sum(
        t["amount"] - t["amount_reversed"] for t in earlier
    )
    if amount > left:
        raise InvalidRequestError(
            f"Transfer amount ({amount}) exceeds the amount left on source_transaction "
            f"{charge_id} ({left}).",
            code="amount_too_large",
            param="amount",
        )


@routes.post("/v1/transfers", CREATE)
def create(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    check_destination(ctx, params["destination"])
    source = params.get("source_transaction")
    if source is not None:
        _check_source(ctx, source, params["amount"], params["currency"])
    transfer = create_transfer(
        ctx,
        amount=params["amount"],
        currency=params["currency"],
        destination=params["destination"],
        source_transaction=source,
        transfer_group=params.get("transfer_group"),
    )
    if params.get("description") is not None or "metadata" in params:
        transfer["description"] = params.get("description")
        transfer["metadata"] = apply_metadata({}, params.get("metadata") or {})
        ctx.objects.save(transfer)
    return transfer


@routes.get("/v1/transfers/{transfer}")
def retrieve_transfer(ctx: Ctx, params: dict[str, Any], transfer: str) -> dict[str, Any]:
    return load(ctx, "transfer", transfer, param="transfer")


@routes.post("/v1/transfers/{transfer}", UPDATE)
def update_transfer(ctx: Ctx, params: dict[str, Any], transfer: str) -> dict[str, Any]:
    found = load(ctx, "transfer", transfer, param="transfer", for_update=True)
    before = copy.deepcopy(found)
    if "description" in params:
        found["description"] = params["description"]
    if "metadata" in params:
        found["metadata"] = apply_metadata(found["metadata"], params["metadata"])
    if found != before:
        ctx.objects.save(found)
        ctx.emit("transfer.updated", found, diff(before, found))
    return found


@routes.get("/v1/transfers", LIST)
def list_transfers(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    clauses: list[str] = []
    values: dict[str, Any] = {}
    for name in ("destination", "transfer_group"):
        if name in params:
            # Neither is an indexed column: match inside the document's JSON text.
            clauses.append(f"data LIKE :t_{name} ESCAPE '\\'")
            values[f"t_{name}"] = f'%"{name}":{_like_escape(json.dumps(params[name]))}%'
    where = (" AND ".join(clauses), values) if clauses else None
    return page(ctx, "transfer", "/v1/transfers", params, where=where)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def reversals_of(ctx: Ctx, transfer_id: str, limit: int = 10) -> dict[str, Any]:
    found = ctx.objects.page("transfer_reversal", filters={"charge": transfer_id}, limit=limit)
    return list_object(f"/v1/transfers/{transfer_id}/reversals", found.data, found.has_more)


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    reversals = reversals_of(ctx, data["id"])
    reversals["data"] = [_render_reversal(ctx, r) for r in reversals["data"]]
    data["reversals"] = reversals
    return data


def _render_reversal(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not k.startswith("_")}


def missing(transfer_id: str) -> ResourceMissing:
    return ResourceMissing("transfer", transfer_id, param="transfer")


register(
    "transfer",
    expandable=("balance_transaction", "destination", "destination_payment", "source_transaction"),
    render=_render,
)
