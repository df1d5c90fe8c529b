"""Discounts on invoices and invoice items: turning ``discounts[]`` into discount objects, and
finding the ones an invoice inherits from its customer or subscription.

A ``discounts[i]`` entry names exactly one of ``coupon`` (redeemed now, a new discount),
``promotion_code`` (checked and redeemed, a new discount) or ``discount`` (an existing discount
of the customer or subscription, reused). The discount arithmetic is ``discounts.py``'s.
"""

from __future__ import annotations

from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.resources.billing import coupons, discounts, promotion_codes
from billfold.resources.billing.catalog import no_such

__all__ = ["coupon_of", "inherited", "is_current", "redeem_all"]


def _one_kind(entry: dict[str, Any], param: str) -> str:
    given = [name for name in ("coupon", "discount", "promotion_code") if entry.get(name)]
    if len(given) != 1:
        raise InvalidRequestError(
            "You must specify exactly one of coupon, discount or promotion_code in each entry "
            f"of {param.rsplit('[', 1)[0]}.",
            param=param,
        )
    return given[0]


def _existing(ctx: Ctx, discount_id: str, customer: str, subscription: str | None, param: str) -> str:
    found = ctx.objects.get(discount_id, "discount")
    owners = {customer, subscription} - {None}
    if found is None or not ({found.get("customer"), found.get("subscription")} & owners):
        raise no_such("discount", discount_id, param)
    return discount_id


def redeem_all(
    ctx: Ctx,
    entries: list[dict[str, Any]] | None,
    *,
    param: str,
    customer: str,
    subscription: str | None = None,
    invoice: str | None = None,
    invoice_item: str | None = None,
    keep: list[str] | None = None,
) -> list[str]:
    """The discount ids ``entries`` ask for, redeeming coupons and promotion codes as needed.

    ``keep`` holds the ids already applied: naming one of them again reuses it (no second
    redemption), as Stripe does when an update repeats the current discounts.
    """
    found: list[str] = []
    kept = list(keep or [])
    seen_coupons: set[str] = set()
    for index, entry in enumerate(entries or []):
        at = f"{param}[{index}]"
        kind = _one_kind(entry, at)
        if kind == "discount":
            discount_id = _existing(ctx, entry["discount"], customer, subscription, f"{at}[discount]")
        else:
            if kind == "coupon":
                coupon_id = entry["coupon"]
                reuse = _kept_for(ctx, kept, coupon_id=coupon_id)
            else:
                promotion = promotion_codes.resolve_promotion_code(
                    ctx, entry["promotion_code"], customer, None, None, param=f"{at}[promotion_code]"
                )
                coupon_id = str(promotion["promotion"]["coupon"])
                reuse = _kept_for(ctx, kept, promotion_code=promotion["id"])
            if coupon_id in seen_coupons:
                raise InvalidRequestError(
                    f"The coupon {coupon_id} is already applied; each coupon may be used once.",
                    param=at,
                )
            seen_coupons.add(coupon_id)
            if reuse is not None:
                discount_id = reuse
            elif kind == "coupon":
                if ctx.objects.get(coupon_id, "coupon") is None:
                    raise no_such("coupon", coupon_id, f"{at}[coupon]")
                coupon = coupons.redeem(ctx, coupon_id, param=f"{at}[coupon]")
                discount_id = discounts.make_discount(
                    ctx, coupon, customer=customer, subscription=subscription, invoice=invoice,
                    invoice_item=invoice_item,
                )["id"]
            else:
                coupon = promotion_codes.redeem_promotion_code(
                    ctx, promotion["id"], param=f"{at}[promotion_code]"
                )
                discount_id = discounts.make_discount(
                    ctx, coupon, customer=customer, subscription=subscription, invoice=invoice,
                    invoice_item=invoice_item, promotion_code=promotion["id"],
                )["id"]
        if discount_id in found:
            raise InvalidRequestError(f"The discount {discount_id} is listed twice.", param=at)
        found.append(discount_id)
    return found


def _kept_for(
    ctx: Ctx, kept: list[str], *, coupon_id: str | None = None, promotion_code: str | None = None
) -> str | None:
    for discount_id in kept:
        discount = ctx.objects.get(discount_id, "discount") or {}
        if promotion_code is not None and discount.get("promotion_code") == promotion_code:
            return discount_id
        if coupon_id is not None and not discount.get("promotion_code") and coupon_of_discount(discount) == coupon_id:
            return discount_id
    return None


def coupon_of_discount(discount: dict[str, Any]) -> str | None:
    source = discount.get("source") or {}
    coupon = source.get("coupon") or discount.get("coupon")
    if isinstance(coupon, dict):
        return str(coupon.get("id"))
    return str(coupon) if coupon else None


def coupon_of(ctx: Ctx, discount_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A discount and its coupon (shown even once deleted: a discount outlives its coupon)."""
    discount = ctx.objects.get(discount_id, "discount", include_deleted=True)
    if discount is None:
        return None
    coupon_id = coupon_of_discount(discount)
    coupon = ctx.objects.get(coupon_id, "coupon", include_deleted=True) if coupon_id else None
    if coupon is None:
        return None
    return discount, coupon


def is_current(discount: dict[str, Any], at: int) -> bool:
    """Whether a discount still applies at ``at`` (a repeating coupon's discount ends)."""
    end = discount.get("end")
    return end is None or at < int(end)


def _discount_id(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("id")) if value.get("id") else None
    return str(value) if value else None


def _used_once(ctx: Ctx, customer: str, discount_id: str) -> bool:
    """Whether the customer's discount is of a ``once`` coupon that an invoice already took."""
    pair = coupon_of(ctx, discount_id)
    if pair is None or pair[1].get("duration") != "once":
        return False
    since = int(pair[0].get("start") or 0)
    after: str | None = None
    while True:
        found = ctx.objects.page(
            "invoice", filters={"customer": customer}, created={"gte": since}, limit=100, starting_after=after
        )
        if any(discount_id in (invoice.get("discounts") or []) for invoice in found.data):
            return True
        if not found.has_more or not found.data:
            return False
        after = found.data[-1]["id"]


def inherited(ctx: Ctx, customer: dict[str, Any], subscription: dict[str, Any] | None) -> list[str]:
    """The discounts a new invoice takes when none are given: the invoice's subscription's, else
    the customer's, as Stripe ranks them. Only those still running count: a repeating coupon's
    until its ``end``, a ``once`` coupon's on the first invoice that takes it."""
    found: list[str] = []
    if subscription is not None:
        for value in subscription.get("discounts") or []:
            discount_id = _discount_id(value)
            if discount_id:
                found.append(discount_id)
        if not found and subscription.get("discount"):
            discount_id = _discount_id(subscription["discount"])
            if discount_id:
                found.append(discount_id)
    if not found:
        discount_id = _discount_id(customer.get("discount"))
        if discount_id and not _used_once(ctx, customer["id"], discount_id):
            found.append(discount_id)
    current = []
    for discount_id in found:
        discount = ctx.objects.get(discount_id, "discount")
        if discount is not None and is_current(discount, ctx.now):
            current.append(discount_id)
    return current
