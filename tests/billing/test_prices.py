"""Prices, as the Stripe docs' own examples use them: one-time and recurring, decimal amounts,
tiers, lookup keys, and the combinations Stripe refuses."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
import stripe

from tests.support.server import Server


def _product(client: stripe.StripeClient) -> str:
    return client.v1.products.create({"name": "Widget"}).id


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


def _refused(call: Any, *args: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call(*args)
    return raised.value


def _events_about(client: stripe.StripeClient, object_id: str, kind: str) -> list[stripe.Event]:
    listed = client.v1.events.list({"limit": 100, "type": kind})
    return [e for e in listed.data if e.data.object.to_dict().get("id") == object_id]


def _count(client: stripe.StripeClient, product: str) -> int:
    return len(client.v1.prices.list({"product": product, "limit": 100}).data)


def test_one_time_price_defaults(client: stripe.StripeClient) -> None:
    product = _product(client)
    price = client.v1.prices.create({"currency": "usd", "unit_amount": 1000, "product": product})
    assert price.id.startswith("price_")
    assert price.object == "price"
    assert price.type == "one_time"
    assert price.billing_scheme == "per_unit"
    assert price.active is True
    assert price.recurring is None
    assert price.tax_behavior == "unspecified"
    assert price.unit_amount == 1000
    assert price.unit_amount_decimal == Decimal("1000")
    assert price.lookup_key is None and price.nickname is None
    assert price.product == product
    assert price.custom_unit_amount is None and price.transform_quantity is None
    shown = price.to_dict()
    assert "tiers" not in shown and "currency_options" not in shown
    assert client.v1.prices.retrieve(price.id).to_dict() == shown
    assert _events_about(client, price.id, "price.created")


def test_recurring_price(client: stripe.StripeClient) -> None:
    price = client.v1.prices.create(
        {
            "currency": "eur",
            "unit_amount": 1500,
            "product": _product(client),
            "recurring": {"interval": "month", "interval_count": 3, "trial_period_days": 14},
        }
    )
    assert price.type == "recurring"
    assert price.recurring is not None
    assert price.recurring.to_dict() == {
        "interval": "month",
        "interval_count": 3,
        "meter": None,
        "trial_period_days": 14,
        "usage_type": "licensed",
    }


@pytest.mark.parametrize(
    ("interval", "longest"), [("day", 1095), ("week", 156), ("month", 36), ("year", 3)]
)
def test_the_longest_interval_is_three_years(
    client: stripe.StripeClient, interval: str, longest: int
) -> None:
    product = _product(client)
    base = {"currency": "usd", "unit_amount": 100, "product": product}
    ok = client.v1.prices.create({**base, "recurring": {"interval": interval, "interval_count": longest}})
    assert ok.recurring is not None and ok.recurring.interval_count == longest
    error = _refused(
        client.v1.prices.create, {**base, "recurring": {"interval": interval, "interval_count": longest + 1}}
    )
    assert error.http_status == 400 and error.param == "recurring[interval_count]"
    assert _count(client, product) == 1


def test_decimal_amounts(client: stripe.StripeClient) -> None:
    product = _product(client)
    fraction = client.v1.prices.create({"currency": "usd", "unit_amount_decimal": "123.45", "product": product})
    assert fraction.unit_amount is None
    assert fraction.unit_amount_decimal == Decimal("123.45")
    whole = client.v1.prices.create({"currency": "usd", "unit_amount_decimal": Decimal("5"), "product": product})
    assert whole.unit_amount == 5 and whole.unit_amount_decimal == Decimal("5")
    tiny = client.v1.prices.create(
        {"currency": "usd", "unit_amount_decimal": Decimal("0.000000000001"), "product": product}
    )
    assert tiny.unit_amount_decimal == Decimal("0.000000000001")
    for bad in ("1.0000000000001", "abc", "-1", "1e400"):
        error = _refused(client.v1.prices.create, {"currency": "usd", "unit_amount_decimal": bad, "product": product})
        assert error.http_status == 400 and error.param == "unit_amount_decimal"
    both = _refused(
        client.v1.prices.create,
        {"currency": "usd", "unit_amount": 1, "unit_amount_decimal": "1", "product": product},
    )
    assert both.param == "unit_amount"
    assert _count(client, product) == 3


def test_product_data_creates_the_product(client: stripe.StripeClient) -> None:
    price = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 700, "product_data": {"name": "Inline", "metadata": {"a": "b"}}}
    )
    assert isinstance(price.product, str) and price.product.startswith("prod_")
    product = client.v1.products.retrieve(price.product)
    assert product.name == "Inline"
    assert product.metadata.to_dict() == {"a": "b"}
    expanded = client.v1.prices.retrieve(price.id, {"expand": ["product"]})
    assert isinstance(expanded.product, stripe.Product) and expanded.product.id == product.id


def test_product_and_product_data_refusals(client: stripe.StripeClient) -> None:
    neither = _refused(client.v1.prices.create, {"currency": "usd", "unit_amount": 1000})
    assert neither.http_status == 400
    assert neither.user_message == "You must specify either `product` or `product_data` when creating a price."
    product = _product(client)
    both = _refused(
        client.v1.prices.create,
        {"currency": "usd", "unit_amount": 1000, "product": product, "product_data": {"name": "x"}},
    )
    assert both.param == "product"
    assert both.user_message == "You may only specify one of these parameters: product, product_data."
    missing = _refused(client.v1.prices.create, {"currency": "usd", "unit_amount": 100, "product": "prod_nope"})
    assert missing.http_status == 400
    assert missing.code == "resource_missing" and missing.param == "product"
    wanted = _unique("inline")
    refused = _refused(
        client.v1.prices.create,
        {"currency": "usd", "unit_amount": 1, "unit_amount_decimal": "1", "product_data": {"id": wanted, "name": "x"}},
    )
    assert refused.param == "unit_amount"
    assert _refused(client.v1.products.retrieve, wanted).http_status == 404


def test_amount_is_required(client: stripe.StripeClient) -> None:
    product = _product(client)
    for extra in ({}, {"recurring": {"interval": "month"}}):
        error = _refused(client.v1.prices.create, {"currency": "usd", "product": product, **extra})
        assert error.user_message == "Prices require an `unit_amount` or `unit_amount_decimal` parameter to be set."
    missing_currency = _refused(client.v1.prices.create, {"unit_amount": 100, "product": product})
    assert missing_currency.param == "currency" and missing_currency.code == "parameter_missing"
    assert _refused(client.v1.prices.create, {"currency": "zzz", "unit_amount": 1, "product": product}).param == "currency"
    negative = _refused(client.v1.prices.create, {"currency": "usd", "unit_amount": -1, "product": product})
    assert negative.param == "unit_amount"
    assert _count(client, product) == 0


TIERS = [{"up_to": 5, "unit_amount": 700}, {"up_to": 10, "unit_amount": 650}, {"up_to": "inf", "unit_amount": 600}]


def test_tiered_prices_show_tiers_only_when_expanded(client: stripe.StripeClient) -> None:
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "product": _product(client),
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "recurring": {"interval": "month"},
            "tiers": [*TIERS[:2], {"up_to": "inf", "unit_amount_decimal": "599.5", "flat_amount": 100}],
        }
    )
    assert price.billing_scheme == "tiered" and price.tiers_mode == "graduated"
    assert price.unit_amount is None and price.unit_amount_decimal is None
    assert "tiers" not in price.to_dict()
    expanded = client.v1.prices.retrieve(price.id, {"expand": ["tiers"]})
    assert expanded.tiers is not None
    assert [t.to_dict() for t in expanded.tiers] == [
        {"flat_amount": None, "flat_amount_decimal": None, "unit_amount": 700, "unit_amount_decimal": Decimal("700"), "up_to": 5},
        {"flat_amount": None, "flat_amount_decimal": None, "unit_amount": 650, "unit_amount_decimal": Decimal("650"), "up_to": 10},
        {"flat_amount": 100, "flat_amount_decimal": Decimal("100"), "unit_amount": None, "unit_amount_decimal": Decimal("599.5"), "up_to": None},
    ]
    listed = client.v1.prices.list({"product": price.product, "expand": ["data.tiers"]})
    assert listed.data[0].tiers is not None and len(listed.data[0].tiers) == 3


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"tiers_mode": "volume", "tiers": TIERS}, "interval"),
        ({"recurring": {"interval": "month"}, "tiers": TIERS}, "tiers_mode"),
        ({"recurring": {"interval": "month"}, "tiers_mode": "volume"}, "tiers"),
        ({"recurring": {"interval": "month"}, "tiers_mode": "volume", "tiers": TIERS, "unit_amount": 5}, "unit_amount"),
        ({"recurring": {"interval": "month"}, "tiers_mode": "volume", "tiers": TIERS[:2]}, "tiers[1][up_to]"),
        ({"recurring": {"interval": "month"}, "tiers_mode": "volume", "tiers": [TIERS[2], *TIERS[1:]]}, "tiers[0][up_to]"),
        ({"recurring": {"interval": "month"}, "tiers_mode": "volume", "tiers": [TIERS[1], TIERS[0], TIERS[2]]}, "tiers[1][up_to]"),
        ({"recurring": {"interval": "month"}, "tiers_mode": "volume", "tiers": [{"up_to": "inf"}]}, "tiers[0]"),
        ({"recurring": {"interval": "month"}, "tiers_mode": "volume", "tiers": [{"up_to": "many", "unit_amount": 1}]}, "tiers[0][up_to]"),
        ({"recurring": {"interval": "month"}, "tiers_mode": "volume", "tiers": [{"up_to": "inf", "unit_amount": 1, "unit_amount_decimal": "1"}]}, "tiers[0][unit_amount]"),
        ({"recurring": {"interval": "month"}, "tiers_mode": "volume", "tiers": TIERS, "transform_quantity": {"divide_by": 2, "round": "up"}}, "transform_quantity"),
    ],
)
def test_tiered_refusals(client: stripe.StripeClient, params: dict[str, Any], param: str) -> None:
    product = _product(client)
    error = _refused(client.v1.prices.create, {"currency": "usd", "product": product, "billing_scheme": "tiered", **params})
    assert error.http_status == 400
    assert error.param == param
    assert _count(client, product) == 0


def test_tiers_need_the_tiered_scheme(client: stripe.StripeClient) -> None:
    product = _product(client)
    error = _refused(client.v1.prices.create, {"currency": "usd", "product": product, "unit_amount": 5, "tiers": TIERS})
    assert error.param == "tiers"
    error = _refused(client.v1.prices.create, {"currency": "usd", "product": product, "unit_amount": 5, "tiers_mode": "volume"})
    assert error.param == "tiers_mode"


def test_transform_quantity_and_custom_unit_amount(client: stripe.StripeClient) -> None:
    product = _product(client)
    bundled = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 1000, "product": product, "transform_quantity": {"divide_by": 5, "round": "up"}}
    )
    assert bundled.transform_quantity is not None
    assert bundled.transform_quantity.to_dict() == {"divide_by": 5, "round": "up"}
    tip = client.v1.prices.create(
        {"currency": "usd", "product": product, "custom_unit_amount": {"enabled": True, "minimum": 100, "maximum": 10000, "preset": 500}}
    )
    assert tip.custom_unit_amount is not None
    assert tip.custom_unit_amount.to_dict() == {"maximum": 10000, "minimum": 100, "preset": 500}
    assert tip.unit_amount is None and tip.unit_amount_decimal is None
    for params, param in (
        ({"custom_unit_amount": {"enabled": True}, "recurring": {"interval": "month"}}, "custom_unit_amount"),
        ({"custom_unit_amount": {"enabled": True}, "unit_amount": 5}, "custom_unit_amount"),
        ({"custom_unit_amount": {"enabled": True, "minimum": 500, "preset": 100}}, "custom_unit_amount[preset]"),
        ({"custom_unit_amount": {"enabled": True, "minimum": 500, "maximum": 100}}, "custom_unit_amount[minimum]"),
        ({"unit_amount": 5, "transform_quantity": {"divide_by": 0, "round": "up"}}, "transform_quantity[divide_by]"),
        ({"unit_amount": 5, "transform_quantity": {"divide_by": 2, "round": "sideways"}}, "transform_quantity[round]"),
    ):
        error = _refused(client.v1.prices.create, {"currency": "usd", "product": product, **params})
        assert (error.http_status, error.param) == (400, param)
    assert _count(client, product) == 2


def test_lookup_key_conflict_and_transfer(client: stripe.StripeClient) -> None:
    product = _product(client)
    key = _unique("standard_monthly")
    holder = client.v1.prices.create({"currency": "usd", "unit_amount": 500, "product": product, "lookup_key": key})
    assert holder.lookup_key == key
    client.v1.prices.update(holder.id, {"active": False})
    conflict = _refused(client.v1.prices.create, {"currency": "usd", "unit_amount": 600, "product": product, "lookup_key": key})
    assert conflict.http_status == 400 and conflict.param == "lookup_key"
    assert conflict.user_message == f"A price (`{holder.id}`) already uses that lookup key."
    assert _count(client, product) == 1

    successor = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 600, "product": product, "lookup_key": key, "transfer_lookup_key": True}
    )
    assert successor.lookup_key == key
    assert client.v1.prices.retrieve(holder.id).lookup_key is None
    updates = _events_about(client, holder.id, "price.updated")
    assert updates[0].data.previous_attributes is not None
    assert updates[0].data.previous_attributes.to_dict() == {"lookup_key": key}
    assert [p.id for p in client.v1.prices.list({"lookup_keys": [key]}).data] == [successor.id]

    third = client.v1.prices.create({"currency": "usd", "unit_amount": 700, "product": product})
    refused = _refused(client.v1.prices.update, third.id, {"lookup_key": key})
    assert refused.param == "lookup_key"
    moved = client.v1.prices.update(third.id, {"lookup_key": key, "transfer_lookup_key": True})
    assert moved.lookup_key == key
    assert client.v1.prices.retrieve(successor.id).lookup_key is None
    assert client.v1.prices.update(third.id, {"lookup_key": key}).lookup_key == key
    assert client.v1.prices.update(third.id, {"lookup_key": ""}).lookup_key is None


def test_update_labels_but_never_amounts(client: stripe.StripeClient) -> None:
    product = _product(client)
    price = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 500, "product": product, "metadata": {"a": "1"}, "tax_behavior": "exclusive"}
    )
    updated = client.v1.prices.update(price.id, {"nickname": "Standard", "metadata": {"a": "", "b": "2"}, "active": False})
    assert updated.nickname == "Standard"
    assert updated.metadata.to_dict() == {"b": "2"}
    assert updated.active is False
    events = _events_about(client, price.id, "price.updated")
    assert events[0].data.previous_attributes is not None
    assert events[0].data.previous_attributes.to_dict() == {"active": True, "metadata": {"a": "1"}, "nickname": None}
    amount = _refused(client.v1.prices.update, price.id, {"unit_amount": 700})
    assert amount.param == "unit_amount" and amount.code == "parameter_unknown"
    tax = _refused(client.v1.prices.update, price.id, {"tax_behavior": "inclusive"})
    assert tax.param == "tax_behavior"
    assert client.v1.prices.update(price.id, {"nickname": ""}).nickname is None
    assert client.v1.prices.retrieve(price.id).unit_amount == 500


def test_the_default_price_cannot_be_archived(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Defaulted", "default_price_data": {"currency": "usd", "unit_amount": 900}})
    assert isinstance(product.default_price, str)
    error = _refused(client.v1.prices.update, product.default_price, {"active": False})
    assert error.user_message == "This price cannot be archived because it is the default price of its product."
    assert client.v1.prices.retrieve(product.default_price).active is True


def test_list_filters(client: stripe.StripeClient) -> None:
    product = _product(client)
    one_time = client.v1.prices.create({"currency": "usd", "unit_amount": 100, "product": product})
    monthly = client.v1.prices.create({"currency": "usd", "unit_amount": 100, "product": product, "recurring": {"interval": "month"}})
    yearly = client.v1.prices.create({"currency": "eur", "unit_amount": 100, "product": product, "recurring": {"interval": "year"}})
    client.v1.prices.update(yearly.id, {"active": False})

    def ids(**params: Any) -> list[str]:
        return [p.id for p in client.v1.prices.list({"product": product, **params}).data]  # type: ignore[typeddict-item]

    assert ids() == [yearly.id, monthly.id, one_time.id]
    assert ids(type="one_time") == [one_time.id]
    assert ids(type="recurring") == [yearly.id, monthly.id]
    assert ids(currency="eur") == [yearly.id]
    assert ids(active=True) == [monthly.id, one_time.id]
    assert ids(active=False) == [yearly.id]
    assert ids(recurring={"interval": "month"}) == [monthly.id]
    assert ids(recurring={"usage_type": "licensed"}) == [yearly.id, monthly.id]
    assert ids(limit=1, starting_after=yearly.id) == [monthly.id]
    listed = client.v1.prices.list({"product": product})
    assert listed.url == "/v1/prices"
    unknown = _refused(client.v1.prices.list, {"product": "prod_nope"})
    assert unknown.http_status == 400 and unknown.user_message == "No such product: 'prod_nope'"
    assert _refused(client.v1.prices.list, {"type": "weekly"}).param == "type"


def test_missing_price_and_no_delete(client: stripe.StripeClient) -> None:
    error = _refused(client.v1.prices.retrieve, "price_nope")
    assert error.http_status == 404
    assert error.user_message == "No such price: 'price_nope'"
    assert error.param == "price"
    # Prices are archived, never deleted: the API has no such operation.
    no_delete = _refused(client.raw_request, "delete", "/v1/prices/price_nope")
    assert no_delete.http_status == 404
    assert str(no_delete.user_message).startswith("Unrecognized request URL")


def test_currency_options_show_when_expanded(client: stripe.StripeClient) -> None:
    price = client.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 1000,
            "product": _product(client),
            "currency_options": {"eur": {"unit_amount": 900}, "gbp": {"unit_amount_decimal": "800.5", "tax_behavior": "inclusive"}},
        }
    )
    assert "currency_options" not in price.to_dict()
    expanded = client.v1.prices.retrieve(price.id, {"expand": ["currency_options"]})
    assert expanded.currency_options is not None
    options = expanded.currency_options.to_dict()
    assert set(options) == {"usd", "eur", "gbp"}
    assert options["eur"]["unit_amount"] == 900
    assert options["gbp"]["unit_amount"] is None and options["gbp"]["tax_behavior"] == "inclusive"
    for params, param in (
        ({"currency_options": {"usd": {"unit_amount": 5}}}, "currency_options[usd]"),
        ({"currency_options": {"zzz": {"unit_amount": 5}}}, "currency_options[zzz]"),
        ({"currency_options": {"eur": {"flat": 5}}}, "currency_options[eur][flat]"),
    ):
        error = _refused(client.v1.prices.create, {"currency": "usd", "unit_amount": 1, "product": price.product, **params})
        assert error.param == param


def test_metered_prices_need_meters_from_basil_on(client: stripe.StripeClient) -> None:
    product = _product(client)
    metered = {"interval": "month", "usage_type": "metered"}
    error = _refused(client.v1.prices.create, {"currency": "usd", "unit_amount": 2, "product": product, "recurring": metered})
    assert error.user_message == "Starting with Stripe version `2025-03-31.basil`, metered prices must be backed by meters."
    no_meter = _refused(
        client.v1.prices.create,
        {"currency": "usd", "unit_amount": 2, "product": product, "recurring": {**metered, "meter": "mtr_nope"}},
    )
    assert no_meter.code == "resource_missing" and no_meter.param == "recurring[meter]"
    legacy = _refused(
        client.v1.prices.create,
        {"currency": "usd", "unit_amount": 2, "product": product, "recurring": {**metered, "aggregate_usage": "sum"}},
    )
    assert legacy.param == "recurring[aggregate_usage]" and legacy.code == "parameter_unknown"
    licensed_meter = _refused(
        client.v1.prices.create,
        {"currency": "usd", "unit_amount": 2, "product": product, "recurring": {"interval": "month", "meter": "mtr_x"}},
    )
    assert licensed_meter.param == "recurring[meter]"
    assert _count(client, product) == 0


def test_older_versions_bill_metered_prices_from_usage_records(server: Server) -> None:
    pinned = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url}, stripe_version="2024-04-10")
    product = pinned.v1.products.create({"name": "API calls"})
    price = pinned.v1.prices.create(
        {
            "currency": "usd",
            "unit_amount": 2,
            "product": product.id,
            "recurring": {"interval": "month", "usage_type": "metered", "aggregate_usage": "max"},
        }
    )
    assert price.recurring is not None
    shown = price.recurring.to_dict()
    assert shown["usage_type"] == "metered" and shown["aggregate_usage"] == "max"
    licensed = pinned.v1.prices.create(
        {"currency": "usd", "unit_amount": 2, "product": product.id, "recurring": {"interval": "month"}}
    )
    assert licensed.recurring is not None and licensed.recurring.to_dict()["aggregate_usage"] is None
    current = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url})
    assert "aggregate_usage" not in current.v1.prices.retrieve(price.id).to_dict()["recurring"]
