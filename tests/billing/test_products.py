"""Products, as the Stripe docs' own examples use them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import stripe

from tests.support.server import Server


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def _events_about(client: stripe.StripeClient, object_id: str, kind: str) -> list[stripe.Event]:
    listed = client.v1.events.list({"limit": 100, "type": kind})
    return [e for e in listed.data if e.data.object.to_dict().get("id") == object_id]


def _refused(call: Any, *args: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call(*args)
    return raised.value


def test_create_retrieve_update_delete(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(
        {"name": "Gold Plan", "description": "Our best plan", "metadata": {"tier": "gold"}}
    )
    assert product.id.startswith("prod_")
    assert product.object == "product"
    assert product.active is True
    assert product.name == "Gold Plan"
    assert product.description == "Our best plan"
    assert product.type == "service"
    assert product.default_price is None
    assert product.images == [] and product.marketing_features == []
    assert product.metadata.to_dict() == {"tier": "gold"}
    assert product.created == product.updated

    assert client.v1.products.retrieve(product.id).to_dict() == product.to_dict()

    updated = client.v1.products.update(
        product.id,
        {
            "name": "Gold Plan 2",
            "description": "",
            "images": ["https://example.com/gold.png"],
            "marketing_features": [{"name": "Priority support"}],
            "metadata": {"tier": "", "level": "3"},
            "active": False,
        },
    )
    assert updated.name == "Gold Plan 2"
    assert updated.description is None
    assert updated.images == ["https://example.com/gold.png"]
    assert [f.name for f in updated.marketing_features] == ["Priority support"]
    assert updated.metadata.to_dict() == {"level": "3"}
    assert updated.active is False

    deleted = client.v1.products.delete(product.id)
    assert deleted.to_dict() == {"id": product.id, "object": "product", "deleted": True}
    gone = _refused(client.v1.products.retrieve, product.id)
    assert gone.http_status == 404 and gone.code == "resource_missing" and gone.param == "id"


def test_events_created_updated_deleted(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Evented"})
    client.v1.products.update(product.id, {"name": "Evented twice"})
    client.v1.products.delete(product.id)
    created = _events_about(client, product.id, "product.created")
    updated = _events_about(client, product.id, "product.updated")
    deleted = _events_about(client, product.id, "product.deleted")
    assert len(created) == len(updated) == len(deleted) == 1
    assert created[0].data.object.to_dict()["name"] == "Evented"
    assert updated[0].data.object.to_dict()["name"] == "Evented twice"
    previous = updated[0].data.previous_attributes
    assert previous is not None and previous.to_dict()["name"] == "Evented"


def test_an_update_that_changes_nothing_records_no_event(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Same"})
    client.v1.products.update(product.id, {"name": "Same"})
    assert _events_about(client, product.id, "product.updated") == []


def test_own_id_and_a_taken_id(client: stripe.StripeClient) -> None:
    wanted = _unique("gold")
    product = client.v1.products.create({"id": wanted, "name": "Gold"})
    assert product.id == wanted
    assert client.v1.products.retrieve(wanted).name == "Gold"
    taken = _refused(client.v1.products.create, {"id": wanted, "name": "Other"})
    assert taken.http_status == 400
    assert taken.code == "resource_already_exists"
    assert taken.param == "id"
    assert client.v1.products.retrieve(wanted).name == "Gold"


def test_default_price_data_creates_the_default_price(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(
        {
            "name": "T-shirt",
            "default_price_data": {"currency": "usd", "unit_amount": 2000, "recurring": {"interval": "month"}},
            "expand": ["default_price"],
        }
    )
    price = product.default_price
    assert isinstance(price, stripe.Price)
    assert price.product == product.id
    assert price.unit_amount == 2000
    assert price.recurring is not None and price.recurring.interval == "month"
    assert _events_about(client, price.id, "price.created")


def test_default_price_data_refusal_names_its_param_and_creates_nothing(
    client: stripe.StripeClient,
) -> None:
    wanted = _unique("refused")
    error = _refused(
        client.v1.products.create,
        {
            "id": wanted,
            "name": "Refused",
            "default_price_data": {"currency": "usd", "unit_amount": 100, "unit_amount_decimal": "1"},
        },
    )
    assert error.http_status == 400
    assert error.param == "default_price_data[unit_amount]"
    assert _refused(client.v1.products.retrieve, wanted).http_status == 404
    interval = _refused(
        client.v1.products.create,
        {
            "id": wanted,
            "name": "Refused",
            "default_price_data": {"currency": "usd", "unit_amount": 100, "recurring": {"interval": "month", "interval_count": 37}},
        },
    )
    assert interval.param == "default_price_data[recurring][interval_count]"


def test_update_default_price(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Defaulted"})
    other = client.v1.products.create({"name": "Other"})
    mine = client.v1.prices.create({"currency": "usd", "unit_amount": 500, "product": product.id})
    theirs = client.v1.prices.create({"currency": "usd", "unit_amount": 500, "product": other.id})
    assert client.v1.products.update(product.id, {"default_price": mine.id}).default_price == mine.id

    wrong = _refused(client.v1.products.update, product.id, {"default_price": theirs.id})
    assert wrong.http_status == 400 and wrong.param == "default_price"
    missing = _refused(client.v1.products.update, product.id, {"default_price": "price_missing"})
    assert missing.code == "resource_missing" and missing.param == "default_price"
    assert client.v1.products.retrieve(product.id).default_price == mine.id


def test_a_product_with_prices_cannot_be_deleted(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Priced"})
    client.v1.prices.create({"currency": "usd", "unit_amount": 100, "product": product.id})
    error = _refused(client.v1.products.delete, product.id)
    assert error.http_status == 400
    assert error.user_message == (
        "This product cannot be deleted because it has one or more user-created prices."
    )
    assert client.v1.products.retrieve(product.id).id == product.id
    assert _refused(client.v1.products.delete, "prod_missing").http_status == 404


def test_shipping_fields(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(
        {
            "name": "Box",
            "type": "good",
            "shippable": True,
            "package_dimensions": {"height": 1.5, "length": 10, "weight": 2.25, "width": 4},
            "statement_descriptor": "BOX CO",
            "unit_label": "box",
            "url": "https://example.com/box",
            "tax_code": "txcd_99999999",
        }
    )
    assert product.type == "good"
    assert product.shippable is True
    dims = product.package_dimensions
    assert dims is not None and (dims.height, dims.length, dims.weight, dims.width) == (1.5, 10, 2.25, 4)
    assert product.statement_descriptor == "BOX CO"
    assert product.unit_label == "box"
    assert product.tax_code == "txcd_99999999"
    cleared = client.v1.products.update(product.id, {"package_dimensions": "", "unit_label": "", "url": ""})
    assert cleared.package_dimensions is None and cleared.unit_label is None and cleared.url is None


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({}, "name"),
        ({"name": "x", "images": [f"https://example.com/{i}.png" for i in range(9)]}, "images"),
        ({"name": "x", "marketing_features": [{"title": "Fast"}]}, "marketing_features[0][title]"),
        ({"name": "x", "package_dimensions": {"height": 1, "length": 1, "weight": 1}}, "package_dimensions[width]"),
        ({"name": "x", "package_dimensions": {"height": "tall", "length": 1, "weight": 1, "width": 1}}, "package_dimensions[height]"),
        ({"name": "x", "statement_descriptor": "12345"}, "statement_descriptor"),
        ({"name": "x", "statement_descriptor": "A<B>"}, "statement_descriptor"),
        ({"name": "x", "statement_descriptor": "X" * 23}, "statement_descriptor"),
        ({"name": "x", "unit_label": "x" * 13}, "unit_label"),
        ({"name": "x", "type": "gadget"}, "type"),
        ({"name": "x", "active": "maybe"}, "active"),
        ({"name": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(
    client: stripe.StripeClient, params: dict[str, Any], param: str
) -> None:
    wanted = _unique("bad")
    error = _refused(client.v1.products.create, {"id": wanted, **params})
    assert error.http_status == 400
    assert error.param == param
    assert _refused(client.v1.products.retrieve, wanted).http_status == 404


def test_bad_update_changes_nothing(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Stable"})
    for params, param in (
        ({"name": "", "description": "new"}, "name"),
        ({"description": "new", "images": "not-a-list"}, "images"),
        ({"description": "new", "type": "good"}, "type"),
    ):
        assert _refused(client.v1.products.update, product.id, params).param == param
    assert client.v1.products.retrieve(product.id).description is None


def test_list_filters(client: stripe.StripeClient) -> None:
    tag = _unique("list")
    made = [
        client.v1.products.create({"id": f"{tag}_{i}", "name": f"P{i}", "url": f"https://example.com/{tag}"})
        for i in range(3)
    ]
    ids = [p.id for p in made]
    client.v1.products.update(ids[1], {"active": False})
    client.v1.products.update(ids[2], {"shippable": True})

    listed = client.v1.products.list({"ids": ids})
    assert [p.id for p in listed.data] == ids[::-1]
    assert listed.url == "/v1/products"
    assert [p.id for p in client.v1.products.list({"ids": ids, "active": True}).data] == [ids[2], ids[0]]
    assert [p.id for p in client.v1.products.list({"ids": ids, "active": False}).data] == [ids[1]]
    assert [p.id for p in client.v1.products.list({"ids": ids, "shippable": True}).data] == [ids[2]]
    by_url = client.v1.products.list({"url": f"https://example.com/{tag}"})
    assert {p.id for p in by_url.data} == set(ids)
    assert client.v1.products.list({"ids": ids, "type": "good"}).data == []
    first = client.v1.products.list({"ids": ids, "limit": 2})
    assert first.has_more is True
    rest = client.v1.products.list({"ids": ids, "starting_after": first.data[-1].id})
    assert [p.id for p in rest.data] == [ids[0]]
    assert client.v1.products.list({"ids": ids, "created": {"lt": made[0].created}}).data == []


def test_older_versions_call_marketing_features_features(server: Server) -> None:
    pinned = stripe.StripeClient(
        server.secret_key, base_addresses={"api": server.url}, stripe_version="2023-10-16"
    )
    product = pinned.v1.products.create({"name": "Old", "marketing_features": [{"name": "Fast"}]})
    shown = product.to_dict()
    assert "marketing_features" not in shown
    assert shown["features"] == [{"name": "Fast"}]
