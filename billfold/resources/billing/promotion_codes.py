"""Promotion codes: ``/v1/promotion_codes``, customer-facing codes for a coupon.

A code is found by its text regardless of case (the store's ``lookup_key`` column holds it
case-folded). Two active codes may not share a text unless both are restricted to different
customers, so a code always resolves to one promotion code.

``active`` is stored and kept current when a code, or its coupon, runs out of redemptions or
its coupon is deleted; the time limits (``expires_at``, the coupon's ``redeem_by``) are applied
when the code is shown or listed, against the clock.

Since 2025-09-30.clover the coupon is named under ``promotion`` (``promotion[coupon]`` when
creating); older versions embed the whole coupon as ``coupon`` and create with ``coupon``.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.events.record import diff
from billfold.resources.base import list_params, page
from billfold.resources.billing import coupons
from billfold.resources.billing.discounts import SOURCE_SINCE, embedded_coupon
from billfold.resources.billing.promotion_restrictions import (
    RESTRICTIONS,
    check_restrictions,
    exhausted,
    restrictions,
    update_currency_options,
)
from billfold.wire.params import Bool, Dict, Int, Metadata, Spec, Str, Timestamp, apply_metadata
from billfold.wire.present import register
from billfold.wire.router import Routes
from billfold.wire.versions import at_least

__all__ = ["redeem_promotion_code", "resolve_promotion_code", "routes"]

routes = Routes("promotion_codes")

CODE_PATTERN = r"[A-Za-z0-9-]+"
_CODE_ALPHABET = string.ascii_uppercase + string.digits

CREATE: dict[str, Spec] = {
    "active": Bool(),
    "code": Str(max_length=500, pattern=CODE_PATTERN),
    "coupon": Str(max_length=5000),
    "customer": Str(max_length=5000),
    "expires_at": Timestamp(),
    "max_redemptions": Int(min=1),
    "metadata": Metadata(),
    "promotion": Dict(
        fields={"type": Str(required=True, enum=("coupon",)), "coupon": Str(max_length=5000)}
    ),
    "restrictions": RESTRICTIONS,
}
UPDATE: dict[str, Spec] = {
    "active": Bool(),
    "metadata": Metadata(),
    "restrictions": Dict(fields={"currency_options": RESTRICTIONS.fields["currency_options"]}),
}
LIST = list_params(
    active=Bool(), code=Str(max_length=5000), coupon=Str(max_length=5000), customer=Str(max_length=5000)
)


def load_promotion_code(
    ctx: Ctx, promotion_code: str, *, param: str = "id", for_update: bool = False
) -> dict[str, Any]:
    found = ctx.objects.get(promotion_code, "promotion_code", for_update=for_update)
    if found is None:
        raise ResourceMissing("promotion code", promotion_code, param=param)
    return found


def _unknown(param: str) -> InvalidRequestError:
    return InvalidRequestError(f"Received unknown parameter: {param}", param=param, code="parameter_unknown")


def _coupon_param(ctx: Ctx, params: dict[str, Any]) -> tuple[str, str]:
    """The coupon id and the parameter that named it, as the request's API version spells it."""
    if at_least(ctx.api_version, SOURCE_SINCE):
        if "coupon" in params:
            raise _unknown("coupon")
        if "promotion" not in params:
            raise InvalidRequestError(
                "Missing required param: promotion.", code="parameter_missing", param="promotion"
            )
        coupon_id = params["promotion"].get("coupon")
        if coupon_id is None:
            raise InvalidRequestError(
                "Missing required param: promotion[coupon].", code="parameter_missing",
                param="promotion[coupon]",
            )
        return coupon_id, "promotion[coupon]"
    if "promotion" in params:
        raise _unknown("promotion")
    if "coupon" not in params:
        raise InvalidRequestError("Missing required param: coupon.", code="parameter_missing", param="coupon")
    return params["coupon"], "coupon"


def _last_second(expires_at: int | None, redeem_by: int | None) -> int | None:
    # ``expires_at`` is the first moment the code no longer works; ``redeem_by`` the coupon's last.
    ends = [moment for moment in (None if expires_at is None else expires_at - 1, redeem_by) if moment is not None]
    return min(ends) if ends else None


def _redeem_by(ctx: Ctx, coupon_id: str) -> int | None:
    # A coupon's redeem_by never changes, so one look per request serves every code of it.
    key = f"coupons.redeem_by:{coupon_id}"
    if key not in ctx.memo:
        coupon = ctx.objects.get(coupon_id, "coupon", include_deleted=True) or {}
        ctx.memo[key] = coupon.get("redeem_by")
    value: int | None = ctx.memo[key]
    return value


def active_until(ctx: Ctx, promotion_code: dict[str, Any]) -> int | None:
    """The last second the code may be redeemed, by its own ``expires_at`` and its coupon's."""
    return _last_second(promotion_code.get("expires_at"), _redeem_by(ctx, promotion_code["promotion"]["coupon"]))


def is_active(ctx: Ctx, promotion_code: dict[str, Any]) -> bool:
    until = active_until(ctx, promotion_code)
    return bool(promotion_code.get("active")) and (until is None or ctx.now <= until)


def _lock_code(ctx: Ctx, folded: str) -> None:
    # Two requests creating one code at once: the second waits for the first and sees it.
    if ctx.tx.db.is_postgres:
        ctx.tx.one(
            "SELECT pg_advisory_xact_lock(hashtextextended(:k, 0)) AS locked",
            k=f"promotion_code:{ctx.scope.account}:{ctx.scope.livemode}:{folded}",
        )


def _with_code(ctx: Ctx, folded: str) -> list[dict[str, Any]]:
    # One account rarely reuses a code more than a few times; the cap only bounds a pathology.
    return ctx.objects.page("promotion_code", filters={"lookup_key": folded}, limit=100).data


def _check_unique(ctx: Ctx, code: str, customer: str | None, exclude: str | None = None) -> None:
    folded = code.casefold()
    _lock_code(ctx, folded)
    for other in _with_code(ctx, folded):
        if other["id"] == exclude or not is_active(ctx, other):
            continue
        if customer is None or other.get("customer") is None or other.get("customer") == customer:
            raise InvalidRequestError(
                f"An active promotion code with `code: {code}` already exists.",
                code="resource_already_exists", param="code",
            )


def _new_code(ctx: Ctx) -> str:
    while True:
        candidate = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        if not _with_code(ctx, candidate.casefold()):
            return candidate


def _limits(ctx: Ctx, params: dict[str, Any], coupon: dict[str, Any]) -> tuple[int | None, int | None]:
    expires_at = params.get("expires_at")
    if expires_at is not None and expires_at <= ctx.now:
        raise InvalidRequestError("Invalid expires_at: must be in the future.", param="expires_at")
    redeem_by = coupon.get("redeem_by")
    if expires_at is not None and redeem_by is not None and expires_at > redeem_by:
        raise InvalidRequestError(
            "The promotion code's expires_at cannot be later than its coupon's redeem_by "
            f"({redeem_by}).",
            param="expires_at",
        )
    limit = params.get("max_redemptions")
    coupon_limit = coupon.get("max_redemptions")
    if limit is not None and coupon_limit is not None and limit > coupon_limit:
        raise InvalidRequestError(
            "The promotion code's max_redemptions cannot be greater than its coupon's "
            f"max_redemptions ({coupon_limit}).",
            param="max_redemptions",
        )
    return expires_at, _last_second(expires_at, redeem_by)


@routes.post("/v1/promotion_codes", CREATE)
def create_promotion_code(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    coupon_id, coupon_param = _coupon_param(ctx, params)
    coupon = coupons.load_coupon(ctx, coupon_id, param=coupon_param)
    if not coupons.is_valid(ctx, coupon):
        raise coupons.expired(coupon_id, coupon_param)
    customer = params.get("customer")
    if customer is not None and ctx.objects.get(customer, "customer") is None:
        raise ResourceMissing("customer", customer, param="customer")
    expires_at, until = _limits(ctx, params, coupon)
    rules = restrictions(params.get("restrictions") or {})
    active = params.get("active", True)
    code = params.get("code") or _new_code(ctx)
    if active:
        _check_unique(ctx, code, customer)
    promotion_code: dict[str, Any] = {
        "id": ids.new_id("promotion_code"),
        "object": "promotion_code",
        "active": active,
        "code": code,
        "created": ctx.now,
        "customer": customer,
        "customer_account": None,
        "expires_at": expires_at,
        "livemode": ctx.livemode,
        "max_redemptions": params.get("max_redemptions"),
        "metadata": apply_metadata({}, params.get("metadata") or {}),
        "promotion": {"coupon": coupon_id, "type": "coupon"},
        "restrictions": rules,
        "times_redeemed": 0,
        "_lookup_key": code.casefold(),
        "_active_until": until,
    }
    ctx.objects.insert(promotion_code)
    ctx.emit("promotion_code.created", promotion_code)
    return promotion_code


@routes.get("/v1/promotion_codes/{promotion_code}")
def retrieve_promotion_code(ctx: Ctx, params: dict[str, Any], promotion_code: str) -> dict[str, Any]:
    return load_promotion_code(ctx, promotion_code)


def _reactivate(ctx: Ctx, current: dict[str, Any]) -> None:
    coupon_id = current["promotion"]["coupon"]
    coupon = ctx.objects.get(coupon_id, "coupon")
    until = active_until(ctx, current)
    if coupon is None or not coupons.is_valid(ctx, coupon) or exhausted(current) or (
        until is not None and ctx.now > until
    ):
        raise InvalidRequestError(
            "This promotion code cannot be reactivated: it has expired, reached its "
            "max_redemptions, or its coupon is no longer valid.",
            param="active",
        )
    _check_unique(ctx, current["code"], current.get("customer"), exclude=current["id"])


@routes.post("/v1/promotion_codes/{promotion_code}", UPDATE)
def update_promotion_code(ctx: Ctx, params: dict[str, Any], promotion_code: str) -> dict[str, Any]:
    current = load_promotion_code(ctx, promotion_code, for_update=True)
    before = {key: (dict(value) if isinstance(value, dict) else value) for key, value in current.items()}
    # ``previous_attributes`` compares what was shown, including the clock's part in ``active``.
    before["active"] = is_active(ctx, current)
    if "active" in params and params["active"] != before["active"]:
        if params["active"]:
            _reactivate(ctx, current)
        current["active"] = params["active"]
    if "metadata" in params:
        current["metadata"] = apply_metadata(current.get("metadata") or {}, params["metadata"])
    if "currency_options" in (params.get("restrictions") or {}):
        current["restrictions"] = update_currency_options(
            current["restrictions"], params["restrictions"]["currency_options"]
        )
    after = {**current, "active": is_active(ctx, current)}
    previous = {key: value for key, value in diff(before, after).items() if not key.startswith("_")}
    ctx.objects.save(current)
    if previous:
        ctx.emit("promotion_code.updated", current, previous)
    return current


def _where(ctx: Ctx, params: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    clauses: list[str] = []
    values: dict[str, Any] = {}
    if "coupon" in params:
        clauses.append("data LIKE :w_coupon ESCAPE '\\'")
        values["w_coupon"] = coupons.promotion_pattern(params["coupon"])
    if "active" in params:
        if ctx.tx.db.is_postgres:
            until = "CAST((data::json ->> '_active_until') AS BIGINT)"
        else:
            until = "CAST(json_extract(data, '$._active_until') AS INTEGER)"
        shown = f"(data LIKE :w_active ESCAPE '\\' AND ({until} IS NULL OR {until} >= :w_now))"
        clauses.append(shown if params["active"] else f"NOT {shown}")
        values["w_active"] = '%"active":true,%'
        values["w_now"] = ctx.now
    return (" AND ".join(clauses), values) if clauses else None


@routes.get("/v1/promotion_codes", LIST)
def list_promotion_codes(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    filters = {"customer": params.get("customer")}
    if "code" in params:
        filters["lookup_key"] = params["code"].casefold()
    return page(ctx, "promotion_code", "/v1/promotion_codes", params, filters, where=_where(ctx, params))


def resolve_promotion_code(
    ctx: Ctx,
    code_or_id: str,
    customer: str | None,
    amount: int | None,
    currency: str | None,
    *,
    param: str = "promotion_code",
) -> dict[str, Any]:
    """The promotion code a customer may redeem now, by id (``promo_...``) or by its text.

    Raises Stripe's errors for a code that is inactive, expired, used up, another customer's,
    for first-time customers only, or above the purchase (``amount`` in ``currency``; the
    minimum is not checked when the amount is not known yet). Redeeming it is a separate step:
    ``redeem_promotion_code``.
    """
    found = _find(ctx, code_or_id, customer)
    if found is None:
        raise ResourceMissing("promotion code", code_or_id, param=param)
    coupon_id = found["promotion"]["coupon"]
    coupon = ctx.objects.get(coupon_id, "coupon")
    if coupon is None or not coupons.is_valid(ctx, coupon):
        raise coupons.expired(coupon_id, param)
    check_restrictions(ctx, found, is_active(ctx, found), customer, amount, currency, param)
    return found


def _find(ctx: Ctx, code_or_id: str, customer: str | None) -> dict[str, Any] | None:
    prefix = ids.PREFIXES["promotion_code"] + "_"
    if code_or_id.startswith(prefix):
        by_id = ctx.objects.get(code_or_id, "promotion_code")
        if by_id is not None:
            return by_id
    candidates = _with_code(ctx, code_or_id.casefold())
    # The code meant for this customer, then one for anyone, then whatever matched.
    candidates.sort(
        key=lambda c: (not is_active(ctx, c), c.get("customer") != customer, c.get("customer") is not None)
    )
    return candidates[0] if candidates else None


def redeem_promotion_code(ctx: Ctx, promotion_code: str, *, param: str = "promotion_code") -> dict[str, Any]:
    """Count a redemption of the promotion code and of its coupon; return the coupon.

    The code's row is locked and its limits checked again, so concurrent redemptions of its
    last use cannot both pass. A code that has just run out becomes inactive.
    """
    current = load_promotion_code(ctx, promotion_code, param=param, for_update=True)
    if not is_active(ctx, current) or exhausted(current):
        raise InvalidRequestError("This promotion code is no longer active.", param=param)
    coupon = coupons.redeem(ctx, current["promotion"]["coupon"], param=param)
    current = load_promotion_code(ctx, promotion_code, param=param, for_update=True)
    current["times_redeemed"] = int(current.get("times_redeemed") or 0) + 1
    if exhausted(current) and current["active"]:
        current["active"] = False
        ctx.objects.save(current)
        ctx.emit("promotion_code.updated", current, {"active": True})
    else:
        ctx.objects.save(current)
    return coupon


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    data["active"] = is_active(ctx, data)
    restrictions_shown = data.get("restrictions") or {}
    if not restrictions_shown.get("currency_options"):
        # Shown when set; Stripe leaves it out unless expanded.
        restrictions_shown.pop("currency_options", None)
    if at_least(ctx.api_version, SOURCE_SINCE):
        return data
    promotion = data.get("promotion") or {}
    shown: dict[str, Any] = {}
    for key, value in data.items():
        if key == "promotion":
            continue
        shown[key] = value
        if key == "code":
            shown["coupon"] = embedded_coupon(ctx, str(promotion.get("coupon")))
    return shown


register(
    "promotion_code",
    expandable=("coupon", "customer", "promotion", "restrictions"),
    render=_render,
)
