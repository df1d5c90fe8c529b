"""Events: what customers' creation, update and deletion record, and how lists filter them."""

from __future__ import annotations

import time
import uuid

import pytest
import stripe

EVENT_FIELDS = {
    "id", "object", "api_version", "created", "data", "livemode", "pending_webhooks", "request", "type",
}


def _about(event: stripe.Event) -> str | None:
    return event.data.object.to_dict().get("id")


def _events_about(client: stripe.StripeClient, object_id: str, **params: object) -> list[stripe.Event]:
    listed = client.v1.events.list({"limit": 100, **params})  # type: ignore[arg-type]
    return [e for e in listed.data if _about(e) == object_id]


def _customer_history(client: stripe.StripeClient) -> tuple[stripe.Customer, list[stripe.Event]]:
    customer = client.v1.customers.create({"email": "jenny@example.com", "name": "Jenny"})
    client.v1.customers.update(customer.id, {"name": "Jenny Rosen"})
    client.v1.customers.delete(customer.id)
    return customer, _events_about(client, customer.id, type="customer.*")


def test_a_customer_history_is_three_events(client: stripe.StripeClient) -> None:
    customer, events = _customer_history(client)
    assert [e.type for e in events] == ["customer.deleted", "customer.updated", "customer.created"]
    deleted, updated, created = events
    assert created.data.object.to_dict()["name"] == "Jenny"
    assert updated.data.object.to_dict()["name"] == "Jenny Rosen"
    assert updated.data.previous_attributes is not None
    assert updated.data.previous_attributes.to_dict() == {"name": "Jenny"}
    assert "previous_attributes" not in created.data.to_dict()
    assert deleted.data.object.to_dict().get("id") == customer.id
    for event in events:
        assert set(event.to_dict()) == EVENT_FIELDS
        assert event.id.startswith("evt_")
        assert event.object == "event"
        assert event.livemode is False
        assert event.api_version
        assert isinstance(event.pending_webhooks, int)
        assert event.request is not None and str(event.request.id).startswith("req_")


def test_retrieve_matches_the_list(client: stripe.StripeClient) -> None:
    _, events = _customer_history(client)
    for event in events:
        assert client.v1.events.retrieve(event.id).to_dict() == event.to_dict()


def test_request_records_the_request_and_idempotency_key(client: stripe.StripeClient) -> None:
    key = str(uuid.uuid4())
    customer = client.v1.customers.create({"email": "keyed@example.com"}, {"idempotency_key": key})
    (event,) = _events_about(client, customer.id, type="customer.created")
    assert event.request is not None
    assert event.request.idempotency_key == key
    assert customer.last_response is not None
    assert event.request.id == customer.last_response.request_id


def test_type_types_and_wildcard_filters(client: stripe.StripeClient) -> None:
    customer, _ = _customer_history(client)
    exact = _events_about(client, customer.id, type="customer.updated")
    assert [e.type for e in exact] == ["customer.updated"]
    several = _events_about(client, customer.id, types=["customer.created", "customer.deleted"])
    assert [e.type for e in several] == ["customer.deleted", "customer.created"]
    wildcard = _events_about(client, customer.id, type="customer.*")
    assert len(wildcard) == 3
    assert _events_about(client, customer.id, type="*.created")[0].type == "customer.created"
    assert _events_about(client, customer.id, type="charge.*") == []
    # "_" is a literal character in event types, not a one-character wildcard.
    assert client.v1.events.list({"type": "customer_created"}).data == []


def test_created_filter_and_pagination(client: stripe.StripeClient) -> None:
    start = int(time.time())
    made = [client.v1.customers.create({"email": f"page-{i}@example.com"}).id for i in range(3)]
    listed = client.v1.events.list({"type": "customer.created", "created": {"gte": start}, "limit": 100})
    ours = [_about(e) for e in listed.data if _about(e) in made]
    assert ours == made[::-1]
    assert all(e.created >= start for e in listed.data)
    assert client.v1.events.list({"created": {"lt": start - 86400 * 365}}).data == []

    first = client.v1.events.list({"type": "customer.created", "limit": 2})
    assert len(first.data) == 2 and first.has_more is True
    assert first.url == "/v1/events"
    after = client.v1.events.list({"type": "customer.created", "limit": 1, "starting_after": first.data[-1].id})
    assert after.data[0].created <= first.data[-1].created
    assert after.data[0].id not in [e.id for e in first.data]


def test_missing_event_is_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.events.retrieve("evt_doesnotexist")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert raised.value.param == "id"
    assert "No such event: 'evt_doesnotexist'" in str(raised.value.user_message)


def test_bad_list_parameters(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as both:
        client.v1.events.list({"type": "customer.created", "types": ["customer.updated"]})
    assert both.value.param == "types"
    with pytest.raises(stripe.InvalidRequestError) as too_many:
        client.v1.events.list({"types": [f"customer.t{i}" for i in range(21)]})
    assert too_many.value.param == "types"
    with pytest.raises(stripe.InvalidRequestError) as flag:
        client.v1.events.list({"delivery_success": "sometimes"})  # type: ignore[arg-type]
    assert flag.value.param == "delivery_success"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.events.list({"kind": "customer.created"})  # type: ignore[arg-type]
    assert unknown.value.param == "kind"
    with pytest.raises(stripe.InvalidRequestError) as cursor:
        client.v1.events.list({"starting_after": "evt_nope"})
    assert cursor.value.param == "starting_after"
