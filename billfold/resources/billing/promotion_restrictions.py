"""A promotion code's ``restrictions`` and the checks made when someone redeems it.

Kept apart from ``promotion_codes`` (the endpoints): this is the rule book that invoices,
subscriptions and checkout consult through ``promotion_codes.resolve_promotion_code``.
"""

from __future__ import annotations

from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.ledger.money import format_amount
from billfold.resources.billing.coupons import CurrencyOptions
from billfold.wire.params import Bool, Currency, Dict, Int

MINIMUM = Int(min=0, max=99_999_999)
RESTRICTIONS = Dict(
    fields={
        "currency_options": CurrencyOptions(fields={"minimum_amount": MINIMUM}),
        "first_time_transaction": Bool(),
        "minimum_amount": MINIMUM,
        "minimum_amount_currency": Currency(),
    }
)


def _options(
    current: dict[str, Any], changes: dict[str, dict[str, Any]], own_currency: str | None, param: str
) -> dict[str, Any]:
    if changes and own_currency is None:
        raise InvalidRequestError(
            "Invalid currency_options: set minimum_amount and minimum_amount_currency first; "
            "currency options give the minimum in other currencies.",
            param=param,
        )
    options = dict(current)
    for currency, values in changes.items():
        if currency == own_currency:
            raise InvalidRequestError(
                f"Invalid {param}[{currency}]: each currency must differ from "
                f"minimum_amount_currency ({own_currency}).",
                param=f"{param}[{currency}]",
            )
        if "minimum_amount" in values:
            options[currency] = {"minimum_amount": values["minimum_amount"]}
    return options


def restrictions(params: dict[str, Any]) -> dict[str, Any]:
    """The stored ``restrictions`` from a create request's ``restrictions`` hash."""
    minimum = params.get("minimum_amount")
    currency = params.get("minimum_amount_currency")
    if minimum is not None and currency is None:
        raise InvalidRequestError(
            "Missing required param: restrictions[minimum_amount_currency].",
            code="parameter_missing", param="restrictions[minimum_amount_currency]",
        )
    if currency is not None and minimum is None:
        raise InvalidRequestError(
            "Missing required param: restrictions[minimum_amount].",
            code="parameter_missing", param="restrictions[minimum_amount]",
        )
    return {
        "currency_options": _options(
            {}, params.get("currency_options") or {}, currency, "restrictions[currency_options]"
        ),
        "first_time_transaction": bool(params.get("first_time_transaction", False)),
        "minimum_amount": minimum,
        "minimum_amount_currency": currency,
    }


def update_currency_options(current: dict[str, Any], changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``restrictions`` after an update adds or changes minimums in other currencies."""
    return {
        **current,
        "currency_options": _options(
            current.get("currency_options") or {},
            changes,
            current.get("minimum_amount_currency"),
            "restrictions[currency_options]",
        ),
    }


def exhausted(promotion_code: dict[str, Any]) -> bool:
    limit = promotion_code.get("max_redemptions")
    return limit is not None and int(promotion_code.get("times_redeemed") or 0) >= limit


def minimum_in(rules: dict[str, Any], currency: str) -> int | None:
    """The smallest purchase the code accepts in ``currency``; None when it sets no minimum."""
    if rules.get("minimum_amount") is None:
        return None
    if rules.get("minimum_amount_currency") == currency:
        return int(rules["minimum_amount"])
    option = (rules.get("currency_options") or {}).get(currency)
    return None if option is None else int(option["minimum_amount"])


def has_prior_transactions(ctx: Ctx, customer: str) -> bool:
    """Whether the customer has paid before: a succeeded charge or a paid invoice."""
    for object_type, status in (("charge", "succeeded"), ("invoice", "paid")):
        found = ctx.objects.page(object_type, filters={"customer": customer, "status": status}, limit=1)
        if found.data:
            return True
    return False


def check_restrictions(
    ctx: Ctx,
    promotion_code: dict[str, Any],
    active: bool,
    customer: str | None,
    amount: int | None,
    currency: str | None,
    param: str,
) -> None:
    """Stripe's refusals for redeeming ``promotion_code``, first failing rule first."""
    code = promotion_code["code"]
    if not active:
        expires_at = promotion_code.get("expires_at")
        if promotion_code.get("active") and expires_at is not None and ctx.now >= expires_at:
            raise InvalidRequestError(f"This promotion code has expired: {code}.", param=param)
        raise InvalidRequestError(f"This promotion code is not active: {code}.", param=param)
    if exhausted(promotion_code):
        raise InvalidRequestError(
            f"This promotion code has been redeemed the maximum number of times: {code}.", param=param
        )
    restricted_to = promotion_code.get("customer")
    if restricted_to is not None and restricted_to != customer:
        raise InvalidRequestError(
            f"This promotion code cannot be redeemed by this customer: {code}.", param=param
        )
    rules = promotion_code.get("restrictions") or {}
    if rules.get("first_time_transaction"):
        if customer is not None and has_prior_transactions(ctx, customer):
            raise InvalidRequestError(
                "This promotion code cannot be redeemed because the associated customer has "
                "prior transactions.",
                param=param,
            )
    if amount is None or currency is None or rules.get("minimum_amount") is None:
        return
    currency = currency.lower()
    minimum = minimum_in(rules, currency)
    if minimum is None:
        raise InvalidRequestError(
            f"This promotion code cannot be redeemed in {currency.upper()}: its minimum amount is "
            f"set in {str(rules['minimum_amount_currency']).upper()} only.",
            param=param,
        )
    if amount < minimum:
        raise InvalidRequestError(
            "This promotion code cannot be redeemed because the amount is below its minimum of "
            f"{format_amount(minimum, currency)}.",
            param=param,
        )
