"""``expand[]``: ids become objects, along nested paths and through lists, within Stripe's limits."""

from __future__ import annotations

import httpx
import pytest
import stripe

from tests.wire.conftest import customers_with


@pytest.fixture
def customer_with_card(client: stripe.StripeClient, email: str) -> stripe.Customer:
    customer = client.v1.customers.create({"email": email})
    method = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    return client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": method.id}})


def test_nested_paths_expand(client: stripe.StripeClient, customer_with_card: stripe.Customer) -> None:
    plain = client.v1.customers.retrieve(customer_with_card.id)
    method_id = plain.invoice_settings.default_payment_method
    assert isinstance(method_id, str) and method_id.startswith("pm_")
    expanded = client.v1.customers.retrieve(
        customer_with_card.id, {"expand": ["invoice_settings.default_payment_method.customer"]}
    )
    method = expanded.invoice_settings.default_payment_method
    assert isinstance(method, stripe.PaymentMethod)
    assert method.id == method_id
    assert isinstance(method.customer, stripe.Customer)
    assert method.customer.id == customer_with_card.id


def test_lists_expand_through_data(client: stripe.StripeClient, customer_with_card: stripe.Customer) -> None:
    listed = client.v1.payment_methods.list({"customer": customer_with_card.id, "expand": ["data.customer"]})
    assert [m.customer.id for m in listed.data] == [customer_with_card.id]  # type: ignore[union-attr]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_methods.list({"customer": customer_with_card.id, "expand": ["customer"]})
    assert raised.value.param == "expand"
    assert "data.customer" in str(raised.value.user_message)


def test_expand_on_create_and_update_responses(client: stripe.StripeClient,
                                               customer_with_card: stripe.Customer) -> None:
    updated = client.v1.customers.update(
        customer_with_card.id, {"name": "E", "expand": ["invoice_settings.default_payment_method"]}
    )
    assert isinstance(updated.invoice_settings.default_payment_method, stripe.PaymentMethod)


@pytest.mark.parametrize("path", ["email", "metadata", "address", "nonexistent"])
def test_fields_that_do_not_expand_are_refused(client: stripe.StripeClient, email: str, path: str) -> None:
    customer = client.v1.customers.create({"email": email})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.retrieve(customer.id, {"expand": [path]})
    assert raised.value.http_status == 400
    assert raised.value.param == "expand"
    assert str(raised.value.user_message) == f"This property cannot be expanded ({path})."


def test_a_path_through_null_stays_null(client: stripe.StripeClient, email: str) -> None:
    customer = client.v1.customers.create({"email": email})
    expanded = client.v1.customers.retrieve(customer.id, {"expand": ["test_clock", "default_source"]})
    assert expanded.test_clock is None and expanded.default_source is None


def test_a_refused_expand_on_create_changes_nothing(client: stripe.StripeClient, email: str) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create({"email": email, "expand": ["email"]})
    assert customers_with(client, email) == []


def test_depth_is_limited_to_four_levels(client: stripe.StripeClient, email: str) -> None:
    customer = client.v1.customers.create({"email": email})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.retrieve(customer.id, {"expand": ["a.b.c.d.e"]})
    assert raised.value.param == "expand"
    assert "more than 4 levels" in str(raised.value.user_message)


def test_expand_accepts_both_array_encodings(http: httpx.Client, customer_with_card: stripe.Customer) -> None:
    path = f"/v1/customers/{customer_with_card.id}"
    for query in ("expand[]=invoice_settings.default_payment_method",
                  "expand[0]=invoice_settings.default_payment_method"):
        body = http.get(f"{path}?{query}").json()
        assert body["invoice_settings"]["default_payment_method"]["object"] == "payment_method"
