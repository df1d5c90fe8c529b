"""The balance (``/v1/balance``) and its balance transactions (``/v1/balance_transactions``).

The balance is computed from the ledger at each request (sums, never a stored counter).
Balance transactions are written by the flows that move money (``billfold.ledger``); here
they are only read.
"""

from __future__ import annotations

from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.ledger.balance_transactions import balances
from billfold.resources.base import list_params, load, page
from billfold.wire.params import Currency, Str
from billfold.wire.router import Routes

routes = Routes("balance")
# Restricted keys grant balance transactions apart from the balance itself.
_transactions = Routes("balance_transactions")

# Every type Stripe's list filter accepts (stripe-python's BalanceTransactionListParams).
TYPES = tuple(
    """adjustment advance advance_funding anticipation_repayment application_fee
    application_fee_refund charge climate_order_purchase climate_order_refund
    connect_collection_transfer contribution fee_credit_funding inbound_transfer
    inbound_transfer_reversal issuing_authorization_hold issuing_authorization_release
    issuing_dispute issuing_dispute_provisional_credit issuing_dispute_provisional_credit_reversal
    issuing_transaction obligation_outbound obligation_reversal_inbound payment
    payment_failure_refund payment_network_reserve_hold payment_network_reserve_release
    payment_refund payment_reversal payment_unreconciled payout payout_cancel payout_failure
    payout_minimum_balance_hold payout_minimum_balance_release refund refund_failure
    reserve_hold reserve_release reserve_transaction reserved_funds stripe_balance_payment_debit
    stripe_balance_payment_debit_reversal stripe_fee stripe_fx_fee tax_fee tax_fund topup
    topup_reversal transfer transfer_cancel transfer_failure transfer_refund""".split()
)


def _amounts(totals: dict[str, dict[str, int]], which: str) -> list[dict[str, Any]]:
    # Every payment Billfold takes is a card payment, so all of it is the ``card`` source type.
    return [
        {"amount": amounts[which], "currency": currency, "source_types": {"card": amounts[which]}}
        for currency, amounts in totals.items()
    ]


@routes.get("/v1/balance")
def retrieve_balance(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    totals = balances(ctx.tx, ctx.scope, ctx.now)
    default_currency = str(ctx.account_settings["default_currency"])
    # Stripe lists the account's default currency even before any money has moved.
    totals.setdefault(default_currency, {"available": 0, "pending": 0})
    ordered = {default_currency: totals.pop(default_currency), **dict(sorted(totals.items()))}
    return {
        "object": "balance",
        "available": _amounts(ordered, "available"),
        "connect_reserved": [{"amount": 0, "currency": currency} for currency in ordered],
        "livemode": ctx.livemode,
        "pending": _amounts(ordered, "pending"),
    }


@_transactions.get("/v1/balance_transactions/{id}")
def retrieve_balance_transaction(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return load(ctx, "balance_transaction", id)


LIST = list_params(
    type=Str(enum=TYPES),
    source=Str(),
    currency=Currency(),
    payout=Str(),
)


@_transactions.get("/v1/balance_transactions", LIST)
def list_balance_transactions(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    payout = params.get("payout")
    if payout is not None:
        if ctx.objects.get(payout, "payout") is None:
            raise ResourceMissing("payout", payout, param="payout")
        raise InvalidRequestError(
            "Billfold does not yet record which balance transactions a payout paid out; "
            "list without `payout`.",
            param="payout",
        )
    where: tuple[str, dict[str, Any]] | None = None
    ledger = [f"{name} = :l_{name}" for name in ("source", "currency") if name in params]
    if ledger:
        # The ledger's own indexes find a source's or a currency's transactions.
        where = (
            "id IN (SELECT id FROM ledger_entries WHERE account = :l_account AND livemode = :l_livemode "
            f"AND {' AND '.join(ledger)})",
            {"l_account": ctx.scope.account, "l_livemode": ctx.livemode,
             **{f"l_{name}": params[name] for name in ("source", "currency") if name in params}},
        )
    filters = {"kind": params.get("type")}
    return page(ctx, "balance_transaction", "/v1/balance_transactions", params, filters, where=where)


routes.routes.extend(_transactions.routes)
