"""Tax rates: ``/v1/tax_rates``, a percentage added on top of a line (exclusive) or carved out of it
(inclusive).

A rate's ``percentage`` and ``inclusive`` never change once created, so every invoice that used a
rate can be recomputed from it. Rates are archived (``active: false``), never deleted. The
arithmetic of applying rates to an amount lives here too (``taxes_for``), for invoice lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.events.record import diff
from billfold.resources.base import list_params, load, page
from billfold.resources.billing.catalog import Number, Where, no_such
from billfold.wire.params import Bool, Metadata, Spec, Str, apply_metadata
from billfold.wire.present import register
from billfold.wire.router import Routes

routes = Routes("tax_rates")

TAX_TYPES = (
    "admissions_tax", "amusement_tax", "attendance_tax", "communications_tax",
    "digital_excise_tax", "entertainment_tax", "get_fund", "gross_receipts_tax", "gst",
    "hospitality_tax", "hst", "igst", "jct", "lease_tax", "luxury_tax",
    "mass_transit_parking_tax", "nhil", "parking_tax", "pst", "qst", "resort_tax",
    "retail_delivery_fee", "rst", "sales_tax", "service_tax", "tourism_tax",
    "utility_users_tax", "vat",
)
MAX_RATES_PER_LINE = 10
_HUNDRED = Decimal(100)

_EDITABLE: dict[str, Spec] = {
    "active": Bool(),
    "country": Str(max_length=5000, pattern=r"[A-Za-z]{2}"),
    "description": Str(max_length=5000),
    "display_name": Str(max_length=50),
    "jurisdiction": Str(max_length=50),
    "metadata": Metadata(),
    "state": Str(max_length=2),
    "tax_type": Str(enum=TAX_TYPES),
}
CREATE: dict[str, Spec] = {
    **_EDITABLE,
    "display_name": Str(required=True, max_length=50),
    "inclusive": Bool(required=True),
    "percentage": Number(required=True, max_places=4),
}
UPDATE: dict[str, Spec] = dict(_EDITABLE)
LIST = list_params(active=Bool(), inclusive=Bool())


def _apply(rate: dict[str, Any], params: dict[str, Any]) -> None:
    for name in ("active", "description", "display_name", "jurisdiction", "state", "tax_type"):
        if name in params:
            rate[name] = params[name]
    if "country" in params:
        rate["country"] = params["country"].upper()
    if "metadata" in params:
        rate["metadata"] = apply_metadata(rate.get("metadata") or {}, params["metadata"])


@routes.post("/v1/tax_rates", CREATE)
def create_tax_rate(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    percentage = params["percentage"]
    if percentage > 100:
        raise InvalidRequestError(
            "Invalid percentage: must be less than or equal to 100.", param="percentage",
            code="parameter_invalid",
        )
    rate: dict[str, Any] = {
        "id": ids.new_id("tax_rate"),
        "object": "tax_rate",
        "active": True,
        "country": None,
        "created": ctx.now,
        "description": None,
        "display_name": params["display_name"],
        "effective_percentage": None,
        "flat_amount": None,
        "inclusive": params["inclusive"],
        "jurisdiction": None,
        "jurisdiction_level": None,
        "livemode": ctx.livemode,
        "metadata": {},
        "percentage": percentage,
        "rate_type": None,
        "state": None,
        "tax_type": None,
    }
    _apply(rate, params)
    ctx.objects.insert(rate)
    ctx.emit("tax_rate.created", rate)
    return rate


@routes.get("/v1/tax_rates/{tax_rate}")
def retrieve_tax_rate(ctx: Ctx, params: dict[str, Any], tax_rate: str) -> dict[str, Any]:
    return load(ctx, "tax_rate", tax_rate, param="tax_rate")


@routes.post("/v1/tax_rates/{tax_rate}", UPDATE)
def update_tax_rate(ctx: Ctx, params: dict[str, Any], tax_rate: str) -> dict[str, Any]:
    rate = load(ctx, "tax_rate", tax_rate, param="tax_rate", for_update=True)
    before = dict(rate)
    _apply(rate, params)
    previous = diff(before, rate)
    ctx.objects.save(rate)
    if previous:
        ctx.emit("tax_rate.updated", rate, previous)
    return rate


@routes.get("/v1/tax_rates", LIST)
def list_tax_rates(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    where = Where(ctx)
    if "active" in params:
        where.flag(params["active"], "active")
    if "inclusive" in params:
        where.flag(params["inclusive"], "inclusive")
    return page(ctx, "tax_rate", "/v1/tax_rates", params, where=where.build())


def resolve_rates(ctx: Ctx, rate_ids: list[str] | None, param: str) -> list[str]:
    """Check that each id names a tax rate of this account; an inactive one may not be newly used."""
    if not rate_ids:
        return []
    if len(rate_ids) > MAX_RATES_PER_LINE:
        raise InvalidRequestError(
            f"You may only specify up to {MAX_RATES_PER_LINE} tax rates.", param=param,
        )
    found: list[str] = []
    for index, rate_id in enumerate(rate_ids):
        rate = ctx.objects.get(rate_id, "tax_rate")
        if rate is None:
            raise no_such("tax rate", rate_id, f"{param}[{index}]")
        if not rate.get("active"):
            raise InvalidRequestError(
                f"Tax rate {rate_id} is inactive and cannot be applied to new objects. "
                "Use an active tax rate instead.",
                param=f"{param}[{index}]",
            )
        if rate_id not in found:
            found.append(rate_id)
    return found


@dataclass(frozen=True)
class Tax:
    """One rate's tax on one amount, in minor units."""

    rate: str
    inclusive: bool
    amount: int
    taxable_amount: int


def _rounded(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def taxes_for(amount: int, rates: list[dict[str, Any]]) -> list[Tax]:
    """The taxes the given rates put on ``amount`` (after discounts), each rounded half up.

    Exclusive rates add ``amount * percentage / 100`` on top. Inclusive rates carve their share
    out of the amount: the taxable part is ``amount / (1 + sum of inclusive percentages / 100)``.
    """
    inclusive = [r for r in rates if r.get("inclusive")]
    exclusive = [r for r in rates if not r.get("inclusive")]
    found: list[Tax] = []
    if inclusive:
        share = sum((Decimal(str(r["percentage"])) for r in inclusive), Decimal(0))
        base = Decimal(amount) * _HUNDRED / (_HUNDRED + share)
        carved = [_rounded(base * Decimal(str(r["percentage"])) / _HUNDRED) for r in inclusive]
        taxable = amount - sum(carved)
        for rate, tax in zip(inclusive, carved, strict=True):
            found.append(Tax(rate["id"], True, tax, taxable))
    for rate in exclusive:
        tax = _rounded(Decimal(amount) * Decimal(str(rate["percentage"])) / _HUNDRED)
        found.append(Tax(rate["id"], False, tax, amount))
    return found


register("tax_rate")
