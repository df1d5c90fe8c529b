"""PaymentIntents' parameters, declared once, and the amount limits Stripe enforces."""

from __future__ import annotations

from typing import Any

from billfold.errors import InvalidRequestError
from billfold.ledger.money import format_amount
from billfold.resources.connect import destination_charges
from billfold.resources.payments import charges
from billfold.resources.payments import payment_methods as pms
from billfold.wire.params import AnyOf, Bool, Currency, Dict, Int, List, Metadata, Spec, Str

SUPPORTED_TYPES = ("card", "ideal", "sepa_debit")
# Stripe's minimum charge amounts, in minor units; other currencies need at least one unit.
MINIMUMS = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50, "czk": 1500,
    "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50, "jpy": 50, "mxn": 1000,
    "myr": 200, "nok": 300, "nzd": 50, "pln": 200, "ron": 200, "sek": 300, "sgd": 50, "thb": 1000,
}
MAXIMUM = 99_999_999

CARD_OPTIONS = Dict(
    fields={
        "capture_method": Str(enum=("manual",), emptyable=True),
        "network": Str(
            enum=(
                "amex", "cartes_bancaires", "diners", "discover", "eftpos_au", "girocard",
                "interac", "jcb", "link", "mastercard", "unionpay", "unknown", "visa",
            )
        ),
        "request_three_d_secure": Str(enum=("any", "automatic", "challenge")),
        "setup_future_usage": Str(enum=("none", "off_session", "on_session"), emptyable=True),
    },
    emptyable=True,
)
PAYMENT_METHOD_OPTIONS = Dict(fields={"card": CARD_OPTIONS}, emptyable=True)
OFF_SESSION = AnyOf(options=(Bool(), Str(enum=("one_off", "recurring"))))
CAPTURE_METHOD = Str(enum=("automatic", "automatic_async", "manual"))
FUTURE_USAGE = Str(enum=("off_session", "on_session"), emptyable=True)
_SHARED: dict[str, Spec] = {
    "application_fee_amount": Int(min=0, emptyable=True),
    "capture_method": CAPTURE_METHOD,
    "customer": Str(max_length=5000),
    "description": Str(max_length=1000, emptyable=True),
    "metadata": Metadata(),
    "payment_method": Str(max_length=5000),
    "payment_method_data": pms.PAYMENT_METHOD_DATA,
    "payment_method_options": PAYMENT_METHOD_OPTIONS,
    "payment_method_types": List(item=Str(max_length=5000)),
    "receipt_email": Str(max_length=800, emptyable=True),
    "setup_future_usage": FUTURE_USAGE,
    "shipping": charges.SHIPPING,
    "statement_descriptor": Str(max_length=22, emptyable=True),
    "statement_descriptor_suffix": Str(max_length=22, emptyable=True),
    "transfer_group": Str(max_length=5000),
    **destination_charges.PARAMS,
}
CREATE: dict[str, Spec] = {
    **_SHARED,
    "amount": Int(required=True, min=0, max=None),
    "currency": Currency(required=True),
    "automatic_payment_methods": Dict(
        fields={"allow_redirects": Str(enum=("always", "never")), "enabled": Bool(required=True)}
    ),
    "confirm": Bool(),
    "confirmation_method": Str(enum=("automatic", "manual")),
    "error_on_requires_action": Bool(),
    "off_session": OFF_SESSION,
    "radar_options": Dict(fields={"session": Str()}),
    "return_url": Str(max_length=5000),
    "use_stripe_sdk": Bool(),
}
UPDATE: dict[str, Spec] = {
    **_SHARED,
    "amount": Int(min=0, max=None),
    "currency": Currency(),
}
CONFIRM: dict[str, Spec] = {
    "capture_method": CAPTURE_METHOD,
    "client_secret": Str(max_length=5000),
    "error_on_requires_action": Bool(),
    "off_session": OFF_SESSION,
    "payment_method": Str(max_length=5000),
    "payment_method_data": pms.PAYMENT_METHOD_DATA,
    "payment_method_options": PAYMENT_METHOD_OPTIONS,
    "payment_method_types": List(item=Str(max_length=5000)),
    "radar_options": Dict(fields={"session": Str()}),
    "receipt_email": Str(max_length=800, emptyable=True),
    "return_url": Str(max_length=5000),
    "setup_future_usage": FUTURE_USAGE,
    "shipping": charges.SHIPPING,
    "use_stripe_sdk": Bool(),
}
CAPTURE: dict[str, Spec] = {
    "amount_to_capture": Int(min=0, max=None),
    "application_fee_amount": Int(min=0),
    "final_capture": Bool(),
    "metadata": Metadata(),
    "statement_descriptor": Str(max_length=22),
    "statement_descriptor_suffix": Str(max_length=22),
}
CANCEL: dict[str, Spec] = {
    "cancellation_reason": Str(enum=("abandoned", "duplicate", "fraudulent", "requested_by_customer"))
}
CONFIRM_ONLY = ("error_on_requires_action", "off_session", "return_url")


def _shown(amount: int, currency: str) -> str:
    """``$999,999.99`` or ``2.00 aed``: Stripe's way of writing an amount limit."""
    text = format_amount(amount, currency)
    suffix = f" {currency.upper()}"
    return text[: -len(suffix)] if text.endswith(suffix) else text


def check_amount(amount: int, currency: str, param: str = "amount") -> None:
    minimum = MINIMUMS.get(currency, 1)
    if amount < minimum:
        raise InvalidRequestError(
            f"Amount must be at least {_shown(minimum, currency)} {currency}",
            param=param,
            code="amount_too_small",
        )
    if amount > MAXIMUM:
        raise InvalidRequestError(
            f"Amount must be no more than {_shown(MAXIMUM, currency)}",
            param=param,
            code="amount_too_large",
        )


def only_one(params: dict[str, Any], *names: str) -> None:
    if sum(1 for name in names if name in params) > 1:
        raise InvalidRequestError(
            f"You may only specify one of these parameters: {', '.join(names)}.", param=names[-1]
        )


def payment_method_types(value: list[str]) -> list[str]:
    for index, kind in enumerate(value):
        if kind not in SUPPORTED_TYPES:
            raise InvalidRequestError(
                f'The payment method type "{kind}" is invalid. Billfold\'s PaymentIntents accept '
                f"these payment method types: {', '.join(SUPPORTED_TYPES)}.",
                param=f"payment_method_types[{index}]",
                code="payment_intent_invalid_parameter",
            )
    return list(dict.fromkeys(value)) or ["card"]
