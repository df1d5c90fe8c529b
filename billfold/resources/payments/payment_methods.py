"""PaymentMethods: ``/v1/payment_methods`` and the functions other resources use to take one.

Stripe's test ids (``pm_card_visa``, ``tok_visa``, ...) work wherever a PaymentMethod id is
taken: each use stores a fresh ``pm_`` of that test card. Card PaymentMethods keep the card
number privately (``_number``) so payments can look up the card's test behaviour.
"""

from __future__ import annotations

import copy
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import CardError, InvalidRequestError, ResourceMissing, StateConflict
from billfold.events.record import diff
from billfold.resources.base import BILLING_DETAILS, LIST_PARAMS, billing_details, load, page
from billfold.resources.payments import payment_method_details as details
from billfold.resources.payments import test_cards as tc
from billfold.wire.params import Dict, Int, Metadata, Spec, Str, apply_metadata
from billfold.wire.present import list_object, register
from billfold.wire.router import Routes

routes = Routes("payment_methods")

TYPES = ("card", "ideal", "sepa_debit")
# Every type Stripe lists, so a list filter for a type Billfold cannot create finds nothing.
ALL_TYPES = (
    "acss_debit", "affirm", "afterpay_clearpay", "alipay", "amazon_pay", "au_becs_debit",
    "bacs_debit", "bancontact", "blik", "boleto", "card", "card_present", "cashapp",
    "customer_balance", "eps", "fpx", "giropay", "grabpay", "ideal", "interac_present", "klarna",
    "konbini", "link", "mobilepay", "multibanco", "oxxo", "p24", "paynow", "paypal", "pix",
    "promptpay", "revolut_pay", "sepa_debit", "sofort", "swish", "twint", "us_bank_account",
    "wechat_pay", "zip",
)
REDISPLAY = ("always", "limited", "unspecified")
REUSED = (
    "The provided PaymentMethod was previously used with a PaymentIntent without Customer "
    "attachment, shared with a connected account without Customer attachment, or was detached "
    "from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must "
    "attach it to a Customer first."
)

BILLING = Dict(fields={**BILLING_DETAILS.fields, "tax_id": Str(emptyable=True)})
_DATA_FIELDS: dict[str, Spec] = {
    "type": Str(required=True, enum=TYPES),
    "card": details.CARD,
    "sepa_debit": details.SEPA_DEBIT,
    "ideal": details.IDEAL,
    "billing_details": BILLING,
    "metadata": Metadata(),
    "allow_redisplay": Str(enum=REDISPLAY),
    "radar_options": Dict(fields={"session": Str()}),
}
PAYMENT_METHOD_DATA = Dict(fields=_DATA_FIELDS)
CREATE: dict[str, Spec] = dict(_DATA_FIELDS)
UPDATE: dict[str, Spec] = {
    "billing_details": BILLING,
    "card": Dict(fields={"exp_month": Int(), "exp_year": Int(), "networks": details.NETWORKS}),
    "metadata": Metadata(),
    "allow_redisplay": Str(enum=REDISPLAY),
}
LIST: dict[str, Spec] = {**LIST_PARAMS, "customer": Str(), "type": Str(enum=ALL_TYPES)}
CUSTOMER_LIST: dict[str, Spec] = {
    **LIST_PARAMS,
    "type": Str(enum=ALL_TYPES),
    "allow_redisplay": Str(enum=REDISPLAY),
}


def _param(prefix: str, name: str) -> str:
    return f"{prefix}[{name}]" if prefix else name


def _billing(value: dict[str, Any] | None) -> dict[str, Any]:
    return {**billing_details(value), "tax_id": (value or {}).get("tax_id")}


def _store(
    ctx: Ctx,
    kind: str,
    type_details: dict[str, Any],
    params: dict[str, Any],
    private: dict[str, Any],
) -> dict[str, Any]:
    method: dict[str, Any] = {
        "id": ids.new_id("payment_method"),
        "object": "payment_method",
        "allow_redisplay": params.get("allow_redisplay") or "unspecified",
        "billing_details": _billing(params.get("billing_details")),
        kind: type_details,
        "created": ctx.now,
        "customer": None,
        "customer_account": None,
        "livemode": ctx.livemode,
        "metadata": apply_metadata({}, params.get("metadata") or {}),
        "type": kind,
        **private,
    }
    return ctx.objects.insert(method)


def _store_card(ctx: Ctx, card: details.CardInput, params: dict[str, Any]) -> dict[str, Any]:
    if card.billing and "billing_details" not in params:
        params = {**params, "billing_details": card.billing}
    address = (params.get("billing_details") or {}).get("address")
    return _store(ctx, "card", details.card_hash(ctx, card, address), params, {"_number": card.number})


def _build(ctx: Ctx, params: dict[str, Any], prefix: str) -> dict[str, Any]:
    kind = params["type"]
    for other in TYPES:
        if other != kind and other in params:
            raise InvalidRequestError(
                f"You passed {_param(prefix, other)} but the PaymentMethod's type is {kind}. "
                f"Pass the details in {_param(prefix, kind)} instead.",
                param=_param(prefix, other),
            )
    if kind == "card":
        if "card" not in params:
            raise InvalidRequestError(
                f"Missing required param: {_param(prefix, 'card')}.",
                param=_param(prefix, "card"),
                code="parameter_missing",
            )
        return _store_card(ctx, details.card_input(ctx, params["card"], _param(prefix, "card")), params)
    if kind == "sepa_debit":
        if "sepa_debit" not in params:
            raise InvalidRequestError(
                f"Missing required param: {_param(prefix, 'sepa_debit')}.",
                param=_param(prefix, "sepa_debit"),
                code="parameter_missing",
            )
        found, iban = details.sepa_debit_hash(ctx, params["sepa_debit"], _param(prefix, "sepa_debit"))
        return _store(ctx, "sepa_debit", found, params, {"_iban": iban})
    return _store(ctx, "ideal", details.ideal_hash(params.get("ideal") or {}), params, {})


def create_from_data(ctx: Ctx, data: dict[str, Any], *, param: str) -> dict[str, Any]:
    """A new PaymentMethod from ``payment_method_data`` (parsed with ``PAYMENT_METHOD_DATA``)."""
    return _build(ctx, data, param)


def is_test_id(ref: str) -> bool:
    return ref in tc.PAYMENT_METHOD_ALIASES or ref in tc.TOKEN_ALIASES


def resolve(ctx: Ctx, ref: str, *, param: str) -> dict[str, Any]:
    """An existing ``pm_`` of this account, or a new PaymentMethod for a test id or card token."""
    if is_test_id(ref):
        return _store_card(ctx, details.alias_card(ctx, ref, param=param), {})
    if ref.startswith("tok_"):
        return _store_card(ctx, details.token_card(ctx, ref, param=param), {})
    found = ctx.objects.get(ref, "payment_method", for_update=True)
    if found is None:
        raise ResourceMissing("PaymentMethod", ref, param=param)
    return found


def test_card(payment_method: dict[str, Any]) -> tc.TestCard:
    """The card's test behaviour; PaymentMethods of other types behave as plain successes."""
    number = payment_method.get("_number")
    if payment_method.get("type") != "card" or not number:
        return tc.TestCard("", "unknown")
    return details.test_card_for_number(str(number))


def decline_error(card: tc.TestCard) -> tuple[str, str, str]:
    """The (code, decline_code, message) Stripe reports when this card is declined."""
    decline_code = card.decline_code or "generic_decline"
    message = card.message or tc.DECLINE_MESSAGES.get(decline_code, "Your card was declined.")
    return card.error_code or "card_declined", decline_code, message


def attach(ctx: Ctx, ref: str, customer_id: str, *, param: str) -> dict[str, Any]:
    """Save a PaymentMethod to a customer, as ``POST /v1/payment_methods/{id}/attach`` does."""
    method = resolve(ctx, ref, param=param)
    if ctx.objects.get(customer_id, "customer") is None:
        raise ResourceMissing("customer", customer_id, param="customer")
    if method.get("customer") == customer_id:
        return method
    if method.get("customer") is not None:
        raise StateConflict(
            "The payment method you provided has already been attached to a customer.",
            param=param,
        )
    if method.get("_detached") or method.get("_consumed"):
        raise StateConflict(REUSED, param=param, code="payment_method_unexpected_state")
    card = test_card(method)
    if card.attach_fails:
        code, decline_code, message = decline_error(card)
        error = CardError(message, code=code, decline_code=decline_code)
        error.commits_state = False  # Stripe keeps nothing of a refused attach
        raise error
    method["customer"] = customer_id
    ctx.objects.save(method)
    ctx.emit("payment_method.attached", method)
    return method


def detach(ctx: Ctx, method: dict[str, Any]) -> dict[str, Any]:
    customer_id = method.get("customer")
    if customer_id is None:
        raise StateConflict(
            "The payment method you provided is not attached to a customer so detachment is "
            "impossible.",
            code="payment_method_unexpected_state",
        )
    method["customer"] = None
    method["_detached"] = True
    ctx.objects.save(method)
    ctx.emit("payment_method.detached", method, {"customer": customer_id})
    customer = ctx.objects.get(customer_id, "customer", for_update=True)
    settings = (customer or {}).get("invoice_settings") or {}
    if customer is not None and settings.get("default_payment_method") == method["id"]:
        customer["invoice_settings"] = {**settings, "default_payment_method": None}
        ctx.objects.save(customer)
        ctx.emit("customer.updated", customer, {"invoice_settings": settings})
    return method


def for_customer(ctx: Ctx, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/customers/{customer}/payment_methods``: newest first, optionally by type and
    ``allow_redisplay`` (filtered here: a customer's payment methods are few)."""
    url = f"/v1/customers/{customer_id}/payment_methods"
    wanted = params.get("allow_redisplay")
    kinds = [params["type"]] if params.get("type") else None
    if wanted is None:
        return page(ctx, "payment_method", url, params, {"customer": customer_id}, kinds)
    limit = params.get("limit") or 10
    cursor = {k: params[k] for k in ("starting_after", "ending_before") if params.get(k)}
    backwards = "ending_before" in cursor and "starting_after" not in cursor
    found: list[dict[str, Any]] = []
    while True:
        batch = ctx.objects.page(
            "payment_method", filters={"customer": customer_id}, kinds=kinds, limit=100, **cursor
        )
        rows = batch.data[::-1] if backwards else batch.data
        for row in rows:
            if row.get("allow_redisplay") == wanted:
                found.append(row)
        if len(found) > limit or not batch.has_more or not batch.data:
            break
        edge = rows[-1]["id"]
        cursor = {"ending_before": edge} if backwards else {"starting_after": edge}
    has_more = len(found) > limit
    found = found[:limit]
    if backwards:
        found.reverse()
    return list_object(url, found, has_more)


@routes.post("/v1/payment_methods", CREATE, publishable=True)
def create_payment_method(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return _build(ctx, params, "")


@routes.get("/v1/payment_methods/{payment_method}")
def retrieve_payment_method(ctx: Ctx, params: dict[str, Any], payment_method: str) -> dict[str, Any]:
    return load(ctx, "payment_method", payment_method, param="payment_method")


def _update_card(ctx: Ctx, method: dict[str, Any], changes: dict[str, Any]) -> None:
    if method["type"] != "card":
        raise InvalidRequestError(
            f"You cannot update card details on a PaymentMethod of type {method['type']}.",
            param="card",
        )
    card = dict(method["card"])
    if "exp_month" in changes or "exp_year" in changes:
        month: int = changes["exp_month"] if "exp_month" in changes else card["exp_month"]
        year: int = changes["exp_year"] if "exp_year" in changes else card["exp_year"]
        year = details.check_expiry(ctx, month, year, "card")
        card["exp_month"], card["exp_year"] = month, year
    if "networks" in changes:
        preferred = (changes["networks"] or {}).get("preferred")
        card["networks"] = {**card["networks"], "preferred": preferred}
    method["card"] = card


@routes.post("/v1/payment_methods/{payment_method}", UPDATE)
def update_payment_method(ctx: Ctx, params: dict[str, Any], payment_method: str) -> dict[str, Any]:
    method = load(ctx, "payment_method", payment_method, param="payment_method", for_update=True)
    if method.get("customer") is None:
        raise InvalidRequestError("You must save this PaymentMethod to a customer before you update it.")
    before = copy.deepcopy(method)
    if "billing_details" in params:
        current = method["billing_details"]
        changes = params["billing_details"]
        merged = {**current, **{k: v for k, v in changes.items() if k != "address"}}
        if "address" in changes:
            address = changes["address"]
            merged["address"] = (
                {k: None for k in current["address"]}
                if address is None
                else {**current["address"], **address}
            )
        method["billing_details"] = merged
    if "card" in params:
        _update_card(ctx, method, params["card"])
    if "metadata" in params:
        method["metadata"] = apply_metadata(method.get("metadata", {}), params["metadata"])
    if "allow_redisplay" in params:
        method["allow_redisplay"] = params["allow_redisplay"]
    previous = diff(before, method)
    ctx.objects.save(method)
    if previous:
        ctx.emit("payment_method.updated", method, previous)
    return method


@routes.get("/v1/payment_methods", LIST)
def list_payment_methods(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("customer"):
        load(ctx, "customer", params["customer"], param="customer")
    kinds = [params["type"]] if params.get("type") else None
    return page(
        ctx, "payment_method", "/v1/payment_methods", params, {"customer": params.get("customer")}, kinds
    )


@routes.post("/v1/payment_methods/{payment_method}/attach", {"customer": Str(required=True)})
def attach_payment_method(ctx: Ctx, params: dict[str, Any], payment_method: str) -> dict[str, Any]:
    return attach(ctx, payment_method, params["customer"], param="payment_method")


@routes.post("/v1/payment_methods/{payment_method}/detach")
def detach_payment_method(ctx: Ctx, params: dict[str, Any], payment_method: str) -> dict[str, Any]:
    method = load(ctx, "payment_method", payment_method, param="payment_method", for_update=True)
    return detach(ctx, method)


register("payment_method", expandable=("customer",))
