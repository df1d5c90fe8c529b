"""Billing meters: ``/v1/billing/meters``, how a customer's meter events add up to usage.

A meter names the events it reads (``event_name``, unique per account), where the customer and
the value sit in their payloads, and its formula (sum, count or last). ``usage_quantity`` is
what the invoices ask for a metered price's quantity over a period.
"""

from __future__ import annotations

import copy
import hashlib
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, StateConflict
from billfold.events.record import diff
from billfold.resources.base import load, page, page_computed
from billfold.resources.billing import meter_events, usage_records
from billfold.resources.billing.catalog import no_such
from billfold.wire.params import LIST_PARAMS, Dict, Spec, Str, Timestamp
from billfold.wire.present import register
from billfold.wire.router import Routes

routes = Routes("billing_meters")

FORMULAS = ("count", "last", "sum")
WINDOWS = {"hour": 3600, "day": 86400}
# Summaries are computed per request: a bound on the windows keeps one request's work bounded.
MAX_WINDOWS = 10_000

CREATE: dict[str, Spec] = {
    "customer_mapping": Dict(
        fields={
            "event_payload_key": Str(required=True, max_length=100),
            "type": Str(required=True, enum=("by_id",)),
        }
    ),
    "default_aggregation": Dict(fields={"formula": Str(required=True, enum=FORMULAS)}, required=True),
    "display_name": Str(required=True, max_length=250),
    "event_name": Str(required=True, max_length=100),
    "event_time_window": Str(enum=("day", "hour")),
    "value_settings": Dict(fields={"event_payload_key": Str(required=True, max_length=100)}),
}
UPDATE: dict[str, Spec] = {"display_name": Str(max_length=250)}
LIST: dict[str, Spec] = {**LIST_PARAMS, "status": Str(enum=("active", "inactive"))}
SUMMARIES: dict[str, Spec] = {
    **LIST_PARAMS,
    "customer": Str(required=True),
    "end_time": Timestamp(required=True),
    "start_time": Timestamp(required=True),
    "value_grouping_window": Str(enum=("day", "hour")),
}


def _not_blank(value: str, param: str) -> str:
    if not value.strip():
        raise InvalidRequestError(f"Invalid {param}: it may not be empty.", param=param)
    return value


@routes.post("/v1/billing/meters", CREATE)
def create_meter(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    event_name = _not_blank(params["event_name"], "event_name")
    display_name = _not_blank(params["display_name"], "display_name")
    mapping = params.get("customer_mapping") or {"event_payload_key": "stripe_customer_id", "type": "by_id"}
    _not_blank(mapping["event_payload_key"], "customer_mapping[event_payload_key]")
    value_settings = params.get("value_settings") or {"event_payload_key": "value"}
    _not_blank(value_settings["event_payload_key"], "value_settings[event_payload_key]")
    existing = meter_events.meter_for(ctx, event_name)
    if existing is not None:
        raise InvalidRequestError(
            f"A meter with the event_name `{event_name}` already exists ({existing['id']}). "
            "Each meter needs its own event_name.",
            param="event_name",
            code="resource_already_exists",
        )
    meter: dict[str, Any] = {
        "id": ids.new_id("billing.meter"),
        "object": "billing.meter",
        "created": ctx.now,
        "customer_mapping": {"event_payload_key": mapping["event_payload_key"], "type": mapping["type"]},
        "default_aggregation": {"formula": params["default_aggregation"]["formula"]},
        "display_name": display_name,
        "event_name": event_name,
        "event_time_window": params.get("event_time_window"),
        "livemode": ctx.livemode,
        "status": "active",
        "status_transitions": {"deactivated_at": None},
        "updated": ctx.now,
        "value_settings": {"event_payload_key": value_settings["event_payload_key"]},
    }
    ctx.objects.insert(meter)
    ctx.emit("billing.meter.created", meter)
    return meter


@routes.get("/v1/billing/meters/{id}")
def retrieve_meter(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return load(ctx, "billing.meter", id)


@routes.post("/v1/billing/meters/{id}", UPDATE)
def update_meter(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    meter = load(ctx, "billing.meter", id, for_update=True)
    before = copy.deepcopy(meter)
    if "display_name" in params:
        meter["display_name"] = _not_blank(params["display_name"], "display_name")
    if diff(before, meter):
        meter["updated"] = ctx.now
        ctx.objects.save(meter)
        ctx.emit("billing.meter.updated", meter, diff(before, meter))
    return meter


@routes.get("/v1/billing/meters", LIST)
def list_meters(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return page(ctx, "billing.meter", "/v1/billing/meters", params, {"status": params.get("status")})


def _transition(ctx: Ctx, id: str, to: str) -> dict[str, Any]:
    meter = load(ctx, "billing.meter", id, for_update=True)
    if meter["status"] == to:
        raise StateConflict(
            f"The meter `{id}` is already {to}.",
            param="id",
        )
    before = copy.deepcopy(meter)
    meter["status"] = to
    meter["status_transitions"] = {"deactivated_at": ctx.now if to == "inactive" else None}
    meter["updated"] = ctx.now
    ctx.objects.save(meter)
    kind = "deactivated" if to == "inactive" else "reactivated"
    ctx.emit(f"billing.meter.{kind}", meter, diff(before, meter))
    return meter


@routes.post("/v1/billing/meters/{id}/deactivate")
def deactivate_meter(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return _transition(ctx, id, "inactive")


@routes.post("/v1/billing/meters/{id}/reactivate")
def reactivate_meter(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return _transition(ctx, id, "active")


def _aligned(params: dict[str, Any]) -> tuple[int, int, int | None]:
    """The summary range and window width, checked as Stripe checks them."""
    start, end = params["start_time"], params["end_time"]
    window = params.get("value_grouping_window")
    unit, label = (WINDOWS[window], f"{window} boundaries") if window else (60, "minute boundaries")
    for name, value in (("start_time", start), ("end_time", end)):
        if value % unit:
            raise InvalidRequestError(
                f"Invalid {name}: it must be aligned with {label}"
                + (" (UTC)." if window == "day" else "."),
                param=name,
            )
    if end <= start:
        raise InvalidRequestError(
            "Invalid end_time: it must be after start_time.", param="end_time"
        )
    if window and (end - start) // unit > MAX_WINDOWS:
        raise InvalidRequestError(
            f"Invalid end_time: a summary by {window} may cover at most {MAX_WINDOWS} windows; "
            "ask for a shorter range or a wider value_grouping_window.",
            param="end_time",
        )
    return start, end, WINDOWS[window] if window else None


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _summary(ctx: Ctx, meter: str, customer: str, start: int, end: int, value: Decimal) -> dict[str, Any]:
    seed = f"{ctx.scope.account}:{meter}:{customer}:{start}:{end}".encode()
    return {
        "id": f"{ids.PREFIXES['billing.meter_event_summary']}_{hashlib.sha256(seed).hexdigest()[:24]}",
        "object": "billing.meter_event_summary",
        "aggregated_value": _json_number(value),
        "end_time": end,
        "livemode": ctx.livemode,
        "meter": meter,
        "start_time": start,
    }


@routes.get("/v1/billing/meters/{id}/event_summaries", SUMMARIES)
def list_event_summaries(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    meter = load(ctx, "billing.meter", id)
    customer = params["customer"]
    if ctx.objects.get(customer, "customer") is None:
        raise no_such("customer", customer, "customer")
    start, end, width = _aligned(params)
    url = f"/v1/billing/meters/{id}/event_summaries"
    if width is None:
        value = meter_events.aggregate(ctx, meter, customer, start, end)
        return page_computed([_summary(ctx, id, customer, start, end, value)], params, url)
    starts = list(range(start, end, width))
    values = meter_events.bucketed(ctx, meter, customer, starts, width)
    # Newest window first, as Stripe's lists run.
    summaries = [
        _summary(ctx, id, customer, s, s + width, values[s]) for s in reversed(starts)
    ]
    return page_computed(summaries, params, url)


def exact_usage_quantity(
    ctx: Ctx, *, price: dict[str, Any], customer: str, subscription_item: dict[str, Any],
    period_start: int, period_end: int,
) -> Decimal:
    """The unrounded usage of a metered price over ``[period_start, period_end)``."""
    recurring = price.get("recurring") or {}
    if recurring.get("usage_type") != "metered":
        return Decimal(int(subscription_item.get("quantity") or 0))
    meter_id = recurring.get("meter")
    if meter_id:
        meter = ctx.objects.get(str(meter_id), "billing.meter")
        if meter is None:
            return Decimal(0)
        return meter_events.aggregate(ctx, meter, customer, period_start, period_end)
    return Decimal(
        usage_records.legacy_quantity(
            ctx, str(subscription_item["id"]), recurring.get("aggregate_usage") or "sum",
            period_start, period_end,
        )
    )


def usage_quantity(
    ctx: Ctx, *, price: dict[str, Any], customer: str, subscription_item: dict[str, Any],
    period_start: int, period_end: int,
) -> int:
    """The billable quantity of a metered price for a period: its meter's formula over the
    customer's events (or, for a legacy price, its ``aggregate_usage`` over the item's usage
    records), rounded half up to a whole unit and never below zero. A licensed price's quantity
    is the item's own."""
    exact = exact_usage_quantity(
        ctx, price=price, customer=customer, subscription_item=subscription_item,
        period_start=period_start, period_end=period_end,
    )
    return max(0, int(exact.to_integral_value(rounding=ROUND_HALF_UP)))


register("billing.meter")
register("billing.meter_event_summary")
