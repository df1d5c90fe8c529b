"""Application fees: ``/v1/application_fees``, what a platform earns on its accounts' payments.

A fee is collected when its charge is captured (:func:`collect`): the paying account's payment
balance transaction carries it in ``fee_details`` (type ``application_fee``) and the platform
records an ``application_fee`` balance transaction, so money moves and nothing is created.
For a destination charge the paying payment is the ``py_`` on the connected account and the
fee's ``originating_transaction`` is the platform's charge; for a direct charge it is the
connected account's own charge. Fee refunds live in ``application_fee_refunds``.
"""

from __future__ import annotations

import copy
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import ResourceMissing
from billfold.events.record import diff
from billfold.ledger.balance_transactions import add_to_total, record
from billfold.resources.base import list_params, page
from billfold.resources.connect.scope import as_account
from billfold.wire.params import Str
from billfold.wire.present import list_object, register
from billfold.wire.router import Routes

routes = Routes("application_fees")

LIST = list_params(charge=Str(max_length=5000))
FEE_DESCRIPTION = "Application fee"


def charge_fee_to(payer: Ctx, transaction_id: str, amount: int) -> None:
    """Add the application fee to the payer's payment balance transaction, written in this
    same database transaction: Stripe shows the fee inside the payment (net = amount − fees)."""
    transaction = payer.objects.get(transaction_id, "balance_transaction", for_update=True)
    if transaction is None:
        return
    transaction["fee"] = int(transaction["fee"]) + amount
    transaction["net"] = int(transaction["net"]) - amount
    transaction["fee_details"] = [
        *transaction.get("fee_details", []),
        {"amount": amount, "application": None, "currency": transaction["currency"],
         "description": FEE_DESCRIPTION, "type": "application_fee"},
    ]
    payer.objects.save(transaction)
    payer.tx.execute(
        "UPDATE ledger_entries SET fee = fee + :fee, net = net - :fee "
        "WHERE id = :id AND account = :account AND livemode = :livemode",
        fee=amount,
        id=transaction_id,
        account=payer.scope.account,
        livemode=payer.livemode,
    )
    add_to_total(payer.tx, payer.scope.account, payer.livemode, str(transaction["currency"]), -amount)


def collect(
    platform: Ctx,
    *,
    amount: int,
    currency: str,
    payer: str,
    charge: str,
    originating_transaction: str | None,
    available_on: int,
) -> dict[str, Any]:
    """The platform's fee object and its ``application_fee`` balance transaction (+amount)."""
    fee_id = ids.new_id("application_fee")
    transaction = record(
        platform,
        amount=amount,
        currency=currency,
        type="application_fee",
        source=fee_id,
        available_on=available_on,
    )
    fee: dict[str, Any] = {
        "id": fee_id,
        "object": "application_fee",
        "account": payer,
        "amount": amount,
        "amount_refunded": 0,
        "application": None,
        "balance_transaction": transaction["id"],
        "charge": charge,
        "created": platform.now,
        "currency": currency,
        "fee_source": {"charge": charge, "type": "charge"},
        "livemode": platform.livemode,
        "originating_transaction": originating_transaction,
        "refunded": False,
    }
    platform.objects.insert(fee)
    platform.emit("application_fee.created", fee)
    return fee


def load_fee(ctx: Ctx, fee_id: str, *, param: str = "id", for_update: bool = False) -> dict[str, Any]:
    found = ctx.objects.get(fee_id, "application_fee", for_update=for_update)
    if found is None:
        raise ResourceMissing("application fee", fee_id, param=param)
    return found


def record_refund(
    platform: Ctx, fee: dict[str, Any], amount: int, metadata: dict[str, str] | None = None
) -> dict[str, Any]:
    """Give ``amount`` of the fee back to the account that paid it; the caller checked it."""
    refund_id = ids.new_id("fee_refund")
    currency = str(fee["currency"])
    transaction = record(
        platform, amount=-amount, currency=currency, type="application_fee_refund", source=refund_id
    )
    record(
        as_account(platform, str(fee["account"])),
        amount=amount,
        currency=currency,
        type="application_fee_refund",
        source=refund_id,
    )
    refund: dict[str, Any] = {
        "id": refund_id,
        "object": "fee_refund",
        "amount": amount,
        "balance_transaction": transaction["id"],
        "created": platform.now,
        "currency": currency,
        "fee": fee["id"],
        "metadata": dict(metadata or {}),
        # The indexed ``charge`` column lists a fee's refunds.
        "_charge": fee["id"],
    }
    platform.objects.insert(refund)
    before = copy.deepcopy(fee)
    fee["amount_refunded"] = int(fee["amount_refunded"]) + amount
    fee["refunded"] = fee["amount_refunded"] >= fee["amount"]
    platform.objects.save(fee)
    platform.emit("application_fee.refunded", fee, diff(before, fee))
    return refund


def refunds_of(ctx: Ctx, fee_id: str, limit: int = 10) -> dict[str, Any]:
    found = ctx.objects.page("fee_refund", filters={"charge": fee_id}, limit=limit)
    return list_object(f"/v1/application_fees/{fee_id}/refunds", found.data, found.has_more)


@routes.get("/v1/application_fees/{id}")
def retrieve_application_fee(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return load_fee(ctx, id)


@routes.get("/v1/application_fees", LIST)
def list_application_fees(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return page(ctx, "application_fee", "/v1/application_fees", params, {"charge": params.get("charge")})


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    refunds = refunds_of(ctx, data["id"])
    refunds["data"] = [{k: v for k, v in r.items() if not k.startswith("_")} for r in refunds["data"]]
    data["refunds"] = refunds
    return data


register(
    "application_fee",
    expandable=("account", "application", "balance_transaction", "charge", "originating_transaction"),
    render=_render,
)
register("fee_refund", expandable=("balance_transaction", "fee"))
