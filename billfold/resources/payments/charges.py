"""Charges: ``/v1/charges``, one payment attempt of a PaymentIntent.

PaymentIntents create their charges here (:func:`new_charge`), capture them (:func:`capture`)
and release them (:func:`release`); refunds read and update ``amount_refunded``/``refunded``.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.events.record import diff
from billfold.ledger.balance_transactions import card_fee, record, settlement_time
from billfold.resources.base import ADDRESS, address, list_params, load, page
from billfold.resources.payments.test_cards import TestCard
from billfold.wire.params import Amount, Dict, Metadata, Spec, Str, apply_metadata
from billfold.wire.present import register, render
from billfold.wire.router import Routes
from billfold.wire.versions import at_least

routes = Routes("charges")

# Before this version, a charge embedded its refunds (and a PaymentIntent its charges).
EMBEDDED_LISTS_UNTIL = "2022-11-15"

SHIPPING = Dict(
    fields={
        "address": Dict(fields=ADDRESS.fields, required=True),
        "carrier": Str(max_length=5000),
        "name": Str(required=True, max_length=5000),
        "phone": Str(max_length=5000),
        "tracking_number": Str(max_length=5000),
    },
    emptyable=True,
)
UPDATE: dict[str, Spec] = {
    "customer": Str(),
    "description": Str(emptyable=True, max_length=40000),
    "fraud_details": Dict(
        fields={"user_report": Str(required=True, enum=("fraudulent", "safe"), emptyable=True)}
    ),
    "metadata": Metadata(),
    "receipt_email": Str(emptyable=True, max_length=800),
    "shipping": SHIPPING,
    "transfer_group": Str(emptyable=True),
}
CAPTURE: dict[str, Spec] = {
    "amount": Amount(min=1),
    "receipt_email": Str(max_length=800),
    "statement_descriptor": Str(max_length=22),
    "statement_descriptor_suffix": Str(max_length=22),
}
LIST = list_params(customer=Str(), payment_intent=Str())

SELLER_MESSAGES = {
    "authorized": "Payment complete.",
    "blocked": "Stripe blocked this payment as too risky.",
    "generic_decline": "The bank did not return any further details with this decline.",
    "live_mode_test_card": "This charge request was in live mode, but used a known test card.",
}
# Radar's score bands: normal below 65, elevated below 75, highest from 75.
_RISK_BANDS = {"normal": (5, 60), "elevated": (65, 9), "highest": (75, 25)}


def shipping(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not value:
        return None
    return {
        "address": address(value.get("address")),
        "carrier": value.get("carrier"),
        "name": value.get("name"),
        "phone": value.get("phone"),
        "tracking_number": value.get("tracking_number"),
    }


def risk_score(level: str, seed: str) -> int:
    """A stable score inside the band Radar gives ``level``."""
    low, width = _RISK_BANDS.get(level, _RISK_BANDS["normal"])
    return low + int(hashlib.sha256(seed.encode()).hexdigest(), 16) % width


def outcome(
    card: TestCard,
    seed: str,
    *,
    kind: str = "authorized",
    reason: str | None = None,
    network_status: str = "approved_by_network",
) -> dict[str, Any]:
    if kind == "issuer_declined":
        seller_message = SELLER_MESSAGES.get(
            str(reason), f"The bank returned the decline code `{reason}`."
        )
    else:
        seller_message = SELLER_MESSAGES.get(str(reason), SELLER_MESSAGES.get(kind, ""))
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": network_status,
        "reason": reason,
        "risk_level": card.risk_level,
        "risk_score": risk_score(card.risk_level, seed),
        "seller_message": seller_message,
        "type": kind,
    }


def _card_details(
    method: dict[str, Any], amount: int | None, three_d_secure: dict[str, Any] | None
) -> dict[str, Any]:
    card = method.get("card") or {}
    networks = card.get("networks") or {}
    brand = card.get("brand")
    return {
        "amount_authorized": amount,
        "authorization_code": None,
        "brand": brand,
        "checks": copy.deepcopy(card.get("checks"))
        or {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": None},
        "country": card.get("country"),
        "exp_month": card.get("exp_month"),
        "exp_year": card.get("exp_year"),
        "extended_authorization": {"status": "disabled"},
        "fingerprint": card.get("fingerprint"),
        "funding": card.get("funding"),
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "last4": card.get("last4"),
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": networks.get("preferred") or (brand if brand != "unknown" else None),
        "network_token": {"used": False},
        "network_transaction_id": "".join(secrets.choice("0123456789") for _ in range(15))
        if amount is not None
        else None,
        "overcapture": {"maximum_amount_capturable": amount or 0, "status": "unavailable"},
        "regulated_status": card.get("regulated_status") or "unregulated",
        "three_d_secure": three_d_secure,
        "transaction_link_id": None,
        "wallet": None,
    }


def statement_descriptor(ctx: Ctx, intent: dict[str, Any]) -> str:
    """What the customer's statement shows: the account's descriptor, or its prefix and the
    payment's suffix (Stripe's ``calculated_statement_descriptor``)."""
    settings = ctx.account_settings
    full = str(settings.get("statement_descriptor") or "BILLFOLD")
    suffix = intent.get("statement_descriptor_suffix") or intent.get("statement_descriptor")
    if not suffix:
        return full[:22]
    prefix = str(settings.get("statement_descriptor_prefix") or full[:10])
    return f"{prefix}* {suffix}"[:22]


def new_charge(
    ctx: Ctx,
    intent: dict[str, Any],
    method: dict[str, Any],
    *,
    status: str,
    outcome: dict[str, Any],
    three_d_secure: dict[str, Any] | None = None,
    failure: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """A charge for ``intent`` paid with ``method``, uncaptured; the caller inserts it."""
    charge_id = ids.new_id("charge")
    succeeded = status == "succeeded"
    billing = {**method.get("billing_details", {})}
    billing.setdefault("tax_id", None)
    return {
        "id": charge_id,
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": intent.get("application_fee_amount"),
        "balance_transaction": None,
        "billing_details": billing,
        "calculated_statement_descriptor": statement_descriptor(ctx, intent),
        "captured": False,
        "created": ctx.now,
        "currency": intent["currency"],
        "customer": intent.get("customer"),
        "description": intent.get("description"),
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": failure[0] if failure else None,
        "failure_message": failure[1] if failure else None,
        "fraud_details": {},
        "livemode": ctx.livemode,
        "metadata": dict(intent.get("metadata") or {}),
        "on_behalf_of": intent.get("on_behalf_of"),
        "outcome": outcome,
        "paid": succeeded,
        "payment_intent": intent["id"],
        "payment_method": method["id"],
        "payment_method_details": {
            "card": _card_details(method, intent["amount"] if succeeded else None, three_d_secure),
            "type": "card",
        },
        "receipt_email": intent.get("receipt_email"),
        "receipt_number": None,
        "receipt_url": f"{ctx.public_url}/billfold/receipts/{charge_id}",
        "refunded": False,
        "review": None,
        "shipping": copy.deepcopy(intent.get("shipping")),
        "source": None,
        "source_transfer": None,
        "statement_descriptor": intent.get("statement_descriptor"),
        "statement_descriptor_suffix": intent.get("statement_descriptor_suffix"),
        "status": status,
        "transfer_data": None,
        "transfer_group": intent.get("transfer_group"),
    }


def capture(ctx: Ctx, charge: dict[str, Any], amount: int, card: TestCard) -> dict[str, Any]:
    """Capture ``amount`` of an authorized charge: the money enters the balance (less Stripe's
    fee) and whatever was not captured is released, which Stripe reports as refunded."""
    transaction = record(
        ctx,
        amount=amount,
        currency=charge["currency"],
        type="charge",
        source=charge["id"],
        fee=card_fee(ctx, amount, charge["currency"]),
        available_on=settlement_time(ctx, immediate=card.bypass_pending),
        description=charge.get("description"),
    )
    charge["captured"] = True
    charge["amount_captured"] = amount
    charge["amount_refunded"] = charge["amount"] - amount
    charge["balance_transaction"] = transaction["id"]
    return charge


def release(ctx: Ctx, charge: dict[str, Any]) -> dict[str, Any]:
    """An uncaptured charge whose authorization is given back (its PaymentIntent was canceled)."""
    before = copy.deepcopy(charge)
    charge["amount_refunded"] = charge["amount"]
    charge["refunded"] = True
    ctx.objects.save(charge)
    ctx.emit("charge.refunded", charge, diff(before, charge))
    return charge


@routes.get("/v1/charges/{charge}")
def retrieve_charge(ctx: Ctx, params: dict[str, Any], charge: str) -> dict[str, Any]:
    return load(ctx, "charge", charge)


@routes.get("/v1/charges", LIST)
def list_charges(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    filters = {"customer": params.get("customer"), "payment_intent": params.get("payment_intent")}
    return page(ctx, "charge", "/v1/charges", params, filters)


@routes.post("/v1/charges/{charge}", UPDATE)
def update_charge(ctx: Ctx, params: dict[str, Any], charge: str) -> dict[str, Any]:
    current = load(ctx, "charge", charge, for_update=True)
    before = copy.deepcopy(current)
    if "customer" in params:
        customer = params["customer"]
        if current.get("customer") not in (None, customer):
            raise InvalidRequestError(
                f"Charge {charge} already belongs to customer {current['customer']}; its customer "
                "cannot be changed.",
                param="customer",
            )
        load(ctx, "customer", customer, param="customer")
        current["customer"] = customer
    for name in ("description", "receipt_email", "transfer_group"):
        if name in params:
            current[name] = params[name]
    if "shipping" in params:
        current["shipping"] = shipping(params["shipping"])
    if "metadata" in params:
        current["metadata"] = apply_metadata(current.get("metadata") or {}, params["metadata"])
    if "fraud_details" in params:
        report = params["fraud_details"].get("user_report")
        details = {k: v for k, v in (current.get("fraud_details") or {}).items() if k != "user_report"}
        current["fraud_details"] = {**details, "user_report": report} if report else details
    previous = diff(before, current)
    ctx.objects.save(current)
    if previous:
        ctx.emit("charge.updated", current, previous)
    return current


@routes.post("/v1/charges/{charge}/capture", CAPTURE)
def capture_charge(ctx: Ctx, params: dict[str, Any], charge: str) -> dict[str, Any]:
    from billfold.resources.payments.payment_intents import capture_intent, load_intent

    found = load(ctx, "charge", charge)
    if found.get("captured"):
        raise InvalidRequestError(
            f"Charge {charge} has already been captured.", code="charge_already_captured"
        )
    if found.get("status") != "succeeded" or not found.get("payment_intent"):
        raise InvalidRequestError(
            f"Charge {charge} cannot be captured because it has a status of {found.get('status')}.",
            code="charge_not_capturable" if found.get("status") == "failed" else None,
        )
    intent = load_intent(ctx, str(found["payment_intent"]), for_update=True)
    capture_params = {k: v for k, v in params.items() if k != "amount"}
    if "amount" in params:
        capture_params["amount_to_capture"] = params["amount"]
    capture_intent(ctx, intent, capture_params, amount_param="amount")
    return load(ctx, "charge", charge)


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    if not at_least(ctx.api_version, EMBEDDED_LISTS_UNTIL) and "refunds" not in data:
        data["refunds"] = _refunds(ctx, data)
    return data


def _refunds(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    from billfold.resources.payments.refunds import refunds_of_charge

    embedded = refunds_of_charge(ctx, data["id"])
    embedded["data"] = [render(ctx, refund) for refund in embedded["data"]]
    return embedded


register(
    "charge",
    expandable=(
        "application", "application_fee", "balance_transaction", "customer",
        "failure_balance_transaction", "invoice", "on_behalf_of", "payment_intent", "refunds",
        "review", "source_transfer", "transfer",
    ),
    render=_render,
    includable={"refunds": _refunds},
)
