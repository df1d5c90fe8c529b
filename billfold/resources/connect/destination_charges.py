"""Destination and direct charges: the Connect side of a PaymentIntent's payment.

A PaymentIntent with ``transfer_data[destination]`` pays a connected account when its charge
is captured (:func:`settle`): the platform transfers the captured amount (or
``transfer_data[amount]``) with the charge as ``source_transaction``, then takes its
``application_fee_amount`` back from the transfer's ``py_`` payment — Stripe's flow of funds
(the seller of a 100.00 charge with a 12.30 fee nets 87.70, the platform pays the card fee).
A direct charge (made with ``Stripe-Account``) pays its fee from the connected account's own
charge. Refunds undo both proportionally (:func:`undo_for_refund`).
"""

from __future__ import annotations

from typing import Any

from billfold.accounts import platform_of
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.ledger.money import format_amount
from billfold.resources.connect import application_fees as fees
from billfold.resources.connect.scope import as_account
from billfold.resources.connect.transfers import check_destination, create_transfer
from billfold.wire.params import Dict, Int, Spec, Str

TRANSFER_DATA = Dict(
    fields={"amount": Int(min=1), "destination": Str(required=True, max_length=5000)}
)
PARAMS: dict[str, Spec] = {
    "on_behalf_of": Str(max_length=5000),
    "transfer_data": TRANSFER_DATA,
}
FEE_NEEDS_CONNECT = (
    "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct "
    "payment (using an OAuth key or Stripe-Account header) or destination payment (using "
    "`transfer_data[destination]`)."
)


def _platform(ctx: Ctx) -> str | None:
    """The platform of the account the request acts as (None for a platform itself)."""
    return platform_of(ctx.tx, ctx.scope.account)


def apply(ctx: Ctx, intent: dict[str, Any], params: dict[str, Any]) -> None:
    """Apply and check ``transfer_data``, ``on_behalf_of`` and the fee against the amount."""
    if "transfer_data" in params:
        given = params["transfer_data"]
        destination = check_destination(ctx, given["destination"], param="transfer_data[destination]")
        data: dict[str, Any] = {"destination": destination["id"]}
        if given.get("amount") is not None:
            data["amount"] = given["amount"]
        intent["transfer_data"] = data
    if params.get("on_behalf_of"):
        account = ctx.objects.get(params["on_behalf_of"], "account")
        if account is None:
            raise InvalidRequestError(
                f"No such account: '{params['on_behalf_of']}'",
                code="resource_missing",
                param="on_behalf_of",
            )
        intent["on_behalf_of"] = account["id"]
    check(ctx, intent)


def check(ctx: Ctx, intent: dict[str, Any], amount: int | None = None, fee_param: str = "application_fee_amount") -> None:
    """Stripe's rules for fees and transfer amounts, against ``amount`` (default: the intent's)."""
    limit = int(intent["amount"] if amount is None else amount)
    currency = str(intent["currency"])
    data = intent.get("transfer_data") or {}
    fee = intent.get("application_fee_amount")
    if data.get("amount") is not None and data["amount"] > limit:
        raise InvalidRequestError(
            f"The transfer_data[amount] ({format_amount(data['amount'], currency)}) must be less "
            f"than or equal to the amount ({format_amount(limit, currency)}).",
            param="transfer_data[amount]",
        )
    if not fee:
        return
    if not data and _platform(ctx) is None:
        raise InvalidRequestError(FEE_NEEDS_CONNECT, param=fee_param)
    if data.get("amount") is not None:
        raise InvalidRequestError(
            "You may not specify both application_fee_amount and transfer_data[amount]: the "
            "platform keeps the amount less transfer_data[amount].",
            param=fee_param,
        )
    if fee > limit:
        raise InvalidRequestError(
            f"The application_fee_amount ({format_amount(fee, currency)}) must be less than or "
            f"equal to the amount ({format_amount(limit, currency)}).",
            param=fee_param,
        )


def describe(intent: dict[str, Any], charge: dict[str, Any]) -> None:
    """A new charge of the intent shows where its money is going."""
    data = intent.get("transfer_data")
    if data:
        charge["transfer_data"] = {"amount": data.get("amount"), "destination": data["destination"]}
        charge["transfer_group"] = intent.get("transfer_group")
    charge["on_behalf_of"] = intent.get("on_behalf_of")


def settle(ctx: Ctx, intent: dict[str, Any], charge: dict[str, Any]) -> None:
    """At capture: the automatic transfer and the application fee, before the charge is saved."""
    captured = int(charge["amount_captured"])
    check(ctx, intent, captured)
    describe(intent, charge)
    fee = int(intent.get("application_fee_amount") or 0)
    data = intent.get("transfer_data")
    if data:
        _destination(ctx, intent, charge, data, fee, captured)
    elif fee:
        _direct(ctx, charge, fee)


def _destination(
    ctx: Ctx, intent: dict[str, Any], charge: dict[str, Any], data: dict[str, Any], fee: int, captured: int
) -> None:
    amount = min(int(data.get("amount") or captured), captured)
    transfer = create_transfer(
        ctx,
        amount=amount,
        currency=str(charge["currency"]),
        destination=str(data["destination"]),
        source_transaction=str(charge["id"]),
        transfer_group=intent.get("transfer_group"),
    )
    charge["transfer"] = transfer["id"]
    if not fee:
        return
    seller = as_account(ctx, str(data["destination"]))
    payment = seller.objects.get(str(transfer["destination_payment"]), "charge", for_update=True)
    if payment is None:
        return
    fees.charge_fee_to(seller, str(payment["balance_transaction"]), fee)
    collected = fees.collect(
        ctx,
        amount=fee,
        currency=str(charge["currency"]),
        payer=str(data["destination"]),
        charge=str(payment["id"]),
        originating_transaction=str(charge["id"]),
        available_on=int(transfer.get("_available_on") or ctx.now),
    )
    payment["application_fee"] = collected["id"]
    payment["application_fee_amount"] = fee
    seller.objects.save(payment)
    charge["application_fee"] = collected["id"]
    charge["application_fee_amount"] = fee


def _direct(ctx: Ctx, charge: dict[str, Any], fee: int) -> None:
    """A direct charge's fee: from the connected account's charge to its platform."""
    platform = _platform(ctx)
    if platform is None:
        return
    transaction = ctx.objects.get(str(charge["balance_transaction"]), "balance_transaction")
    fees.charge_fee_to(ctx, str(charge["balance_transaction"]), fee)
    collected = fees.collect(
        as_account(ctx, platform),
        amount=fee,
        currency=str(charge["currency"]),
        payer=ctx.scope.account,
        charge=str(charge["id"]),
        originating_transaction=None,
        available_on=int((transaction or {}).get("available_on") or ctx.now),
    )
    charge["application_fee"] = collected["id"]
    charge["application_fee_amount"] = fee


def _share(total: int, part: int, whole: int) -> int:
    """``total × part / whole`` rounded half up, in integers."""
    return (total * part * 2 + whole) // (whole * 2) if whole else 0


def undo_for_refund(
    ctx: Ctx, charge: dict[str, Any], amount: int, params: dict[str, Any], refund_id: str
) -> dict[str, Any]:
    """``reverse_transfer`` and ``refund_application_fee`` for a refund of ``amount``, in
    proportion to the charge (all that is left once the charge is fully refunded). Returns the
    refund's ``transfer_reversal`` (or None). Called after the charge's ``amount_refunded``
    counts this refund."""
    whole = int(charge["amount"])
    finished = int(charge["amount_refunded"]) >= whole
    result: dict[str, Any] = {"transfer_reversal": None}
    if params.get("reverse_transfer") and charge.get("transfer"):
        from billfold.resources.connect.transfer_reversals import create_reversal

        transfer = ctx.objects.get(str(charge["transfer"]), "transfer", for_update=True)
        if transfer is not None:
            left = int(transfer["amount"]) - int(transfer["amount_reversed"])
            share = left if finished else min(left, _share(int(transfer["amount"]), amount, whole))
            if share > 0:
                reversal = create_reversal(ctx, transfer, share, check_destination_balance=False)
                reversal["source_refund"] = refund_id
                ctx.objects.save(reversal)
                result["transfer_reversal"] = reversal["id"]
    if params.get("refund_application_fee") and charge.get("application_fee"):
        platform_id = _platform(ctx)
        platform = as_account(ctx, platform_id) if platform_id else ctx
        fee = platform.objects.get(str(charge["application_fee"]), "application_fee", for_update=True)
        if fee is not None:
            left = int(fee["amount"]) - int(fee["amount_refunded"])
            share = left if finished else min(left, _share(int(fee["amount"]), amount, whole))
            if share > 0:
                fees.record_refund(platform, fee, share)
    return result
