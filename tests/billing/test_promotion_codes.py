"""Promotion codes, as the Stripe docs' own examples use them."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
import stripe

OLD_VERSION = {"stripe_version": "2024-04-10"}


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4).upper()}"


def refused(call: Any, *args: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call(*args)
    return raised.value


def make_coupon(client: stripe.StripeClient, **params: Any) -> stripe.Coupon:
    return client.v1.coupons.create({"percent_off": 20, **params})


def promo(client: stripe.StripeClient, coupon: str, **params: Any) -> stripe.PromotionCode:
    return client.v1.promotion_codes.create({"promotion": {"type": "coupon", "coupon": coupon}, **params})


def test_create_a_code_for_a_coupon(client: stripe.StripeClient) -> None:
    coupon = make_coupon(client)
    code = unique("FALL")
    created = promo(client, coupon.id, code=code, metadata={"channel": "email"})
    assert created.id.startswith("promo_")
    assert created.object == "promotion_code"
    assert created.code == code
    assert created.active is True
    assert created.promotion.to_dict() == {"coupon": coupon.id, "type": "coupon"}
    assert created.customer is None
    assert created.expires_at is None
    assert created.max_redemptions is None
    assert created.times_redeemed == 0
    assert created.restrictions.to_dict() == {
        "first_time_transaction": False, "minimum_amount": None, "minimum_amount_currency": None,
    }
    assert created.metadata.to_dict() == {"channel": "email"}
    assert "coupon" not in created.to_dict()
    fetched = client.v1.promotion_codes.retrieve(created.id, {"expand": ["promotion.coupon"]})
    assert fetched.promotion.coupon.id == coupon.id  # type: ignore[union-attr]
    assert fetched.promotion.coupon.percent_off == 20.0  # type: ignore[union-attr]
    events = client.v1.events.list({"type": "promotion_code.created", "limit": 20}).data
    assert created.id in [e.data.object.to_dict().get("id") for e in events]


def test_a_code_is_generated_when_none_is_given(client: stripe.StripeClient) -> None:
    created = promo(client, make_coupon(client).id)
    assert len(created.code) == 8 and created.code.isalnum()


def test_older_versions_send_coupon_and_embed_it(client: stripe.StripeClient) -> None:
    coupon = make_coupon(client)
    created = client.v1.promotion_codes.create(
        {"coupon": coupon.id}, OLD_VERSION  # type: ignore[typeddict-item]
    )
    shown = created.to_dict()
    assert "promotion" not in shown
    assert shown["coupon"]["id"] == coupon.id
    assert shown["coupon"]["object"] == "coupon"
    assert shown["coupon"]["valid"] is True
    # Each version takes its own spelling only.
    error = refused(client.v1.promotion_codes.create, {"coupon": coupon.id})
    assert (error.code, error.param) == ("parameter_unknown", "coupon")
    error = refused(
        client.v1.promotion_codes.create, {"promotion": {"type": "coupon", "coupon": coupon.id}}, OLD_VERSION
    )
    assert (error.code, error.param) == ("parameter_unknown", "promotion")
    assert client.v1.promotion_codes.retrieve(created.id).promotion.coupon == coupon.id


def test_codes_are_unique_among_active_codes_regardless_of_case(client: stripe.StripeClient) -> None:
    coupon = make_coupon(client)
    code = unique("WELCOME")
    first = promo(client, coupon.id, code=code)
    error = refused(lambda: promo(client, coupon.id, **{"code": code.lower()}))
    assert error.param == "code"
    assert error.code == "resource_already_exists"
    client.v1.promotion_codes.update(first.id, {"active": False})
    second = promo(client, coupon.id, code=code.lower())
    assert second.active is True
    error = refused(client.v1.promotion_codes.update, first.id, {"active": True})
    assert error.param == "code"
    assert client.v1.promotion_codes.retrieve(first.id).active is False


def test_customer_codes_may_share_text_with_each_other(client: stripe.StripeClient) -> None:
    coupon = make_coupon(client)
    alice = client.v1.customers.create({"email": "alice@example.com"})
    bob = client.v1.customers.create({"email": "bob@example.com"})
    code = unique("VIP")
    promo(client, coupon.id, code=code, customer=alice.id)
    for_bob = promo(client, coupon.id, code=code, customer=bob.id)
    assert for_bob.customer == bob.id
    # A code for anyone would clash with both.
    assert refused(lambda: promo(client, coupon.id, **{"code": code})).param == "code"
    listed = client.v1.promotion_codes.list({"code": code.lower()})
    assert {p.customer for p in listed.data} == {alice.id, bob.id}
    assert [p.id for p in client.v1.promotion_codes.list({"customer": bob.id}).data] == [for_bob.id]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"customer": "cus_missing"}, "customer"),
        ({"expires_at": 1_000_000}, "expires_at"),
        ({"max_redemptions": 11}, "max_redemptions"),
        ({"expires_at": 4_000_000_000}, "expires_at"),
        ({"code": "has space"}, "code"),
        ({"restrictions": {"minimum_amount": 1000}}, "restrictions[minimum_amount_currency]"),
        ({"restrictions": {"minimum_amount_currency": "usd"}}, "restrictions[minimum_amount]"),
        ({"restrictions": {"minimum_amount": 1000, "minimum_amount_currency": "usd",
                           "currency_options": {"usd": {"minimum_amount": 5}}}},
         "restrictions[currency_options][usd]"),
        ({"restrictions": {"currency_options": {"eur": {"minimum_amount": 5}}}},
         "restrictions[currency_options]"),
        ({"active": "maybe"}, "active"),
        ({"coupon_id": "x"}, "coupon_id"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(
    client: stripe.StripeClient, params: dict[str, Any], param: str
) -> None:
    redeem_by = int(time.time()) + 86400 * 30
    coupon = make_coupon(client, max_redemptions=10, redeem_by=redeem_by)
    code = unique("BAD")
    error = refused(lambda: promo(client, coupon.id, **({"code": code, **params} if param != "code" else params)))
    assert error.http_status == (404 if param == "customer" else 400)
    assert error.param == param
    assert client.v1.promotion_codes.list({"coupon": coupon.id}).data == []


def test_the_coupon_must_exist_and_be_valid(client: stripe.StripeClient) -> None:
    error = refused(lambda: promo(client, "NOSUCHCOUPON"))
    assert (error.http_status, error.code, error.param) == (404, "resource_missing", "promotion[coupon]")
    error = refused(client.v1.promotion_codes.create, {"promotion": {"type": "coupon"}})
    assert (error.code, error.param) == ("parameter_missing", "promotion[coupon]")
    error = refused(client.v1.promotion_codes.create, {})
    assert (error.code, error.param) == ("parameter_missing", "promotion")


def test_update_active_metadata_and_currency_minimums(client: stripe.StripeClient) -> None:
    coupon = make_coupon(client)
    created = promo(
        client, coupon.id,
        restrictions={"minimum_amount": 2000, "minimum_amount_currency": "usd", "first_time_transaction": True},
    )
    updated = client.v1.promotion_codes.update(
        created.id,
        {"active": False, "metadata": {"note": "paused"},
         "restrictions": {"currency_options": {"eur": {"minimum_amount": 1800}}}},
    )
    assert updated.active is False
    assert updated.metadata.to_dict() == {"note": "paused"}
    rules = updated.restrictions
    assert (rules.first_time_transaction, rules.minimum_amount, rules.minimum_amount_currency) == (True, 2000, "usd")
    assert rules.currency_options is not None
    assert list(rules.currency_options) == ["eur"]
    assert rules.currency_options["eur"].minimum_amount == 1800
    events = client.v1.events.list({"type": "promotion_code.updated", "limit": 20}).data
    (event,) = [e for e in events if e.data.object.to_dict().get("id") == created.id]
    assert event.data.to_dict()["previous_attributes"]["active"] is True
    error = refused(client.v1.promotion_codes.update, created.id, {"code": "NEWTEXT"})
    assert (error.code, error.param) == ("parameter_unknown", "code")
    reactivated = client.v1.promotion_codes.update(created.id, {"active": True})
    assert reactivated.active is True


def test_list_filters(client: stripe.StripeClient) -> None:
    coupon = make_coupon(client)
    other = make_coupon(client)
    code = unique("LIST")
    on = promo(client, coupon.id, code=code)
    off = promo(client, coupon.id, active=False)
    elsewhere = promo(client, other.id)
    assert [p.id for p in client.v1.promotion_codes.list({"coupon": coupon.id}).data] == [off.id, on.id]
    assert [p.id for p in client.v1.promotion_codes.list({"coupon": coupon.id, "active": True}).data] == [on.id]
    assert [p.id for p in client.v1.promotion_codes.list({"coupon": coupon.id, "active": False}).data] == [off.id]
    assert [p.id for p in client.v1.promotion_codes.list({"code": code.lower()}).data] == [on.id]
    assert [p.id for p in client.v1.promotion_codes.list({"coupon": other.id}).data] == [elsewhere.id]
    page = client.v1.promotion_codes.list({"coupon": coupon.id, "limit": 1})
    assert page.has_more is True and page.url == "/v1/promotion_codes"


def test_an_expired_code_is_inactive_and_listed_so(client: stripe.StripeClient) -> None:
    coupon = make_coupon(client)
    created = promo(client, coupon.id, expires_at=int(time.time()) + 2)
    assert created.active is True
    time.sleep(3.1)
    assert client.v1.promotion_codes.retrieve(created.id).active is False
    assert [p.id for p in client.v1.promotion_codes.list({"coupon": coupon.id, "active": False}).data] == [created.id]
    assert client.v1.promotion_codes.list({"coupon": coupon.id, "active": True}).data == []
    error = refused(client.v1.promotion_codes.update, created.id, {"active": True})
    assert error.param == "active"


def test_deleting_the_coupon_deactivates_its_codes(client: stripe.StripeClient) -> None:
    coupon = make_coupon(client)
    created = promo(client, coupon.id)
    client.v1.coupons.delete(coupon.id)
    assert client.v1.promotion_codes.retrieve(created.id).active is False
    error = refused(client.v1.promotion_codes.update, created.id, {"active": True})
    assert error.param == "active"
    old = client.v1.promotion_codes.retrieve(created.id, options=OLD_VERSION).to_dict()
    assert old["coupon"]["id"] == coupon.id and old["coupon"]["valid"] is False


def test_missing_promotion_code_is_404(client: stripe.StripeClient) -> None:
    error = refused(client.v1.promotion_codes.retrieve, "promo_missing")
    assert (error.http_status, error.code, error.param) == (404, "resource_missing", "id")
