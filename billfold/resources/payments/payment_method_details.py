"""What each PaymentMethod type carries: the ``card``, ``sepa_debit`` and ``ideal`` hashes,
built from request parameters or Stripe's test ids, with Stripe's card validation errors."""

from __future__ import annotations

import datetime
import hashlib
import re
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from billfold.errors import CardError, InvalidRequestError, ResourceMissing
from billfold.resources.payments import test_cards as tc
from billfold.wire.params import Dict, Int, Str

if TYPE_CHECKING:
    from billfold.context import Ctx

NETWORKS = Dict(fields={"preferred": Str(enum=("cartes_bancaires", "mastercard", "visa"))})
# Stripe takes either raw details or a token here (an anyOf); which one is checked in code.
CARD = Dict(
    fields={
        "number": Str(),
        "exp_month": Int(),
        "exp_year": Int(),
        "cvc": Str(),
        "networks": NETWORKS,
        "token": Str(),
    }
)
IDEAL_BANKS = (
    "abn_amro", "asn_bank", "bunq", "buut", "handelsbanken", "ing", "knab", "moneyou", "n26",
    "nn", "rabobank", "regiobank", "revolut", "sns_bank", "triodos_bank", "van_lanschot", "yoursafe",
)
IDEAL_BICS = {
    "abn_amro": "ABNANL2A", "asn_bank": "ASNBNL21", "bunq": "BUNQNL2A", "buut": "BUUTNL2A",
    "handelsbanken": "HANDNL2A", "ing": "INGBNL2A", "knab": "KNABNL2H", "moneyou": "MOYONL21",
    "n26": "NTSBDEB1", "nn": "NNBANL2G", "rabobank": "RABONL2U", "regiobank": "RBRBNL21",
    "revolut": "REVOLT21", "sns_bank": "SNSBNL2A", "triodos_bank": "TRIONL2U",
    "van_lanschot": "FVLBNL22", "yoursafe": "BITSNL2A",
}
SEPA_DEBIT = Dict(fields={"iban": Str(required=True)})
IDEAL = Dict(fields={"bank": Str(enum=IDEAL_BANKS)})

# Co-branded cards: the local network comes first, as Stripe lists it.
_COBRANDED = {
    "4000002500001001": ["cartes_bancaires", "visa"],
    "5555552500001001": ["cartes_bancaires", "mastercard"],
    "4000050360000001": ["eftpos_au", "visa"],
    "5555050360000080": ["eftpos_au", "mastercard"],
}
_DISPLAY_BRANDS = {
    "amex": "american_express",
    "diners": "diners_club",
    "unionpay": "union_pay",
    "eftpos_au": "eftpos_australia",
    "unknown": "other",
}
_NO_THREE_D_SECURE = frozenset({"378282246310005"})
_BASE62 = string.digits + string.ascii_letters


@dataclass(frozen=True)
class CardInput:
    """A card as the request described it, validated."""

    number: str
    exp_month: int
    exp_year: int
    cvc_given: bool
    from_test_id: bool
    preferred_network: str | None = None
    # The name and address a card token was made with, which become the billing details.
    billing: dict[str, Any] | None = None


def fingerprint(ctx: Ctx, secret: str) -> str:
    """Stable for one card number (or IBAN) within one account, as Stripe's are."""
    digest = hashlib.sha256(f"{ctx.scope.account}:{secret}".encode()).digest()
    value = int.from_bytes(digest[:12], "big")
    chars = []
    for _ in range(16):
        value, rest = divmod(value, 62)
        chars.append(_BASE62[rest])
    return "".join(chars)


def _card_error(code: str, message: str, param: str) -> CardError:
    error = CardError(message, code=code, param=param)
    error.commits_state = False  # a rejected card number changes nothing
    return error


def _missing(param: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def _live_mode_test_card() -> CardError:
    error = CardError(
        "Your card was declined. Your request was in live mode, but used a known test card.",
        code="card_declined",
        decline_code="live_mode_test_card",
    )
    error.commits_state = False
    return error


def _check_number(ctx: Ctx, raw: str, param: str) -> str:
    number = "".join(raw.split())
    if not number.isascii() or not number.isdigit() or not 12 <= len(number) <= 19:
        raise _card_error("invalid_number", "Your card number is invalid.", param)
    if not tc.luhn_valid(number):
        raise _card_error("incorrect_number", "Your card number is incorrect.", param)
    if ctx.livemode:
        if tc.card_for_number(number) is not None:
            raise _live_mode_test_card()
        raise InvalidRequestError(
            "Sending credit card numbers directly to the Stripe API is generally unsafe. "
            "Billfold's live mode cannot process real card numbers; use test mode and Stripe's "
            "test cards.",
            param=param,
        )
    return number


def check_expiry(ctx: Ctx, month: int, year: int, prefix: str) -> int:
    today = datetime.datetime.fromtimestamp(ctx.now, datetime.UTC).date()
    if 0 <= year < 100:
        year += 2000
    if not 1 <= month <= 12:
        raise _card_error(
            "invalid_expiry_month", "Your card's expiration month is invalid.", f"{prefix}[exp_month]"
        )
    if year < today.year or year > today.year + 50:
        raise _card_error(
            "invalid_expiry_year", "Your card's expiration year is invalid.", f"{prefix}[exp_year]"
        )
    if year == today.year and month < today.month:
        raise _card_error(
            "invalid_expiry_month", "Your card's expiration month is invalid.", f"{prefix}[exp_month]"
        )
    return year


def _check_cvc(cvc: str, prefix: str) -> None:
    if not (cvc.isascii() and cvc.isdigit() and 3 <= len(cvc) <= 4):
        raise _card_error("invalid_cvc", "Your card's security code is invalid.", f"{prefix}[cvc]")


def _from_test_id(ctx: Ctx, test_id: str, kind: str, param: str) -> CardInput:
    card = tc.card_for_test_id(test_id)
    if card is None or ctx.livemode:
        raise ResourceMissing(kind, test_id, param=param)
    return CardInput(card.number, card.exp_month, card.exp_year, True, True)


def card_input(ctx: Ctx, params: dict[str, Any], prefix: str) -> CardInput:
    """Validate ``card[...]`` (raw test numbers or a token), raising Stripe's card errors."""
    preferred = (params.get("networks") or {}).get("preferred")
    token = params.get("token")
    if token is not None:
        extra = sorted(set(params) - {"token", "networks"})
        if extra:
            raise InvalidRequestError(
                f"Received unknown parameter: {prefix}[{extra[0]}]. When you provide "
                f"{prefix}[token], the card's details come from the token.",
                param=f"{prefix}[{extra[0]}]",
                code="parameter_unknown",
            )
        found = token_card(ctx, token, param=f"{prefix}[token]")
        return CardInput(
            found.number, found.exp_month, found.exp_year, found.cvc_given, found.from_test_id,
            preferred, found.billing,
        )
    if "number" not in params:
        raise _missing(f"{prefix}[number]")
    for name in ("exp_month", "exp_year"):
        if name not in params:
            raise _missing(f"{prefix}[{name}]")
    number = _check_number(ctx, params["number"], f"{prefix}[number]")
    year = check_expiry(ctx, params["exp_month"], params["exp_year"], prefix)
    if params.get("cvc") is not None:
        _check_cvc(params["cvc"], prefix)
    return CardInput(
        number, params["exp_month"], year, params.get("cvc") is not None, False, preferred
    )


def token_card(ctx: Ctx, token: str, *, param: str) -> CardInput:
    """A ``tok_visa``-style test token, or a token made by ``POST /v1/tokens`` (used once)."""
    if token in tc.TOKEN_ALIASES:
        return _from_test_id(ctx, token, "token", param)
    stored = ctx.objects.get(token, "token", for_update=True)
    if stored is None or stored.get("type") != "card":
        raise ResourceMissing("token", token, param=param)
    if stored.get("used"):
        raise InvalidRequestError(
            f"You cannot use a Stripe token more than once: {token}.",
            param=param,
            code="token_already_used",
        )
    stored["used"] = True
    ctx.objects.save(stored)
    card = stored["card"]
    return CardInput(
        stored["_number"], card["exp_month"], card["exp_year"], bool(stored.get("_cvc_given")),
        False, card["networks"]["preferred"], stored.get("_billing"),
    )


def alias_card(ctx: Ctx, test_id: str, *, param: str) -> CardInput:
    """A ``pm_card_*`` or ``tok_*`` id standing for one of Stripe's test cards."""
    kind = "token" if test_id.startswith("tok_") else "PaymentMethod"
    return _from_test_id(ctx, test_id, kind, param)


def test_card_for_number(number: str) -> tc.TestCard:
    """The test behaviour of a number; an unknown valid number is a plain success of its brand."""
    known = tc.card_for_number(number)
    if known is not None:
        return known
    return tc.TestCard(number, tc.brand_for_number(number))


def _check(supplied: bool, value: str | None, from_test_id: bool) -> str | None:
    if supplied:
        return value or "pass"
    return value if from_test_id else None


def card_hash(ctx: Ctx, card: CardInput, billing_address: dict[str, Any] | None) -> dict[str, Any]:
    behaviour = test_card_for_number(card.number)
    address = billing_address or {}
    brand = behaviour.brand
    available = _COBRANDED.get(card.number, [brand])
    display = card.preferred_network if card.preferred_network in available else brand
    return {
        "brand": brand,
        "checks": {
            "address_line1_check": _check(
                bool(address.get("line1")), behaviour.address_line1_check, card.from_test_id
            ),
            "address_postal_code_check": _check(
                bool(address.get("postal_code")), behaviour.address_zip_check, card.from_test_id
            ),
            "cvc_check": behaviour.cvc_check if card.cvc_given else None,
        },
        "country": behaviour.country,
        "display_brand": _DISPLAY_BRANDS.get(str(display), display),
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "fingerprint": fingerprint(ctx, card.number),
        "funding": behaviour.funding,
        "generated_from": None,
        "last4": card.number[-4:],
        "networks": {"available": available, "preferred": card.preferred_network},
        "three_d_secure_usage": {"supported": card.number not in _NO_THREE_D_SECURE},
        "wallet": None,
        "regulated_status": "unregulated",
    }


def _iban_valid(iban: str) -> bool:
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban):
        return False
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    return int(digits) % 97 == 1


def sepa_debit_hash(ctx: Ctx, params: dict[str, Any], prefix: str) -> tuple[dict[str, Any], str]:
    iban = "".join(params["iban"].split()).upper()
    if not _iban_valid(iban):
        raise InvalidRequestError(
            "The IBAN you provided is invalid.",
            param=f"{prefix}[iban]",
            code="invalid_bank_account_iban",
        )
    details = {
        "bank_code": iban[4:9].lstrip("0") or "0",
        "branch_code": "",
        "country": iban[:2],
        "fingerprint": fingerprint(ctx, iban),
        "generated_from": {"charge": None, "setup_attempt": None},
        "last4": iban[-4:],
    }
    return details, iban


def ideal_hash(params: dict[str, Any]) -> dict[str, Any]:
    bank = params.get("bank")
    return {"bank": bank, "bic": IDEAL_BICS.get(bank) if bank else None}
