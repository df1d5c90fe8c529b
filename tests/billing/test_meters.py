"""Billing meters, as the Stripe docs' usage-based billing guide uses them: create, rename,
deactivate and reactivate, list by status, and the event summaries of a customer's usage."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import stripe


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def _meter(client: stripe.StripeClient, formula: str = "sum", **extra: Any) -> stripe.billing.Meter:
    return client.v1.billing.meters.create(
        {
            "display_name": "Alpaca AI tokens",
            "event_name": _unique("alpaca_ai_tokens"),
            "default_aggregation": {"formula": formula},  # type: ignore[typeddict-item]
            **extra,
        }
    )


def _refused(call: Any, *args: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call(*args)
    return raised.value


def _events_about(client: stripe.StripeClient, object_id: str, kind: str) -> list[stripe.Event]:
    listed = client.v1.events.list({"limit": 100, "type": kind})
    return [e for e in listed.data if e.data.object.to_dict().get("id") == object_id]


def _hour() -> int:
    return int(time.time()) // 3600 * 3600


def test_create_with_defaults(client: stripe.StripeClient) -> None:
    meter = _meter(client)
    assert meter.id.startswith("mtr_")
    assert meter.object == "billing.meter"
    assert meter.status == "active"
    assert meter.display_name == "Alpaca AI tokens"
    assert meter.default_aggregation.formula == "sum"
    assert meter.customer_mapping.to_dict() == {"event_payload_key": "stripe_customer_id", "type": "by_id"}
    assert meter.value_settings.event_payload_key == "value"
    assert meter.event_time_window is None
    assert meter.status_transitions.deactivated_at is None
    assert meter.livemode is False
    assert meter.updated == meter.created
    assert client.v1.billing.meters.retrieve(meter.id).to_dict() == meter.to_dict()
    assert _events_about(client, meter.id, "billing.meter.created")


def test_create_with_custom_payload_keys(client: stripe.StripeClient) -> None:
    meter = _meter(
        client,
        "last",
        customer_mapping={"event_payload_key": "account", "type": "by_id"},
        value_settings={"event_payload_key": "seats"},
        event_time_window="hour",
    )
    assert meter.default_aggregation.formula == "last"
    assert meter.customer_mapping.event_payload_key == "account"
    assert meter.value_settings.event_payload_key == "seats"
    assert meter.event_time_window == "hour"


def test_update_display_name(client: stripe.StripeClient) -> None:
    meter = _meter(client)
    updated = client.v1.billing.meters.update(meter.id, {"display_name": "Tokens (v2)"})
    assert updated.display_name == "Tokens (v2)"
    [event] = _events_about(client, meter.id, "billing.meter.updated")
    assert event.data.to_dict()["previous_attributes"]["display_name"] == "Alpaca AI tokens"


def test_deactivate_and_reactivate(client: stripe.StripeClient) -> None:
    meter = _meter(client)
    off = client.v1.billing.meters.deactivate(meter.id)
    assert off.status == "inactive"
    assert off.status_transitions.deactivated_at is not None
    assert _events_about(client, meter.id, "billing.meter.deactivated")
    again = _refused(client.v1.billing.meters.deactivate, meter.id)
    assert again.http_status == 400
    on = client.v1.billing.meters.reactivate(meter.id)
    assert on.status == "active"
    assert on.status_transitions.deactivated_at is None
    assert _events_about(client, meter.id, "billing.meter.reactivated")
    assert _refused(client.v1.billing.meters.reactivate, meter.id).http_status == 400


def test_list_by_status(client: stripe.StripeClient) -> None:
    active = _meter(client)
    inactive = _meter(client)
    client.v1.billing.meters.deactivate(inactive.id)
    listed = client.v1.billing.meters.list({"status": "inactive", "limit": 100})
    ids = [m.id for m in listed.data]
    assert inactive.id in ids and active.id not in ids
    assert listed.url == "/v1/billing/meters"
    newest = client.v1.billing.meters.list({"limit": 2})
    assert [m.id for m in newest.data] == [inactive.id, active.id]


def test_bad_input_is_refused_and_changes_nothing(client: stripe.StripeClient) -> None:
    name = _unique("dup")
    meter = client.v1.billing.meters.create(
        {"display_name": "One", "event_name": name, "default_aggregation": {"formula": "sum"}}
    )
    duplicate = _refused(
        client.v1.billing.meters.create,
        {"display_name": "Two", "event_name": name, "default_aggregation": {"formula": "count"}},
    )
    assert duplicate.param == "event_name"
    formula = _refused(
        client.v1.billing.meters.create,
        {"display_name": "x", "event_name": _unique("f"), "default_aggregation": {"formula": "avg"}},
    )
    assert formula.param == "default_aggregation[formula]"
    missing = _refused(
        client.v1.billing.meters.create, {"display_name": "x", "event_name": _unique("m")}
    )
    assert missing.param == "default_aggregation" and missing.code == "parameter_missing"
    mapping = _refused(
        client.v1.billing.meters.create,
        {
            "display_name": "x",
            "event_name": _unique("m"),
            "default_aggregation": {"formula": "sum"},
            "customer_mapping": {"event_payload_key": "c", "type": "by_email"},
        },
    )
    assert mapping.param == "customer_mapping[type]"
    blank = _refused(
        client.v1.billing.meters.create,
        {"display_name": " ", "event_name": _unique("m"), "default_aggregation": {"formula": "sum"}},
    )
    assert blank.param == "display_name"
    unknown = _refused(client.v1.billing.meters.update, meter.id, {"event_name": "renamed"})
    assert unknown.param == "event_name" and unknown.code == "parameter_unknown"
    assert client.v1.billing.meters.retrieve(meter.id).event_name == name
    missing_meter = _refused(client.v1.billing.meters.retrieve, "mtr_doesnotexist")
    assert missing_meter.http_status == 404 and missing_meter.code == "resource_missing"
    bad_status = _refused(client.v1.billing.meters.list, {"status": "archived"})
    assert bad_status.param == "status"


def _record(client: stripe.StripeClient, meter: stripe.billing.Meter, customer: str, value: str, at: int) -> None:
    client.v1.billing.meter_events.create(
        {
            "event_name": meter.event_name,
            "payload": {"stripe_customer_id": customer, "value": value},
            "timestamp": at,
        }
    )


def test_event_summaries(client: stripe.StripeClient) -> None:
    meter = _meter(client)
    customer = client.v1.customers.create().id
    hour = _hour()
    _record(client, meter, customer, "25", hour - 2 * 3600 + 10)
    _record(client, meter, customer, "15", hour - 2 * 3600 + 20)
    _record(client, meter, customer, "2.5", hour - 3600 + 5)
    other = client.v1.customers.create().id
    _record(client, meter, other, "1000", hour - 3600 + 5)

    whole = client.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": customer, "start_time": hour - 3 * 3600, "end_time": hour}
    )
    [summary] = whole.data
    assert summary.object == "billing.meter_event_summary"
    assert summary.id.startswith("mtrusg_")
    assert summary.aggregated_value == 42.5
    assert summary.meter == meter.id
    assert (summary.start_time, summary.end_time) == (hour - 3 * 3600, hour)

    hourly = client.v1.billing.meters.event_summaries.list(
        meter.id,
        {"customer": customer, "start_time": hour - 3 * 3600, "end_time": hour, "value_grouping_window": "hour"},
    )
    assert [(s.start_time, s.aggregated_value) for s in hourly.data] == [
        (hour - 3600, 2.5), (hour - 2 * 3600, 40), (hour - 3 * 3600, 0),
    ]
    first = client.v1.billing.meters.event_summaries.list(
        meter.id,
        {"customer": customer, "start_time": hour - 3 * 3600, "end_time": hour,
         "value_grouping_window": "hour", "limit": 1},
    )
    assert first.has_more is True
    rest = client.v1.billing.meters.event_summaries.list(
        meter.id,
        {"customer": customer, "start_time": hour - 3 * 3600, "end_time": hour,
         "value_grouping_window": "hour", "starting_after": first.data[0].id},
    )
    assert [s.aggregated_value for s in rest.data] == [40, 0]


def test_count_and_last_formulas(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create().id
    hour = _hour()
    counted = _meter(client, "count")
    last = _meter(client, "last")
    for value, offset in (("7", 30), ("3", 10), ("5", 20)):
        _record(client, counted, customer, value, hour - 3600 + offset)
        _record(client, last, customer, value, hour - 3600 + offset)
    window = {"customer": customer, "start_time": hour - 3600, "end_time": hour}
    assert client.v1.billing.meters.event_summaries.list(counted.id, window).data[0].aggregated_value == 3
    # "last" is the value of the latest event by timestamp, not the latest sent.
    assert client.v1.billing.meters.event_summaries.list(last.id, window).data[0].aggregated_value == 7


def test_event_summaries_bad_input(client: stripe.StripeClient) -> None:
    meter = _meter(client)
    customer = client.v1.customers.create().id
    hour = _hour()
    unaligned = _refused(
        client.v1.billing.meters.event_summaries.list,
        meter.id, {"customer": customer, "start_time": hour + 7, "end_time": hour + 3600},
    )
    assert unaligned.param == "start_time"
    not_hourly = _refused(
        client.v1.billing.meters.event_summaries.list,
        meter.id,
        {"customer": customer, "start_time": hour, "end_time": hour + 120, "value_grouping_window": "hour"},
    )
    assert not_hourly.param == "end_time"
    backwards = _refused(
        client.v1.billing.meters.event_summaries.list,
        meter.id, {"customer": customer, "start_time": hour, "end_time": hour - 3600},
    )
    assert backwards.param == "end_time"
    too_many = _refused(
        client.v1.billing.meters.event_summaries.list,
        meter.id,
        {"customer": customer, "start_time": 0, "end_time": hour, "value_grouping_window": "hour"},
    )
    assert too_many.param == "end_time"
    missing = _refused(
        client.v1.billing.meters.event_summaries.list, meter.id, {"start_time": hour - 3600, "end_time": hour}
    )
    assert missing.param == "customer" and missing.code == "parameter_missing"
    nobody = _refused(
        client.v1.billing.meters.event_summaries.list,
        meter.id, {"customer": "cus_nobody", "start_time": hour - 3600, "end_time": hour},
    )
    assert nobody.param == "customer" and nobody.code == "resource_missing"


def test_metered_usage_is_billed_on_the_next_invoice(client: stripe.StripeClient) -> None:
    meter = _meter(client)
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 2,
            "product_data": {"name": "Alpaca AI tokens"},
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id},
        }
    )
    customer = client.v1.customers.create(
        {"payment_method": "pm_card_visa", "invoice_settings": {"default_payment_method": "pm_card_visa"}}
    ).id
    subscription = client.v1.subscriptions.create({"customer": customer, "items": [{"price": price.id}]})
    for value in ("100", "200", "50"):
        client.v1.billing.meter_events.create(
            {"event_name": meter.event_name, "payload": {"stripe_customer_id": customer, "value": value}}
        )
    preview = client.v1.invoices.create_preview({"customer": customer, "subscription": subscription.id})
    [line] = [line for line in preview.lines.data if line.amount]
    assert line.quantity == 350
    assert line.amount == 700
    assert preview.total == 700
