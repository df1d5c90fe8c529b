"""Discounts: the arithmetic of a coupon on amounts, and Stripe's ``discount`` object.

For the invoice and subscription code: ``discount_lines`` (or ``discount_amount`` for one
amount) says how much a coupon takes off; ``make_discount`` records the ``discount`` a
redemption creates (``coupons.redeem`` / ``promotion_codes.redeem_promotion_code`` count it).

Discounts have no endpoint of their own; they are stored as objects so that
``expand[]=discounts`` and ``customer.discount`` can find them by id. Their shape follows the
API version: since 2025-09-30.clover the coupon is named in ``source``, before it the whole
coupon is embedded as ``coupon``.
"""

from __future__ import annotations

import calendar
import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from billfold import ids
from billfold.wire.present import register, render
from billfold.wire.versions import at_least

if TYPE_CHECKING:
    from billfold.context import Ctx

__all__ = [
    "SOURCE_SINCE",
    "add_months",
    "amount_off_in",
    "applies_to_product",
    "discount_amount",
    "discount_lines",
    "distribute",
    "make_discount",
    "percent",
]

# The release that moved a discount's coupon into ``source`` and a promotion code's into
# ``promotion`` (and stopped embedding the whole coupon in either).
SOURCE_SINCE = "2025-09-30.clover"

_HUNDRED = Decimal(100)


def percent(coupon: dict[str, Any]) -> Decimal | None:
    """The coupon's ``percent_off`` as an exact decimal (stored with at most two places)."""
    value = coupon.get("percent_off")
    if value is None:
        return None
    # ``str`` of a float is its shortest round-trip form, so 33.33 reads back as 33.33 exactly.
    return Decimal(str(value))


def amount_off_in(coupon: dict[str, Any], currency: str) -> int | None:
    """The coupon's ``amount_off`` in ``currency``, or None when it has none in that currency."""
    if coupon.get("amount_off") is None:
        return None
    currency = currency.lower()
    if coupon.get("currency") == currency:
        return int(coupon["amount_off"])
    option = (coupon.get("currency_options") or {}).get(currency)
    return int(option["amount_off"]) if option else None


def applies_to_product(coupon: dict[str, Any], product: str | None) -> bool:
    """Whether the coupon covers a line of ``product`` (every line, without ``applies_to``)."""
    products = (coupon.get("applies_to") or {}).get("products") or []
    return not products or product in products


def _percent_of(amount: int, rate: Decimal) -> int:
    # Half away from zero, per line, in minor units: 25% of 1 050 is 263, of -1 050 is -263.
    return int((Decimal(amount) * rate / _HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def discount_amount(coupon: dict[str, Any], amount: int, currency: str, product: str | None = None) -> int:
    """What ``coupon`` takes off one ``amount`` (minor units of ``currency``) for ``product``.

    A percentage is rounded half up on its own; an amount off is capped at the amount, and is
    nothing for a credit (a negative amount) or in a currency the coupon has no amount for.
    For several lines sharing one amount off, use ``discount_lines``.
    """
    if not applies_to_product(coupon, product):
        return 0
    rate = percent(coupon)
    if rate is not None:
        return _percent_of(amount, rate)
    off = amount_off_in(coupon, currency)
    if off is None or amount <= 0:
        return 0
    return min(off, amount)


def distribute(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` across ``weights`` in proportion, in whole minor units that sum to it.

    Largest remainders get the leftover units, earlier entries first on ties. Entries with a
    weight of zero or less get nothing.
    """
    positive = [max(weight, 0) for weight in weights]
    whole = sum(positive)
    if whole == 0 or total == 0:
        return [0 for _ in weights]
    shares = [total * weight // whole for weight in positive]
    remainders = [total * weight % whole for weight in positive]
    leftover = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for index in order[:leftover]:
        shares[index] += 1
    return shares


def discount_lines(
    coupon: dict[str, Any], lines: list[tuple[int, str | None]], currency: str
) -> list[int]:
    """The discount on each line of an invoice, given as ``(amount, product)`` pairs.

    A percentage applies to each covered line and is rounded per line. An amount off applies
    once to the covered lines' subtotal (capped at it), split across those lines in proportion
    to their amounts, as Stripe's ``discount_amounts`` show it.
    """
    covered = [amount if applies_to_product(coupon, product) else 0 for amount, product in lines]
    rate = percent(coupon)
    if rate is not None:
        return [_percent_of(amount, rate) for amount in covered]
    off = amount_off_in(coupon, currency)
    if off is None:
        return [0 for _ in lines]
    subtotal = sum(amount for amount in covered if amount > 0)
    return distribute(min(off, subtotal), covered)


def add_months(timestamp: int, months: int) -> int:
    """``timestamp`` plus whole calendar months (UTC), the day clamped to the month's length."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def make_discount(
    ctx: Ctx,
    coupon: dict[str, Any],
    *,
    customer: str | None = None,
    subscription: str | None = None,
    subscription_item: str | None = None,
    invoice: str | None = None,
    invoice_item: str | None = None,
    promotion_code: str | None = None,
    start: int | None = None,
) -> dict[str, Any]:
    """Record the ``discount`` that applying ``coupon`` creates, and return it (stored form).

    ``end`` is set for a repeating coupon: ``duration_in_months`` calendar months after start.
    Counting the redemption is the caller's: ``coupons.redeem`` before this.
    """
    begins = ctx.now if start is None else start
    months = coupon.get("duration_in_months")
    discount: dict[str, Any] = {
        "id": ids.new_id("discount"),
        "object": "discount",
        "checkout_session": None,
        "created": begins,  # the store orders by it; not part of Stripe's shape
        "customer": customer,
        "customer_account": None,
        "end": add_months(begins, int(months)) if coupon.get("duration") == "repeating" and months else None,
        "invoice": invoice,
        "invoice_item": invoice_item,
        "promotion_code": promotion_code,
        "source": {"coupon": coupon["id"], "type": "coupon"},
        "start": begins,
        "subscription": subscription,
        "subscription_item": subscription_item,
    }
    ctx.objects.insert(discount)
    return discount


def embedded_coupon(ctx: Ctx, coupon_id: str) -> dict[str, Any] | None:
    """A coupon as older API versions embed it: in full, and shown even once deleted."""
    coupon = ctx.objects.get(coupon_id, "coupon", include_deleted=True)
    if coupon is None:
        return None
    deleted = coupon.pop("deleted", False)
    shown = render(ctx, coupon)
    if deleted:
        shown["valid"] = False
    return shown


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    data.pop("created", None)
    if at_least(ctx.api_version, SOURCE_SINCE):
        return data
    source = data.pop("source", None) or {}
    shown: dict[str, Any] = {}
    for key, value in data.items():
        shown[key] = value
        if key == "checkout_session":
            shown["coupon"] = embedded_coupon(ctx, str(source.get("coupon")))
    return shown


register(
    "discount",
    expandable=("coupon", "customer", "promotion_code", "source"),
    render=_render,
)
