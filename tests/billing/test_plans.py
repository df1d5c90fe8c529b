"""Plans: the legacy API over recurring prices, one object under two names."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
import stripe

from tests.support.server import Server


def _refused(call: Any, *args: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call(*args)
    return raised.value


def _events_about(client: stripe.StripeClient, object_id: str, kind: str) -> list[stripe.Event]:
    listed = client.v1.events.list({"limit": 100, "type": kind})
    return [e for e in listed.data if e.data.object.to_dict().get("id") == object_id]


def test_a_plan_is_a_recurring_price(client: stripe.StripeClient) -> None:
    plan = client.v1.plans.create(
        {"amount": 2000, "currency": "usd", "interval": "month", "product": {"name": "Gold"}, "nickname": "Gold monthly"}
    )
    assert plan.id.startswith("price_")
    assert plan.object == "plan"
    assert (plan.amount, plan.amount_decimal, plan.interval, plan.interval_count) == (2000, Decimal("2000"), "month", 1)
    assert plan.usage_type == "licensed" and plan.billing_scheme == "per_unit"
    assert plan.nickname == "Gold monthly" and plan.active is True
    assert "aggregate_usage" not in plan.to_dict()
    assert isinstance(plan.product, str) and client.v1.products.retrieve(plan.product).name == "Gold"

    price = client.v1.prices.retrieve(plan.id)
    assert price.type == "recurring" and price.unit_amount == 2000 and price.nickname == "Gold monthly"
    assert client.v1.plans.retrieve(plan.id).to_dict() == plan.to_dict()
    assert _events_about(client, plan.id, "plan.created") and _events_about(client, plan.id, "price.created")


def test_own_id_update_delete(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Silver"})
    wanted = f"silver-{uuid.uuid4().hex[:12]}"
    plan = client.v1.plans.create(
        {"id": wanted, "amount": 900, "currency": "usd", "interval": "year", "product": product.id}
    )
    assert plan.id == wanted
    taken = _refused(client.v1.plans.create, {"id": wanted, "amount": 1, "currency": "usd", "interval": "year", "product": product.id})
    assert taken.code == "resource_already_exists" and taken.param == "id"

    updated = client.v1.plans.update(wanted, {"nickname": "Silver yearly", "trial_period_days": 7, "metadata": {"a": "1"}})
    assert updated.nickname == "Silver yearly" and updated.trial_period_days == 7
    assert client.v1.prices.retrieve(wanted).recurring.trial_period_days == 7  # type: ignore[union-attr]
    changes = _events_about(client, wanted, "plan.updated")
    assert changes and changes[0].data.previous_attributes is not None
    assert changes[0].data.previous_attributes.to_dict()["nickname"] is None

    deleted = client.v1.plans.delete(wanted)
    assert deleted.to_dict() == {"id": wanted, "object": "plan", "deleted": True}
    assert _refused(client.v1.plans.retrieve, wanted).http_status == 404
    assert _refused(client.v1.prices.retrieve, wanted).http_status == 404
    assert _events_about(client, wanted, "plan.deleted") and _events_about(client, wanted, "price.deleted")
    # With its only price gone, the product may go too.
    assert client.v1.products.delete(product.id).deleted is True


def test_tiered_plan_and_transform_usage(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Seats"})
    plan = client.v1.plans.create(
        {
            "currency": "usd",
            "interval": "month",
            "product": product.id,
            "billing_scheme": "tiered",
            "tiers_mode": "volume",
            "tiers": [{"up_to": 10, "unit_amount": 500}, {"up_to": "inf", "unit_amount": 400}],
        }
    )
    assert plan.amount is None and plan.tiers_mode == "volume"
    assert "tiers" not in plan.to_dict()
    tiers = client.v1.plans.retrieve(plan.id, {"expand": ["tiers"]}).tiers
    assert tiers is not None and [t.up_to for t in tiers] == [10, None]
    bundled = client.v1.plans.create(
        {"amount": 100, "currency": "usd", "interval": "month", "product": product.id, "transform_usage": {"divide_by": 10, "round": "up"}}
    )
    assert bundled.transform_usage is not None and bundled.transform_usage.to_dict() == {"divide_by": 10, "round": "up"}


def test_list_plans(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Listed"})
    one_time = client.v1.prices.create({"currency": "usd", "unit_amount": 100, "product": product.id})
    monthly = client.v1.plans.create({"amount": 100, "currency": "usd", "interval": "month", "product": product.id})
    as_price = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 300, "product": product.id, "recurring": {"interval": "week"}}
    )
    client.v1.plans.update(monthly.id, {"active": False})
    listed = client.v1.plans.list({"product": product.id})
    assert [p.id for p in listed.data] == [as_price.id, monthly.id]
    assert all(p.object == "plan" for p in listed.data)
    assert listed.url == "/v1/plans"
    assert [p.id for p in client.v1.plans.list({"product": product.id, "active": True}).data] == [as_price.id]
    assert _refused(client.v1.plans.retrieve, one_time.id).http_status == 404


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"currency": "usd", "interval": "month", "product": "PRODUCT"}, "amount"),
        ({"amount": 1, "currency": "usd", "product": "PRODUCT"}, "interval"),
        ({"amount": 1, "currency": "usd", "interval": "month"}, "product"),
        ({"amount": 1, "currency": "usd", "interval": "month", "product": "prod_nope"}, "product"),
        ({"amount": 1, "currency": "usd", "interval": "month", "interval_count": 37, "product": "PRODUCT"}, "interval_count"),
        ({"amount": 1, "amount_decimal": "1", "currency": "usd", "interval": "month", "product": "PRODUCT"}, "amount"),
        ({"amount": 1, "currency": "usd", "interval": "month", "usage_type": "metered", "aggregate_usage": "sum", "product": "PRODUCT"}, "aggregate_usage"),
        ({"amount": 1, "currency": "usd", "interval": "fortnight", "product": "PRODUCT"}, "interval"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(
    client: stripe.StripeClient, params: dict[str, Any], param: str
) -> None:
    product = client.v1.products.create({"name": "Refused"}).id
    if params.get("product") == "PRODUCT":
        params = {**params, "product": product}
    error = _refused(client.v1.plans.create, params)
    assert error.http_status == 400 and error.param == param
    assert client.v1.plans.list({"product": product}).data == []


def test_older_versions_see_aggregate_usage(server: Server) -> None:
    pinned = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url}, stripe_version="2024-04-10")
    plan = pinned.v1.plans.create(
        {"amount": 2, "currency": "usd", "interval": "month", "usage_type": "metered", "product": {"name": "Calls"}}
    )
    assert plan.to_dict()["aggregate_usage"] == "sum"
    assert plan.usage_type == "metered"
