"""Meter events: ``/v1/billing/meter_events`` and ``/v1/billing/meter_event_adjustments``.

Each event is a row of ``meter_events`` (not a document: nothing retrieves one by id), carrying
the customer and the exact value its meter reads out of the payload, so a period's usage is one
indexed range scan. Stripe validates an event's shape when it is sent and reports meter and
customer problems later in an error report; Billfold has no error reports, so it refuses those
events at once, with the code the report would carry, and records nothing.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.resources.billing.catalog import no_such
from billfold.wire.params import Dict, Spec, Str, Timestamp
from billfold.wire.router import Routes
from billfold.wire.versions import at_least

routes = Routes("billing_meter_events")

# Stripe keeps an identifier unique for a rolling day, and cancels events for a day after receipt.
DEDUP_WINDOW = 24 * 3600
MAX_PAST = 35 * 24 * 3600
MAX_FUTURE = 5 * 60
# From this version Stripe refuses values with more than 15 significant digits.
DIGITS_LIMIT_SINCE = "2026-04-22"
MAX_DIGITS = 15
_NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)$")


@dataclass
class Payload(Spec):
    """A hash of string keys to string values (``payload[value]=25``)."""

    required: bool = False
    emptyable: bool = False
    description: str = ""

    def parse(self, value: Any, param: str) -> dict[str, str]:
        if not isinstance(value, dict):
            raise InvalidRequestError(
                f"Invalid object: {param} must be a hash", param=param, code="parameter_invalid"
            )
        for key, item in value.items():
            if not isinstance(item, str):
                raise InvalidRequestError(
                    f"Invalid {param}[{key}]: payload values must be strings, not a hash or an array.",
                    param=f"{param}[{key}]",
                    code="parameter_invalid",
                )
        return dict(value)

    def openapi(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": {"type": "string"}}


CREATE: dict[str, Spec] = {
    "event_name": Str(required=True, max_length=100),
    "identifier": Str(max_length=100),
    "payload": Payload(required=True),
    "timestamp": Timestamp(),
}
ADJUSTMENT: dict[str, Spec] = {
    "cancel": Dict(fields={"identifier": Str(max_length=100)}),
    "event_name": Str(required=True, max_length=100),
    "type": Str(required=True, enum=("cancel",)),
}


def meter_for(ctx: Ctx, event_name: str) -> dict[str, Any] | None:
    """The meter that reads events named ``event_name`` (event names are unique per account)."""
    found = ctx.objects.page("billing.meter", filters={"event_name": event_name}, limit=1).data
    return found[0] if found else None


def customer_now(ctx: Ctx, customer: dict[str, Any] | None) -> int:
    """The customer's present: its test clock's frozen time if it has one, else the real clock."""
    clock_id = (customer or {}).get("test_clock")
    if isinstance(clock_id, str):
        clock = ctx.objects.get(clock_id, "test_helpers.test_clock")
        if clock is not None and isinstance(clock.get("frozen_time"), int):
            return int(clock["frozen_time"])
    return ctx.now


def parse_value(text: str, param: str, version: str) -> Decimal:
    """A payload value: an integer or decimal number, kept exact."""
    cleaned = text.strip()
    if not _NUMBER.match(cleaned):
        raise InvalidRequestError(
            f"The value in the event payload must be a number. Received `{text}`.",
            param=param,
            code="meter_event_invalid_value",
        )
    number = Decimal(cleaned)
    digits = len(number.normalize().as_tuple().digits) if number else 1
    if digits > MAX_DIGITS and at_least(version, DIGITS_LIMIT_SINCE):
        raise InvalidRequestError(
            f"The value in the event payload can have at most {MAX_DIGITS} digits. Received `{text}`.",
            param=param,
            code="meter_event_value_too_many_digits",
        )
    return number


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _meter(ctx: Ctx, event_name: str) -> dict[str, Any]:
    meter = meter_for(ctx, event_name)
    if meter is None:
        raise InvalidRequestError(
            f"No active meter was found for the event_name `{event_name}`. Create a meter with this "
            "event_name before sending its events.",
            param="event_name",
            code="no_meter",
        )
    if meter["status"] != "active":
        raise InvalidRequestError(
            f"The meter `{meter['id']}` for the event_name `{event_name}` is inactive and accepts "
            "no meter events. Reactivate it to record usage.",
            param="event_name",
            code="archived_meter",
        )
    return meter


def _customer(ctx: Ctx, meter: dict[str, Any], payload: dict[str, str]) -> dict[str, Any]:
    key = meter["customer_mapping"]["event_payload_key"]
    param = f"payload[{key}]"
    customer_id = payload.get(key, "").strip()
    if not customer_id:
        raise InvalidRequestError(
            f"Customer mapping key {key} not found in payload.",
            param=param,
            code="meter_event_no_customer_defined",
        )
    customer = ctx.objects.get(customer_id, "customer")
    if customer is None:
        raise no_such("customer", customer_id, param)
    return customer


def _timestamp(params: dict[str, Any], now: int) -> int:
    if "timestamp" not in params:
        return now
    timestamp: int = params["timestamp"]
    if timestamp < now - MAX_PAST:
        raise InvalidRequestError(
            "Timestamp must be within the past 35 calendar days.",
            param="timestamp",
            code="timestamp_too_far_in_past",
        )
    if timestamp > now + MAX_FUTURE:
        raise InvalidRequestError(
            "Timestamp must not be more than 5 minutes in the future.",
            param="timestamp",
            code="timestamp_in_future",
        )
    return timestamp


def _reserve(ctx: Ctx, identifier: str) -> None:
    """Free ``identifier`` for a new event, or refuse it while an earlier event holds it."""
    held = ctx.tx.one(
        "SELECT created FROM meter_events WHERE account = :account AND livemode = :livemode "
        "AND dedup_key = :key" + ctx.tx.for_update,
        account=ctx.scope.account,
        livemode=ctx.livemode,
        key=identifier,
    )
    if held is None:
        return
    if held.created > ctx.now - DEDUP_WINDOW:
        raise _duplicate(identifier)
    ctx.tx.execute(
        "UPDATE meter_events SET dedup_key = NULL WHERE account = :account AND livemode = :livemode "
        "AND dedup_key = :key",
        account=ctx.scope.account,
        livemode=ctx.livemode,
        key=identifier,
    )


def _duplicate(identifier: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"An event already exists with identifier {identifier}.", param="identifier"
    )


@routes.post("/v1/billing/meter_events", CREATE)
def create_meter_event(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    event_name: str = params["event_name"]
    payload: dict[str, str] = params["payload"]
    meter = _meter(ctx, event_name)
    customer = _customer(ctx, meter, payload)
    value_key = meter["value_settings"]["event_payload_key"]
    if meter["default_aggregation"]["formula"] == "count":
        value = Decimal(1)
    elif value_key not in payload:
        raise InvalidRequestError(
            f"Value key {value_key} not found in payload.",
            param=f"payload[{value_key}]",
            code="meter_event_value_not_found",
        )
    else:
        value = parse_value(payload[value_key], f"payload[{value_key}]", ctx.api_version)
    timestamp = _timestamp(params, customer_now(ctx, customer))
    identifier = params.get("identifier") or str(uuid.uuid4())
    _reserve(ctx, identifier)
    inserted = ctx.tx.execute(
        "INSERT INTO meter_events (account, livemode, identifier, dedup_key, meter, event_name, "
        "customer, value, timestamp, payload, canceled, created) VALUES (:account, :livemode, "
        ":identifier, :identifier, :meter, :event_name, :customer, :value, :timestamp, :payload, "
        ":canceled, :created) ON CONFLICT (account, livemode, dedup_key) DO NOTHING",
        account=ctx.scope.account,
        livemode=ctx.livemode,
        identifier=identifier,
        meter=meter["id"],
        event_name=event_name,
        customer=customer["id"],
        value=_plain(value),
        timestamp=timestamp,
        payload=json.dumps(payload),
        canceled=False,
        created=ctx.now,
    )
    if inserted.rowcount == 0:
        # Another request took the identifier between the check and the insert.
        raise _duplicate(identifier)
    return {
        "object": "billing.meter_event",
        "created": ctx.now,
        "event_name": event_name,
        "identifier": identifier,
        "livemode": ctx.livemode,
        "payload": payload,
        "timestamp": timestamp,
    }


@routes.post("/v1/billing/meter_event_adjustments", ADJUSTMENT)
def create_meter_event_adjustment(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    identifier = (params.get("cancel") or {}).get("identifier")
    if not identifier:
        raise InvalidRequestError(
            "Missing required param: cancel[identifier].",
            param="cancel[identifier]",
            code="parameter_missing",
        )
    row = ctx.tx.one(
        "SELECT seq, event_name, canceled, created FROM meter_events WHERE account = :account "
        "AND livemode = :livemode AND dedup_key = :key" + ctx.tx.for_update,
        account=ctx.scope.account,
        livemode=ctx.livemode,
        key=identifier,
    )
    if row is None or row.event_name != params["event_name"]:
        raise InvalidRequestError(
            f"No meter event with identifier {identifier} was found for the event_name "
            f"`{params['event_name']}`.",
            param="cancel[identifier]",
            code="resource_missing",
        )
    if row.created <= ctx.now - DEDUP_WINDOW:
        raise InvalidRequestError(
            f"The meter event with identifier {identifier} can no longer be canceled: events can "
            "only be canceled within 24 hours of being received.",
            param="cancel[identifier]",
        )
    if row.canceled:
        raise InvalidRequestError(
            f"The meter event with identifier {identifier} has already been canceled.",
            param="cancel[identifier]",
        )
    ctx.tx.execute("UPDATE meter_events SET canceled = :canceled WHERE seq = :seq", canceled=True, seq=row.seq)
    return {
        "object": "billing.meter_event_adjustment",
        "cancel": {"identifier": identifier},
        "event_name": params["event_name"],
        "livemode": ctx.livemode,
        "status": "complete",
        "type": "cancel",
    }


# Reading usage back: the meter's formula over a customer's events in [start, end).

_RANGE = (
    "FROM meter_events WHERE account = :account AND livemode = :livemode AND event_name = :event_name "
    "AND customer = :customer AND timestamp >= :start AND timestamp < :end AND canceled = :canceled"
)


def _range(ctx: Ctx, event_name: str, customer: str, start: int, end: int) -> dict[str, Any]:
    return {
        "account": ctx.scope.account,
        "livemode": ctx.livemode,
        "event_name": event_name,
        "customer": customer,
        "start": start,
        "end": end,
        "canceled": False,
    }


def aggregate(ctx: Ctx, meter: dict[str, Any], customer: str, start: int, end: int) -> Decimal:
    """The meter's aggregated value for ``customer`` over ``[start, end)``, exactly."""
    formula = meter["default_aggregation"]["formula"]
    bounds = _range(ctx, meter["event_name"], customer, start, end)
    if formula == "count":
        row = ctx.tx.one(f"SELECT COUNT(*) AS n {_RANGE}", **bounds)
        return Decimal(row.n if row is not None else 0)
    if formula == "last":
        row = ctx.tx.one(f"SELECT value {_RANGE} ORDER BY timestamp DESC, seq DESC LIMIT 1", **bounds)
        return Decimal(row.value) if row is not None else Decimal(0)
    if ctx.tx.db.is_postgres:
        row = ctx.tx.one(f"SELECT SUM(CAST(value AS NUMERIC)) AS total {_RANGE}", **bounds)
        return Decimal(row.total) if row is not None and row.total is not None else Decimal(0)
    # SQLite has no exact decimal type: sum the exact strings here instead.
    return sum((Decimal(r.value) for r in ctx.tx.all(f"SELECT value {_RANGE}", **bounds)), Decimal(0))


def bucketed(
    ctx: Ctx, meter: dict[str, Any], customer: str, starts: Iterable[int], width: int
) -> dict[int, Decimal]:
    """The meter's value in each window ``[start, start + width)``, from one range scan."""
    windows = sorted(starts)
    if not windows:
        return {}
    formula = meter["default_aggregation"]["formula"]
    result = {start: Decimal(0) for start in windows}
    first = windows[0]
    rows = ctx.tx.all(
        f"SELECT timestamp, value {_RANGE} ORDER BY timestamp, seq",
        **_range(ctx, meter["event_name"], customer, first, windows[-1] + width),
    )
    for row in rows:
        start = first + (row.timestamp - first) // width * width
        if start not in result:
            continue
        if formula == "count":
            result[start] += 1
        elif formula == "last":
            result[start] = Decimal(row.value)
        else:
            result[start] += Decimal(row.value)
    return result
