"""Coupons: ``/v1/coupons``, a percentage or an amount off, and how often it may be redeemed.

``valid`` is worked out when a coupon is shown, from the clock and ``times_redeemed``, so a
coupon stops being valid the moment its ``redeem_by`` passes. ``redeem`` is how invoices and
subscriptions count a redemption.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.events.record import diff
from billfold.resources.base import list_params, load, page
from billfold.wire.params import (
    CURRENCIES,
    Currency,
    Dict,
    Int,
    List,
    Metadata,
    Spec,
    Str,
    Timestamp,
    apply_metadata,
)
from billfold.wire.present import register
from billfold.wire.router import Routes

routes = Routes("coupons")

# Stripe refuses a ``redeem_by`` more than five years ahead.
MAX_REDEEM_AHEAD = 5 * 366 * 24 * 3600
# Custom ids travel in URL paths: letters, digits and a few marks, never a slash.
ID_PATTERN = r"[A-Za-z0-9_\-.~]+"
_ID_ALPHABET = string.ascii_uppercase + string.digits
# ctx.memo key: coupons deleted in this request, shown with ``valid: false``.
DELETED = "coupons.deleted"


@dataclass
class Percent(Spec):
    """A percentage above 0 and at most 100, with at most two decimal places."""

    required: bool = False
    emptyable: bool = False
    description: str = ""

    def parse(self, value: Any, param: str) -> Decimal:
        if not isinstance(value, str):
            raise InvalidRequestError(
                f"Invalid {param}: expected a single value, not a hash or array", param=param,
                code="parameter_invalid",
            )
        text = value.strip()
        if not re.fullmatch(r"\d+(\.\d+)?|\.\d+", text):
            raise InvalidRequestError(f"Invalid decimal: {text}", param=param, code="parameter_invalid")
        try:
            number = Decimal(text)
        except InvalidOperation as exc:
            raise InvalidRequestError(f"Invalid decimal: {text}", param=param, code="parameter_invalid") from exc
        if not (0 < number <= 100):
            raise InvalidRequestError(
                f"Invalid {param}: must be greater than 0 and less than or equal to 100.",
                param=param, code="parameter_invalid",
            )
        if number != number.quantize(Decimal("0.01")):
            raise InvalidRequestError(
                f"Invalid {param}: may have at most 2 decimal places.", param=param,
                code="parameter_invalid",
            )
        return number.quantize(Decimal("0.01"))

    def openapi(self) -> dict[str, Any]:
        return {"type": "number", "exclusiveMinimum": 0, "maximum": 100}


@dataclass
class CurrencyOptions(Spec):
    """A hash keyed by currency code (``currency_options[eur][amount_off]=500``)."""

    fields: dict[str, Spec] = field(default_factory=dict)
    required: bool = False
    emptyable: bool = False
    description: str = ""

    def parse(self, value: Any, param: str) -> dict[str, dict[str, Any]]:
        if not isinstance(value, dict):
            raise InvalidRequestError(
                f"Invalid object: {param} must be a hash", param=param, code="parameter_invalid"
            )
        options: dict[str, dict[str, Any]] = {}
        for key, item in value.items():
            currency = key.lower()
            if currency not in CURRENCIES:
                raise InvalidRequestError(
                    f"Invalid currency: {key}. Stripe currently supports these currencies: "
                    + ", ".join(sorted(CURRENCIES)),
                    param=f"{param}[{key}]", code="parameter_invalid",
                )
            options[currency] = Dict(fields=self.fields).check(item, f"{param}[{key}]")
        return options

    def openapi(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": Dict(fields=self.fields).openapi()}


COUPON_CURRENCY_OPTIONS = CurrencyOptions(fields={"amount_off": Int(required=True, min=1, max=99_999_999)})

CREATE: dict[str, Spec] = {
    "id": Str(max_length=5000, pattern=ID_PATTERN),
    "amount_off": Int(min=1, max=99_999_999),
    "applies_to": Dict(fields={"products": List(item=Str(max_length=5000))}),
    "currency": Currency(),
    "currency_options": COUPON_CURRENCY_OPTIONS,
    "duration": Str(enum=("forever", "once", "repeating")),
    "duration_in_months": Int(min=1, max=1200),
    "max_redemptions": Int(min=1),
    "metadata": Metadata(),
    "name": Str(max_length=40),
    "percent_off": Percent(),
    "redeem_by": Timestamp(),
}
UPDATE: dict[str, Spec] = {
    "currency_options": COUPON_CURRENCY_OPTIONS,
    "metadata": Metadata(),
    "name": Str(max_length=40, emptyable=True),
}


def is_valid(ctx: Ctx, coupon: dict[str, Any]) -> bool:
    """Whether the coupon may still be redeemed: before ``redeem_by``, under ``max_redemptions``."""
    if coupon.get("deleted") or coupon.get("id") in ctx.memo.get(DELETED, ()):
        return False
    redeem_by = coupon.get("redeem_by")
    if redeem_by is not None and ctx.now > redeem_by:
        return False
    limit = coupon.get("max_redemptions")
    return limit is None or int(coupon.get("times_redeemed") or 0) < limit


def load_coupon(ctx: Ctx, coupon_id: str, *, param: str = "coupon", for_update: bool = False) -> dict[str, Any]:
    return load(ctx, "coupon", coupon_id, param=param, for_update=for_update)


def expired(coupon_id: str, param: str = "coupon") -> InvalidRequestError:
    """Stripe's answer to redeeming a coupon past its ``redeem_by`` or its ``max_redemptions``."""
    return InvalidRequestError(f"Coupon expired: {coupon_id}", code="coupon_expired", param=param)


def redeem(ctx: Ctx, coupon_id: str, *, param: str = "coupon") -> dict[str, Any]:
    """Count one redemption of a coupon that is still valid; return the coupon (stored form).

    The coupon's row is locked first, so two redemptions racing for the last use of a
    ``max_redemptions`` coupon cannot both succeed.
    """
    coupon = load_coupon(ctx, coupon_id, param=param, for_update=True)
    if not is_valid(ctx, coupon):
        raise expired(coupon_id, param)
    coupon["times_redeemed"] = int(coupon.get("times_redeemed") or 0) + 1
    ctx.objects.save(coupon)
    if not is_valid(ctx, coupon):
        deactivate_promotion_codes(ctx, coupon_id)
    return coupon


def promotion_pattern(coupon_id: str) -> str:
    """A LIKE pattern (escape ``\\``) matching stored promotion codes of the coupon."""
    literal = json.dumps({"coupon": coupon_id}, separators=(",", ":"))[:-1]
    escaped = literal.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f'%"promotion":{escaped},%'


def deactivate_promotion_codes(ctx: Ctx, coupon_id: str) -> None:
    """Mark the coupon's active promotion codes inactive, once the coupon cannot be redeemed.

    Reads the account's promotion codes of this coupon; it runs when a coupon is deleted or
    used up, never on a request that only reads.
    """
    rows = ctx.tx.all(
        "SELECT data FROM objects WHERE account = :account AND livemode = :livemode "
        "AND object = 'promotion_code' AND deleted = :deleted AND data LIKE :pattern ESCAPE '\\'"
        + ctx.tx.for_update,
        account=ctx.scope.account,
        livemode=ctx.scope.livemode,
        deleted=False,
        pattern=promotion_pattern(coupon_id),
    )
    for row in rows:
        code = json.loads(row.data)
        if code.get("active"):
            code["active"] = False
            ctx.objects.save(code)
            ctx.emit("promotion_code.updated", code, {"active": True})


def _check_id(ctx: Ctx, coupon_id: str) -> None:
    # Object ids are unique across accounts and modes in the store, so a custom id is refused
    # when any account holds it, not only this one.
    taken = ctx.tx.one("SELECT 1 AS found FROM objects WHERE id = :id", id=coupon_id)
    if taken is not None:
        raise InvalidRequestError("Coupon already exists.", code="resource_already_exists", param="id")


def _new_id(ctx: Ctx) -> str:
    # Stripe's generated coupon ids are eight capitals and digits, with no prefix.
    while True:
        candidate = "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
        if ctx.tx.one("SELECT 1 AS found FROM objects WHERE id = :id", id=candidate) is None:
            return candidate


def _discount_kind(params: dict[str, Any]) -> None:
    if "amount_off" in params and "percent_off" in params:
        raise InvalidRequestError(
            "You may only specify one of these parameters: amount_off, percent_off.",
            code="parameters_exclusive", param="amount_off",
        )
    if "amount_off" not in params and "percent_off" not in params:
        raise InvalidRequestError(
            "Invalid coupon: you must provide either amount_off or percent_off.",
            code="parameter_missing", param="percent_off",
        )
    if "amount_off" in params and "currency" not in params:
        raise InvalidRequestError("Missing required param: currency.", code="parameter_missing", param="currency")
    if "currency_options" in params and "amount_off" not in params:
        raise InvalidRequestError(
            "Invalid currency_options: currency options are only supported for coupons with amount_off.",
            param="currency_options",
        )


def _duration(params: dict[str, Any]) -> tuple[str, int | None]:
    duration = params.get("duration", "once")
    months = params.get("duration_in_months")
    if duration == "repeating" and months is None:
        raise InvalidRequestError(
            "Missing required param: duration_in_months.", code="parameter_missing", param="duration_in_months"
        )
    if duration != "repeating" and months is not None:
        raise InvalidRequestError(
            "Invalid duration_in_months: it can only be set when duration is repeating.",
            param="duration_in_months",
        )
    return duration, months


def _redeem_by(ctx: Ctx, value: int | None) -> int | None:
    if value is None:
        return None
    if value <= ctx.now:
        raise InvalidRequestError("Invalid redeem_by: must be in the future.", param="redeem_by")
    if value > ctx.now + MAX_REDEEM_AHEAD:
        raise InvalidRequestError(
            "Invalid redeem_by: cannot be set to more than 5 years in the future.", param="redeem_by"
        )
    return value


def _applies_to(ctx: Ctx, value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None or "products" not in value:
        return None
    products = list(dict.fromkeys(value["products"]))
    for index, product in enumerate(value["products"]):
        if ctx.objects.get(product, "product") is None:
            raise ResourceMissing("product", product, param=f"applies_to[products][{index}]")
    return {"products": products}


def _currency_options(
    current: dict[str, Any] | None, currency: str, amount_off: int, changes: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    options = dict(current or {currency: {"amount_off": amount_off}})
    for option, values in changes.items():
        if option == currency and values["amount_off"] != amount_off:
            raise InvalidRequestError(
                f"Invalid currency_options[{option}]: the amount in the coupon's own currency is "
                "its amount_off and cannot differ from it.",
                param=f"currency_options[{option}][amount_off]",
            )
        options[option] = {"amount_off": values["amount_off"]}
    return options


@routes.post("/v1/coupons", CREATE)
def create_coupon(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if "id" in params:
        _check_id(ctx, params["id"])
    _discount_kind(params)
    duration, months = _duration(params)
    redeem_by = _redeem_by(ctx, params.get("redeem_by"))
    applies_to = _applies_to(ctx, params.get("applies_to"))
    amount_off = params.get("amount_off")
    currency = params.get("currency")
    rate: Decimal | None = params.get("percent_off")
    coupon: dict[str, Any] = {
        "id": params.get("id") or _new_id(ctx),
        "object": "coupon",
        "amount_off": amount_off,
        "applies_to": applies_to,
        "created": ctx.now,
        "currency": currency,
        "currency_options": (
            _currency_options(None, currency, amount_off, params.get("currency_options") or {})
            if amount_off is not None and currency is not None
            else None
        ),
        "duration": duration,
        "duration_in_months": months,
        "livemode": ctx.livemode,
        "max_redemptions": params.get("max_redemptions"),
        "metadata": apply_metadata({}, params.get("metadata") or {}),
        "name": params.get("name"),
        # A JSON number, as Stripe shows it; exact to the two places it was given with.
        "percent_off": float(rate) if rate is not None else None,
        "redeem_by": redeem_by,
        "times_redeemed": 0,
        "valid": True,
    }
    ctx.objects.insert(coupon)
    ctx.emit("coupon.created", coupon)
    return coupon


@routes.get("/v1/coupons/{coupon}")
def retrieve_coupon(ctx: Ctx, params: dict[str, Any], coupon: str) -> dict[str, Any]:
    return load_coupon(ctx, coupon, param="id")


@routes.post("/v1/coupons/{coupon}", UPDATE)
def update_coupon(ctx: Ctx, params: dict[str, Any], coupon: str) -> dict[str, Any]:
    current = load_coupon(ctx, coupon, param="id", for_update=True)
    before = {key: (dict(value) if isinstance(value, dict) else value) for key, value in current.items()}
    if "name" in params:
        current["name"] = params["name"]
    if "metadata" in params:
        current["metadata"] = apply_metadata(current.get("metadata") or {}, params["metadata"])
    if "currency_options" in params:
        if current.get("amount_off") is None:
            raise InvalidRequestError(
                "Invalid currency_options: currency options are only supported for coupons with amount_off.",
                param="currency_options",
            )
        current["currency_options"] = _currency_options(
            current.get("currency_options"), current["currency"], current["amount_off"], params["currency_options"]
        )
    previous = diff(before, current)
    ctx.objects.save(current)
    if previous:
        ctx.emit("coupon.updated", current, previous)
    return current


@routes.delete("/v1/coupons/{coupon}")
def delete_coupon(ctx: Ctx, params: dict[str, Any], coupon: str) -> dict[str, Any]:
    current = load_coupon(ctx, coupon, param="id", for_update=True)
    ctx.objects.save({**current, "deleted": True}, deleted=True)
    ctx.memo.setdefault(DELETED, set()).add(coupon)
    deactivate_promotion_codes(ctx, coupon)
    ctx.emit("coupon.deleted", current)
    return {"id": coupon, "object": "coupon", "deleted": True}


@routes.get("/v1/coupons", list_params())
def list_coupons(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return page(ctx, "coupon", "/v1/coupons", params)


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    data["valid"] = is_valid(ctx, data)
    # Shown only when expanded, as on Stripe.
    data.pop("applies_to", None)
    data.pop("currency_options", None)
    return data


def _stored_field(name: str) -> Any:
    def include(ctx: Ctx, node: dict[str, Any]) -> Any:
        stored = ctx.objects.get(str(node.get("id")), "coupon", include_deleted=True)
        return (stored or {}).get(name)

    return include


register(
    "coupon",
    expandable=("applies_to", "currency_options"),
    render=_render,
    includable={"applies_to": _stored_field("applies_to"), "currency_options": _stored_field("currency_options")},
)
