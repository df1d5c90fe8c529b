"""Coupons, as the Stripe docs' own examples use them."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
import stripe


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4).upper()}"


def refused(call: Any, *args: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call(*args)
    return raised.value


def events_of(client: stripe.StripeClient, event_type: str, object_id: str) -> list[stripe.Event]:
    listed = client.v1.events.list({"type": event_type, "limit": 100})
    return [e for e in listed.data if e.data.object.to_dict().get("id") == object_id]


def test_create_a_25_percent_off_coupon_with_a_custom_id(client: stripe.StripeClient) -> None:
    coupon_id = unique("SUMMER25")
    coupon = client.v1.coupons.create(
        {"id": coupon_id, "percent_off": 25, "duration": "forever", "name": "Summer sale",
         "metadata": {"campaign": "summer"}}
    )
    assert coupon.id == coupon_id
    assert coupon.object == "coupon"
    assert coupon.percent_off == 25.0
    assert coupon.amount_off is None
    assert coupon.duration == "forever"
    assert coupon.duration_in_months is None
    assert coupon.valid is True
    assert coupon.times_redeemed == 0
    assert coupon.max_redemptions is None
    assert coupon.redeem_by is None
    assert coupon.livemode is False
    assert coupon.metadata.to_dict() == {"campaign": "summer"}
    # applies_to and currency_options are shown only when expanded, as on Stripe.
    assert "applies_to" not in coupon.to_dict()
    assert "currency_options" not in coupon.to_dict()
    assert client.v1.coupons.retrieve(coupon_id).name == "Summer sale"
    assert events_of(client, "coupon.created", coupon_id)


def test_generated_ids_and_the_defaults(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"percent_off": 33.33})
    assert len(coupon.id) == 8 and coupon.id.isalnum() and coupon.id.upper() == coupon.id
    assert coupon.percent_off == 33.33
    assert coupon.duration == "once"


def test_amount_off_repeating_with_limits(client: stripe.StripeClient) -> None:
    redeem_by = int(time.time()) + 30 * 86400
    coupon = client.v1.coupons.create(
        {"amount_off": 500, "currency": "USD", "duration": "repeating", "duration_in_months": 3,
         "max_redemptions": 10, "redeem_by": redeem_by}
    )
    assert coupon.amount_off == 500
    assert coupon.currency == "usd"
    assert coupon.percent_off is None
    assert coupon.duration == "repeating"
    assert coupon.duration_in_months == 3
    assert coupon.max_redemptions == 10
    assert coupon.redeem_by == redeem_by
    assert coupon.valid is True


def test_currency_options_are_shown_when_expanded(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create(
        {"amount_off": 500, "currency": "usd", "currency_options": {"eur": {"amount_off": 450}}}
    )
    expanded = client.v1.coupons.retrieve(coupon.id, {"expand": ["currency_options", "applies_to"]})
    assert expanded.to_dict()["currency_options"] == {"usd": {"amount_off": 500}, "eur": {"amount_off": 450}}
    assert expanded.to_dict()["applies_to"] is None
    updated = client.v1.coupons.update(
        coupon.id, {"currency_options": {"gbp": {"amount_off": 400}}, "expand": ["currency_options"]}
    )
    assert set(updated.to_dict()["currency_options"]) == {"usd", "eur", "gbp"}


def test_applies_to_products(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Gold plan"})
    coupon = client.v1.coupons.create(
        {"percent_off": 10, "applies_to": {"products": [product.id]}, "expand": ["applies_to"]}
    )
    assert coupon.to_dict()["applies_to"] == {"products": [product.id]}
    error = refused(
        client.v1.coupons.create, {"percent_off": 10, "applies_to": {"products": [product.id, "prod_missing"]}}
    )
    assert error.http_status == 404
    assert error.code == "resource_missing"
    assert error.param == "applies_to[products][1]"


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"percent_off": 10, "amount_off": 100, "currency": "usd"}, "amount_off", "parameters_exclusive"),
        ({"duration": "once"}, "percent_off", "parameter_missing"),
        ({"amount_off": 100}, "currency", "parameter_missing"),
        ({"amount_off": 0, "currency": "usd"}, "amount_off", "parameter_invalid_integer"),
        ({"percent_off": 0}, "percent_off", "parameter_invalid"),
        ({"percent_off": 100.5}, "percent_off", "parameter_invalid"),
        ({"percent_off": 12.345}, "percent_off", "parameter_invalid"),
        ({"percent_off": "ten"}, "percent_off", "parameter_invalid"),
        ({"percent_off": 10, "duration": "repeating"}, "duration_in_months", "parameter_missing"),
        ({"percent_off": 10, "duration_in_months": 3}, "duration_in_months", None),
        ({"percent_off": 10, "duration": "sometimes"}, "duration", "parameter_invalid"),
        ({"percent_off": 10, "redeem_by": 1_000_000}, "redeem_by", None),
        ({"percent_off": 10, "redeem_by": 4_000_000_000}, "redeem_by", None),
        ({"percent_off": 10, "max_redemptions": 0}, "max_redemptions", "parameter_invalid_integer"),
        ({"percent_off": 10, "name": "x" * 41}, "name", None),
        ({"percent_off": 10, "currency_options": {"eur": {"amount_off": 5}}}, "currency_options", None),
        ({"amount_off": 10, "currency": "usd", "currency_options": {"xx": {"amount_off": 5}}},
         "currency_options[xx]", "parameter_invalid"),
        ({"percent_off": 10, "id": "has/slash"}, "id", "parameter_invalid"),
        ({"percent_off": 10, "valid": "true"}, "valid", "parameter_unknown"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(
    client: stripe.StripeClient, params: dict[str, Any], param: str, code: str | None
) -> None:
    coupon_id = unique("BAD")
    error = refused(client.v1.coupons.create, {"id": coupon_id, **params} if param != "id" else params)
    assert error.http_status == 400
    assert error.param == param
    assert error.code == code
    missing = refused(client.v1.coupons.retrieve, coupon_id)
    assert missing.http_status == 404


def test_a_custom_id_is_taken_once(client: stripe.StripeClient) -> None:
    coupon_id = unique("ONCE")
    client.v1.coupons.create({"id": coupon_id, "percent_off": 5})
    error = refused(client.v1.coupons.create, {"id": coupon_id, "amount_off": 5, "currency": "usd"})
    assert error.code == "resource_already_exists"
    assert error.param == "id"
    assert client.v1.coupons.retrieve(coupon_id).percent_off == 5.0


def test_update_changes_name_and_metadata_only(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"percent_off": 15, "metadata": {"a": "1", "b": "2"}})
    updated = client.v1.coupons.update(coupon.id, {"name": "Fifteen", "metadata": {"a": "", "c": "3"}})
    assert updated.name == "Fifteen"
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"}
    (event,) = events_of(client, "coupon.updated", coupon.id)
    assert event.data.to_dict()["previous_attributes"] == {"name": None, "metadata": {"a": "1", "b": "2"}}
    error = refused(client.v1.coupons.update, coupon.id, {"percent_off": 20})
    assert error.code == "parameter_unknown"
    assert error.param == "percent_off"
    assert client.v1.coupons.retrieve(coupon.id).percent_off == 15.0


def test_delete(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"percent_off": 50})
    deleted = client.v1.coupons.delete(coupon.id)
    assert deleted.to_dict() == {"id": coupon.id, "object": "coupon", "deleted": True}
    error = refused(client.v1.coupons.retrieve, coupon.id)
    assert error.http_status == 404
    assert error.code == "resource_missing"
    assert error.param == "id"
    assert "No such coupon" in str(error.user_message)
    (event,) = events_of(client, "coupon.deleted", coupon.id)
    assert event.data.object.to_dict()["valid"] is False
    assert refused(client.v1.coupons.delete, coupon.id).http_status == 404


def test_list_newest_first_with_pages(client: stripe.StripeClient) -> None:
    since = int(time.time())
    made = [client.v1.coupons.create({"percent_off": 10 + i}).id for i in range(3)]
    listed = client.v1.coupons.list({"limit": 2, "created": {"gte": since}})
    assert listed.url == "/v1/coupons"
    assert [c.id for c in listed.data] == made[::-1][:2]
    assert listed.has_more is True
    rest = client.v1.coupons.list({"limit": 2, "created": {"gte": since}, "starting_after": listed.data[-1].id})
    assert made[0] in [c.id for c in rest.data]


def test_valid_turns_false_once_redeem_by_passes(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"percent_off": 10, "redeem_by": int(time.time()) + 2})
    assert coupon.valid is True
    time.sleep(3.1)
    assert client.v1.coupons.retrieve(coupon.id).valid is False
