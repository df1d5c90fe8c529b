"""Payouts: ``/v1/payouts``, money sent from an account's balance to its bank account.

Works for the platform and, through ``Stripe-Account``, for connected accounts. Creating a
payout writes its ``payout`` balance transaction (−amount, available at once); jobs then move
it pending → in_transit → paid seconds apart, or to failed for Stripe's failing test bank
accounts (their failure code is kept privately as ``_payout_failure``), when a
``payout_failure`` balance transaction gives the money back. A pending payout may be canceled.
"""

from __future__ import annotations

import copy
from typing import Any

from billfold import ids, jobs
from billfold.accounts import platform_of
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, StateConflict
from billfold.events.record import diff
from billfold.ledger.balance_transactions import DAY, record
from billfold.resources.base import list_params, load, page
from billfold.resources.connect.external_accounts import build_bank_account
from billfold.resources.connect.transfers import available
from billfold.wire.params import CREATED, Amount, Currency, Metadata, Spec, Str, apply_metadata
from billfold.wire.present import register
from billfold.wire.router import Routes

routes = Routes("payouts")

ADVANCE_JOB = "payout.advance"
# Seconds a test-mode payout stays pending (cancelable), then in transit before paid or failed.
PENDING_SECONDS = 2.0
IN_TRANSIT_SECONDS = 1.0
INSUFFICIENT = (
    "You have insufficient funds in your Stripe account for this transfer. Your card balance is "
    "too low. You can use the /v1/balance endpoint to view your Stripe balance (for more "
    "details, see stripe.com/docs/api#balance)."
)
# Stripe's failure messages for the failure codes of its failing test bank accounts.
FAILURE_MESSAGES = {
    "no_account": "The bank account details on file are probably incorrect. No bank account "
    "could be located with those details.",
    "account_closed": "The bank account has been closed.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "debit_not_authorized": "Debit transactions are not approved on the bank account. (Stripe "
    "requires bank accounts to be set up for both credit and debit payouts.)",
    "invalid_currency": "The bank was unable to process this payout because of its currency. "
    "This is probably because the bank account cannot accept payments in that currency.",
}
CREATE: dict[str, Spec] = {
    "amount": Amount(required=True, min=1),
    "currency": Currency(required=True),
    "description": Str(max_length=5000),
    "destination": Str(max_length=5000),
    "metadata": Metadata(),
    "method": Str(enum=("instant", "standard")),
    "source_type": Str(enum=("bank_account", "card", "fpx")),
    "statement_descriptor": Str(max_length=22),
}
UPDATE: dict[str, Spec] = {"metadata": Metadata()}
LIST = list_params(
    arrival_date=CREATED,
    destination=Str(max_length=5000),
    status=Str(max_length=5000),
)


def _platform_test_bank(ctx: Ctx, currency: str) -> dict[str, Any] | None:
    """A platform's test-mode bank account, made on its first payout as Stripe's test accounts have."""
    if ctx.livemode or platform_of(ctx.tx, ctx.scope.account) is not None:
        return None
    owner = {"id": ctx.scope.account, "default_currency": currency}
    bank = build_bank_account(owner, "btok_us_verified", "destination", ctx.now)
    bank["currency"] = currency
    bank["default_for_currency"] = True
    ctx.objects.insert(bank)
    return bank


def _destination(ctx: Ctx, currency: str, destination: str | None) -> dict[str, Any]:
    if destination is not None:
        bank = ctx.objects.get(destination, "bank_account")
        if bank is None:
            raise InvalidRequestError(
                f"No such external account: '{destination}'", code="resource_missing", param="destination"
            )
        if bank["currency"] != currency:
            raise InvalidRequestError(
                f"The currency of the external account ({bank['currency']}) does not match the "
                f"payout currency ({currency}).",
                param="currency",
            )
        return bank
    banks = ctx.objects.page("bank_account", limit=100).data
    found = [b for b in banks if b["currency"] == currency and b.get("default_for_currency")]
    if found:
        return found[0]
    bank = None if any(b["currency"] == currency for b in banks) else _platform_test_bank(ctx, currency)
    if bank is None:
        raise InvalidRequestError(
            f"Sorry, you don't have any external accounts in that currency ({currency}).",
            param="currency",
        )
    return bank


@routes.post("/v1/payouts", CREATE)
def create_payout(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return pay_out(ctx, params)


def pay_out(ctx: Ctx, params: dict[str, Any], *, automatic: bool = False) -> dict[str, Any]:
    """A payout from the ctx's balance; ``automatic`` ones come from the account's payout schedule."""
    amount, currency = int(params["amount"]), str(params["currency"])
    bank = _destination(ctx, currency, params.get("destination"))
    if amount > available(ctx, currency):
        raise InvalidRequestError(INSUFFICIENT, code="balance_insufficient", param="amount")
    method = params.get("method") or "standard"
    payout_id = ids.new_id("payout")
    transaction = record(ctx, amount=-amount, currency=currency, type="payout", source=payout_id)
    payout: dict[str, Any] = {
        "id": payout_id,
        "object": "payout",
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": ctx.now if method == "instant" else ctx.now + 2 * DAY,
        "automatic": automatic,
        "balance_transaction": transaction["id"],
        "created": ctx.now,
        "currency": currency,
        "description": params.get("description") or "STRIPE PAYOUT",
        "destination": bank["id"],
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": ctx.livemode,
        "metadata": apply_metadata({}, params.get("metadata") or {}),
        "method": method,
        "original_payout": None,
        "payout_method": None,
        "reconciliation_status": "not_applicable",
        "reversed_by": None,
        "source_type": params.get("source_type") or "card",
        "statement_descriptor": params.get("statement_descriptor"),
        "status": "pending",
        "trace_id": {"status": "pending", "value": None},
        "type": "bank_account",
        "_payout_failure": bank.get("_payout_failure"),
    }
    ctx.objects.insert(payout)
    ctx.emit("payout.created", payout)
    jobs.schedule(ctx, ADVANCE_JOB, payout_id, ctx.now + PENDING_SECONDS)
    return payout


def _give_back(ctx: Ctx, payout: dict[str, Any], kind: str) -> None:
    """A failed or canceled payout's money returns to the balance."""
    transaction = record(
        ctx, amount=payout["amount"], currency=payout["currency"], type=kind, source=payout["id"]
    )
    payout["failure_balance_transaction"] = transaction["id"]


@jobs.handler(ADVANCE_JOB)
def advance(ctx: Ctx, payout_id: str) -> None:
    """One step of a payout's journey; a payout already past it (or canceled) is left alone."""
    payout = ctx.objects.get(payout_id, "payout", for_update=True)
    if payout is None or payout["status"] not in ("pending", "in_transit"):
        return
    before = copy.deepcopy(payout)
    if payout["status"] == "pending":
        payout["status"] = "in_transit"
        ctx.objects.save(payout)
        ctx.emit("payout.updated", payout, diff(before, payout))
        jobs.schedule(ctx, ADVANCE_JOB, payout_id, ctx.now + IN_TRANSIT_SECONDS)
        return
    failure = payout.get("_payout_failure")
    if failure:
        payout["status"] = "failed"
        payout["failure_code"] = failure
        payout["failure_message"] = FAILURE_MESSAGES.get(str(failure))
        _give_back(ctx, payout, "payout_failure")
        payout["trace_id"] = {"status": "unsupported", "value": None}
        ctx.objects.save(payout)
        ctx.emit("payout.failed", payout, diff(before, payout))
        return
    payout["status"] = "paid"
    payout["reconciliation_status"] = "completed"
    payout["trace_id"] = {"status": "supported", "value": ids.random_part(15).upper()}
    ctx.objects.save(payout)
    ctx.emit("payout.paid", payout, diff(before, payout))


@routes.get("/v1/payouts/{payout}")
def retrieve_payout(ctx: Ctx, params: dict[str, Any], payout: str) -> dict[str, Any]:
    return load(ctx, "payout", payout, param="payout")


@routes.post("/v1/payouts/{payout}", UPDATE)
def update_payout(ctx: Ctx, params: dict[str, Any], payout: str) -> dict[str, Any]:
    found = load(ctx, "payout", payout, param="payout", for_update=True)
    before = copy.deepcopy(found)
    if "metadata" in params:
        found["metadata"] = apply_metadata(found["metadata"], params["metadata"])
    if found != before:
        ctx.objects.save(found)
        ctx.emit("payout.updated", found, diff(before, found))
    return found


@routes.post("/v1/payouts/{payout}/cancel")
def cancel_payout(ctx: Ctx, params: dict[str, Any], payout: str) -> dict[str, Any]:
    found = load(ctx, "payout", payout, param="payout", for_update=True)
    if found["status"] != "pending":
        raise StateConflict(
            f"Payout {payout} cannot be canceled because it has a status of {found['status']}. "
            "Only pending payouts can be canceled."
        )
    before = copy.deepcopy(found)
    found["status"] = "canceled"
    _give_back(ctx, found, "payout_cancel")
    ctx.objects.save(found)
    ctx.emit("payout.canceled", found, diff(before, found))
    return found


def _field(ctx: Ctx, name: str, number: bool = False) -> str:
    if ctx.tx.db.is_postgres:
        text = f"(CAST(data AS jsonb) ->> '{name}')"
        return f"CAST({text} AS BIGINT)" if number else text
    return f"json_extract(data, '$.{name}')"


@routes.get("/v1/payouts", LIST)
def list_payouts(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    clauses: list[str] = []
    values: dict[str, Any] = {}
    if "destination" in params:
        clauses.append(f"{_field(ctx, 'destination')} = :p_destination")
        values["p_destination"] = params["destination"]
    arrival = params.get("arrival_date")
    if arrival is not None:
        bounds = arrival if isinstance(arrival, dict) else {"eq": arrival}
        signs = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
        for op, value in bounds.items():
            clauses.append(f"{_field(ctx, 'arrival_date', number=True)} {signs[op]} :p_arrival_{op}")
            values[f"p_arrival_{op}"] = value
    where = (" AND ".join(clauses), values) if clauses else None
    return page(ctx, "payout", "/v1/payouts", params, {"status": params.get("status")}, where=where)


register("payout", expandable=("balance_transaction", "destination", "failure_balance_transaction"))
