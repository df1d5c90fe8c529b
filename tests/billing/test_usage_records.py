"""Legacy usage records, as an integration pinned before 2025-03-31.basil reports them: on a
subscription item with a metered price, aggregated by the price's ``aggregate_usage``. The SDK no
longer has methods for them, so the tests send them with ``raw_request`` as such code would."""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

from tests.support.server import Server

LEGACY = "2024-04-10"


@pytest.fixture
def legacy(server: Server) -> stripe.StripeClient:
    return stripe.StripeClient(
        server.secret_key, base_addresses={"api": server.url}, stripe_version=LEGACY, max_network_retries=0
    )


def _call(client: stripe.StripeClient, method: str, url: str, **params: Any) -> Any:
    response = client.raw_request(method, url, **params)
    return client.deserialize(response, api_mode="V1").to_dict()


def _refused(client: stripe.StripeClient, method: str, url: str, **params: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.raw_request(method, url, **params)
    return raised.value


def _subscription(client: stripe.StripeClient, aggregate_usage: str = "sum", metered: bool = True) -> Any:
    recurring: dict[str, Any] = {"interval": "month"}
    if metered:
        recurring.update({"usage_type": "metered", "aggregate_usage": aggregate_usage})
    price = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 2, "product_data": {"name": "API calls"}, "recurring": recurring}  # type: ignore[typeddict-item]
    )
    customer = client.v1.customers.create(
        {"payment_method": "pm_card_visa", "invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )
    return client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})


def _item(subscription: Any) -> str:
    return str(subscription["items"]["data"][0]["id"])


def _records(item: str) -> str:
    return f"/v1/subscription_items/{item}/usage_records"


def _summaries(item: str) -> str:
    return f"/v1/subscription_items/{item}/usage_record_summaries"


def test_increment_and_set(legacy: stripe.StripeClient) -> None:
    subscription = _subscription(legacy)
    item = _item(subscription)
    now = int(subscription["current_period_start"]) + 1
    first = _call(legacy, "post", _records(item), quantity=100, timestamp=now)
    assert first["object"] == "usage_record"
    assert first["id"].startswith("mbur_")
    assert first["subscription_item"] == item
    assert (first["quantity"], first["timestamp"]) == (100, now)
    assert first["livemode"] is False
    more = _call(legacy, "post", _records(item), quantity=50, timestamp=now)
    assert more["quantity"] == 150 and more["id"] == first["id"]
    _call(legacy, "post", _records(item), quantity=200, timestamp=now - 1)
    overwritten = _call(legacy, "post", _records(item), quantity=40, timestamp=now - 1, action="set")
    assert overwritten["quantity"] == 40
    [summary] = _call(legacy, "get", _summaries(item))["data"]
    assert summary["object"] == "usage_record_summary"
    assert summary["id"].startswith("sis_")
    assert summary["invoice"] is None
    assert summary["subscription_item"] == item
    assert summary["total_usage"] == 190
    assert summary["period"]["start"] <= now < summary["period"]["end"]


def test_now_is_the_default_timestamp(legacy: stripe.StripeClient) -> None:
    item = _item(_subscription(legacy))
    record = _call(legacy, "post", _records(item), quantity=3)
    assert abs(record["timestamp"] - time.time()) < 60
    explicit = _call(legacy, "post", _records(item), quantity=4, timestamp="now")
    assert abs(explicit["timestamp"] - time.time()) < 60


@pytest.mark.parametrize(
    ("aggregate_usage", "expected"), [("sum", 17), ("max", 9), ("last_during_period", 5), ("last_ever", 5)]
)
def test_aggregate_usage(legacy: stripe.StripeClient, aggregate_usage: str, expected: int) -> None:
    subscription = _subscription(legacy, aggregate_usage)
    item = _item(subscription)
    start = int(subscription["current_period_start"])
    for quantity, offset in ((3, 0), (9, 1), (5, 2)):
        _call(legacy, "post", _records(item), quantity=quantity, timestamp=start + offset)
    [summary] = _call(legacy, "get", _summaries(item))["data"]
    assert summary["total_usage"] == expected


def test_newer_versions_have_no_usage_records(client: stripe.StripeClient, legacy: stripe.StripeClient) -> None:
    item = _item(_subscription(legacy))
    refused = _refused(client, "post", _records(item), quantity=1)
    assert refused.http_status == 400
    assert "2025-03-31.basil" in str(refused.user_message)
    assert _refused(client, "get", _summaries(item)).http_status == 400
    [summary] = _call(legacy, "get", _summaries(item))["data"]
    assert summary["total_usage"] == 0


def test_bad_input_is_refused_and_records_nothing(legacy: stripe.StripeClient) -> None:
    subscription = _subscription(legacy)
    item = _item(subscription)
    now = int(time.time())
    missing = _refused(legacy, "post", _records("si_nothing"), quantity=1)
    assert missing.http_status == 404 and missing.code == "resource_missing"
    negative = _refused(legacy, "post", _records(item), quantity=-5)
    assert negative.param == "quantity"
    no_quantity = _refused(legacy, "post", _records(item))
    assert no_quantity.param == "quantity" and no_quantity.code == "parameter_missing"
    action = _refused(legacy, "post", _records(item), quantity=1, action="decrement")
    assert action.param == "action"
    before = _refused(
        legacy, "post", _records(item), quantity=1, timestamp=subscription["current_period_start"] - 10
    )
    assert before.param == "timestamp"
    future = _refused(legacy, "post", _records(item), quantity=1, timestamp=now + 3600)
    assert future.param == "timestamp"
    word = _refused(legacy, "post", _records(item), quantity=1, timestamp="yesterday")
    assert word.param == "timestamp"
    licensed = _item(_subscription(legacy, metered=False))
    not_metered = _refused(legacy, "post", _records(licensed), quantity=1)
    assert not_metered.param == "subscription_item"
    [summary] = _call(legacy, "get", _summaries(item))["data"]
    assert summary["total_usage"] == 0


def test_reported_usage_is_billed_on_the_upcoming_invoice(legacy: stripe.StripeClient) -> None:
    subscription = _subscription(legacy)
    item = _item(subscription)
    for quantity in (100, 200, 50):
        _call(legacy, "post", _records(item), quantity=quantity)
    upcoming = _call(
        legacy, "get", "/v1/invoices/upcoming", customer=subscription["customer"], subscription=subscription["id"]
    )
    [line] = [line for line in upcoming["lines"]["data"] if line["amount"]]
    assert (line["quantity"], line["amount"]) == (350, 700)
    assert upcoming["total"] == 700
