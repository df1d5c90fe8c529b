"""Meter events and their cancellation, as the Stripe docs' "record usage with the API" guide
sends them: identifiers deduplicated for a day, timestamps within Stripe's window, exact values."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
import stripe

from billfold.store.db import normalize_url
from tests.support.server import Server


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def _meter(client: stripe.StripeClient, formula: str = "sum", **extra: Any) -> stripe.billing.Meter:
    return client.v1.billing.meters.create(
        {
            "display_name": "API requests",
            "event_name": _unique("api_requests"),
            "default_aggregation": {"formula": formula},  # type: ignore[typeddict-item]
            **extra,
        }
    )


def _refused(call: Any, *args: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call(*args)
    return raised.value


def _usage(client: stripe.StripeClient, meter: stripe.billing.Meter, customer: str) -> float:
    now = int(time.time())
    start = now // 60 * 60 - 2 * 86400
    summaries = client.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": customer, "start_time": start, "end_time": now // 60 * 60 + 600}
    )
    return float(summaries.data[0].aggregated_value)


def test_create_meter_event(client: stripe.StripeClient) -> None:
    meter = _meter(client)
    customer = client.v1.customers.create().id
    event = client.v1.billing.meter_events.create(
        {
            "event_name": meter.event_name,
            "payload": {"stripe_customer_id": customer, "value": "25"},
            "identifier": _unique("idmp"),
        }
    )
    assert event.object == "billing.meter_event"
    assert event.event_name == meter.event_name
    assert event.payload.to_dict() == {"stripe_customer_id": customer, "value": "25"}
    assert abs(event.timestamp - time.time()) < 60
    assert event.created == event.timestamp
    assert event.livemode is False
    generated = client.v1.billing.meter_events.create(
        {"event_name": meter.event_name, "payload": {"stripe_customer_id": customer, "value": "0.125"}}
    )
    assert len(generated.identifier) >= 16
    assert _usage(client, meter, customer) == 25.125


def test_identifier_is_deduplicated(client: stripe.StripeClient) -> None:
    meter = _meter(client)
    customer = client.v1.customers.create().id
    identifier = _unique("idmp")
    params: Any = {
        "event_name": meter.event_name,
        "payload": {"stripe_customer_id": customer, "value": "10"},
        "identifier": identifier,
    }
    client.v1.billing.meter_events.create(params)
    duplicate = _refused(client.v1.billing.meter_events.create, params)
    assert duplicate.http_status == 400
    assert duplicate.param == "identifier"
    assert f"An event already exists with identifier {identifier}" in str(duplicate.user_message)
    assert _usage(client, meter, customer) == 10


def test_payload_keys_follow_the_meter(client: stripe.StripeClient) -> None:
    meter = _meter(
        client,
        customer_mapping={"event_payload_key": "account", "type": "by_id"},
        value_settings={"event_payload_key": "tokens"},
    )
    customer = client.v1.customers.create().id
    client.v1.billing.meter_events.create(
        {"event_name": meter.event_name, "payload": {"account": customer, "tokens": "300", "model": "x"}}
    )
    wrong_key = _refused(
        client.v1.billing.meter_events.create,
        {"event_name": meter.event_name, "payload": {"stripe_customer_id": customer, "tokens": "1"}},
    )
    assert wrong_key.param == "payload[account]"
    assert wrong_key.code == "meter_event_no_customer_defined"
    no_value = _refused(
        client.v1.billing.meter_events.create,
        {"event_name": meter.event_name, "payload": {"account": customer, "value": "1"}},
    )
    assert no_value.param == "payload[tokens]"
    assert no_value.code == "meter_event_value_not_found"
    assert _usage(client, meter, customer) == 300


def test_count_meter_needs_no_value(client: stripe.StripeClient) -> None:
    meter = _meter(client, "count")
    customer = client.v1.customers.create().id
    for _ in range(3):
        client.v1.billing.meter_events.create(
            {"event_name": meter.event_name, "payload": {"stripe_customer_id": customer}}
        )
    assert _usage(client, meter, customer) == 3


def test_cancel_an_event(client: stripe.StripeClient) -> None:
    meter = _meter(client)
    customer = client.v1.customers.create().id
    kept, canceled = _unique("keep"), _unique("cancel")
    for identifier, value in ((kept, "5"), (canceled, "7")):
        client.v1.billing.meter_events.create(
            {
                "event_name": meter.event_name,
                "payload": {"stripe_customer_id": customer, "value": value},
                "identifier": identifier,
            }
        )
    adjustment = client.v1.billing.meter_event_adjustments.create(
        {"event_name": meter.event_name, "type": "cancel", "cancel": {"identifier": canceled}}
    )
    assert adjustment.object == "billing.meter_event_adjustment"
    assert adjustment.type == "cancel"
    assert adjustment.status == "complete"
    assert adjustment.cancel is not None and adjustment.cancel.identifier == canceled
    assert adjustment.event_name == meter.event_name
    assert _usage(client, meter, customer) == 5
    twice = _refused(
        client.v1.billing.meter_event_adjustments.create,
        {"event_name": meter.event_name, "type": "cancel", "cancel": {"identifier": canceled}},
    )
    assert twice.param == "cancel[identifier]"
    # The identifier stays taken: a retry of the canceled event is still a duplicate.
    retried = _refused(
        client.v1.billing.meter_events.create,
        {
            "event_name": meter.event_name,
            "payload": {"stripe_customer_id": customer, "value": "7"},
            "identifier": canceled,
        },
    )
    assert retried.param == "identifier"


def test_adjustment_bad_input(client: stripe.StripeClient) -> None:
    meter = _meter(client)
    other = _meter(client)
    customer = client.v1.customers.create().id
    identifier = _unique("idmp")
    client.v1.billing.meter_events.create(
        {
            "event_name": meter.event_name,
            "payload": {"stripe_customer_id": customer, "value": "4"},
            "identifier": identifier,
        }
    )
    unknown = _refused(
        client.v1.billing.meter_event_adjustments.create,
        {"event_name": meter.event_name, "type": "cancel", "cancel": {"identifier": "nope"}},
    )
    assert unknown.param == "cancel[identifier]" and unknown.code == "resource_missing"
    wrong_meter = _refused(
        client.v1.billing.meter_event_adjustments.create,
        {"event_name": other.event_name, "type": "cancel", "cancel": {"identifier": identifier}},
    )
    assert wrong_meter.param == "cancel[identifier]"
    no_cancel = _refused(
        client.v1.billing.meter_event_adjustments.create, {"event_name": meter.event_name, "type": "cancel"}
    )
    assert no_cancel.param == "cancel[identifier]" and no_cancel.code == "parameter_missing"
    bad_type = _refused(
        client.v1.billing.meter_event_adjustments.create,
        {"event_name": meter.event_name, "type": "refund", "cancel": {"identifier": identifier}},
    )
    assert bad_type.param == "type"
    assert _usage(client, meter, customer) == 4


def test_bad_events_are_refused_and_record_nothing(client: stripe.StripeClient) -> None:
    meter = _meter(client)
    customer = client.v1.customers.create().id
    now = int(time.time())

    def send(payload: dict[str, str], **extra: Any) -> stripe.InvalidRequestError:
        return _refused(
            client.v1.billing.meter_events.create,
            {"event_name": extra.pop("event_name", meter.event_name), "payload": payload, **extra},
        )

    good = {"stripe_customer_id": customer, "value": "1"}
    assert send(good, timestamp=now - 36 * 86400).code == "timestamp_too_far_in_past"
    assert send(good, timestamp=now + 3600).code == "timestamp_in_future"
    not_number = send({"stripe_customer_id": customer, "value": "lots"})
    assert not_number.param == "payload[value]" and not_number.code == "meter_event_invalid_value"
    too_precise = send({"stripe_customer_id": customer, "value": "1234567890.1234567"})
    assert too_precise.code == "meter_event_value_too_many_digits"
    nobody = send({"stripe_customer_id": "cus_nobody", "value": "1"})
    assert nobody.param == "payload[stripe_customer_id]" and nobody.code == "resource_missing"
    no_meter = send(good, event_name=_unique("nothing_meters_this"))
    assert no_meter.param == "event_name"
    missing = _refused(client.v1.billing.meter_events.create, {"event_name": meter.event_name})
    assert missing.param == "payload" and missing.code == "parameter_missing"
    nested = _refused(
        client.v1.billing.meter_events.create,
        {"event_name": meter.event_name, "payload": {"stripe_customer_id": customer, "value": {"a": "1"}}},
    )
    assert nested.param == "payload[value]"
    client.v1.billing.meters.deactivate(meter.id)
    assert send(good).code == "archived_meter"
    client.v1.billing.meters.reactivate(meter.id)
    client.v1.billing.meter_events.create({"event_name": meter.event_name, "payload": good, "timestamp": now - 86400})
    assert _usage(client, meter, customer) == 1


def test_older_versions_validate_digits_less(server: Server) -> None:
    pinned = stripe.StripeClient(
        server.secret_key, base_addresses={"api": server.url}, stripe_version="2025-09-30.clover"
    )
    meter = _meter(pinned)
    customer = pinned.v1.customers.create().id
    pinned.v1.billing.meter_events.create(
        {"event_name": meter.event_name, "payload": {"stripe_customer_id": customer, "value": "1234567890.1234567"}}
    )
    assert _usage(pinned, meter, customer) == 1234567890.1234567


def _age(server: Server, identifier: str, seconds: int) -> None:
    """Move an event's receipt back in time, as a day passing would (Billfold has one real clock)."""
    engine = sa.create_engine(normalize_url(server.database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE meter_events SET created = created - :age WHERE identifier = :identifier"),
                {"age": seconds, "identifier": identifier},
            )
    finally:
        engine.dispose()


def test_identifier_is_free_again_after_a_day(client: stripe.StripeClient, server: Server) -> None:
    meter = _meter(client)
    customer = client.v1.customers.create().id
    identifier = _unique("daily")
    params: Any = {
        "event_name": meter.event_name,
        "payload": {"stripe_customer_id": customer, "value": "3"},
        "identifier": identifier,
    }
    client.v1.billing.meter_events.create(params)
    _age(server, identifier, 25 * 3600)
    late = _refused(
        client.v1.billing.meter_event_adjustments.create,
        {"event_name": meter.event_name, "type": "cancel", "cancel": {"identifier": identifier}},
    )
    assert late.param == "cancel[identifier]"
    client.v1.billing.meter_events.create(params)
    assert _usage(client, meter, customer) == 6
    # The new event holds the identifier now: it is the one a cancellation reaches.
    client.v1.billing.meter_event_adjustments.create(
        {"event_name": meter.event_name, "type": "cancel", "cancel": {"identifier": identifier}}
    )
    assert _usage(client, meter, customer) == 3
