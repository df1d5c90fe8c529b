"""Card tokens: ``/v1/tokens``, the single-use stand-in for card details that older
integrations (and ``card[token]`` on PaymentMethods) pass around."""

from __future__ import annotations

from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import CardError, InvalidRequestError
from billfold.resources.base import load
from billfold.resources.payments import payment_method_details as details
from billfold.wire.params import Dict, Spec, Str
from billfold.wire.present import register
from billfold.wire.router import Routes

routes = Routes("tokens")

_ADDRESS_FIELDS = {
    "address_city": "city",
    "address_country": "country",
    "address_line1": "line1",
    "address_line2": "line2",
    "address_state": "state",
    "address_zip": "postal_code",
}
CARD = Dict(
    fields={
        **{name: Str() for name in _ADDRESS_FIELDS},
        "currency": Str(),
        "cvc": Str(),
        "exp_month": Str(),
        "exp_year": Str(),
        "name": Str(),
        "networks": details.NETWORKS,
        "number": Str(),
    }
)
CREATE: dict[str, Spec] = {"card": CARD}
# The legacy Card object spells brands for people, not as PaymentMethods' enum.
BRAND_NAMES = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "Eftpos Australia",
    "jcb": "JCB",
    "mastercard": "MasterCard",
    "unionpay": "UnionPay",
    "visa": "Visa",
    "unknown": "Unknown",
}


def _expiry(value: str | None, name: str, message: str) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        error = CardError(message, code=f"invalid_expiry_{name}", param=f"card[exp_{name}]")
        error.commits_state = False
        raise error
    return int(text)


@routes.post("/v1/tokens", CREATE, publishable=True)
def create_token(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if "card" not in params:
        raise InvalidRequestError(
            "You must supply either a card, customer, PII data, bank account, or account legal "
            "entity to create a token. Billfold creates card tokens."
        )
    raw = params["card"]
    card_params: dict[str, Any] = {
        k: v for k, v in raw.items() if k in ("number", "cvc", "networks") and v is not None
    }
    month = _expiry(raw.get("exp_month"), "month", "Your card's expiration month is invalid.")
    year = _expiry(raw.get("exp_year"), "year", "Your card's expiration year is invalid.")
    if month is not None:
        card_params["exp_month"] = month
    if year is not None:
        card_params["exp_year"] = year
    card = details.card_input(ctx, card_params, "card")
    address = {target: raw.get(source) for source, target in _ADDRESS_FIELDS.items()}
    described = details.card_hash(ctx, card, address)
    checks = described["checks"]
    token: dict[str, Any] = {
        "id": ids.new_id("token"),
        "object": "token",
        "card": {
            "id": ids.new_id("card"),
            "object": "card",
            **{name: raw.get(name) for name in _ADDRESS_FIELDS},
            "address_line1_check": checks["address_line1_check"],
            "address_zip_check": checks["address_postal_code_check"],
            "brand": BRAND_NAMES.get(described["brand"], "Unknown"),
            "country": described["country"],
            "cvc_check": checks["cvc_check"],
            "dynamic_last4": None,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "fingerprint": described["fingerprint"],
            "funding": described["funding"],
            "last4": described["last4"],
            "metadata": {},
            "name": raw.get("name"),
            "networks": {"preferred": card.preferred_network},
            "tokenization_method": None,
            "regulated_status": described["regulated_status"],
        },
        "client_ip": None,
        "created": ctx.now,
        "livemode": ctx.livemode,
        "type": "card",
        "used": False,
        "_number": card.number,
        "_cvc_given": card.cvc_given,
        "_billing": {"name": raw.get("name"), "address": address},
    }
    return ctx.objects.insert(token)


@routes.get("/v1/tokens/{token}")
def retrieve_token(ctx: Ctx, params: dict[str, Any], token: str) -> dict[str, Any]:
    return load(ctx, "token", token, param="token")


register("token")
