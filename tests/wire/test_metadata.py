"""Metadata as Stripe limits it: 50 keys, keys up to 40 characters, values up to 500, strings only."""

from __future__ import annotations

import httpx
import pytest
import stripe

from tests.wire.conftest import customers_with, error_of


def test_limits_are_inclusive(client: stripe.StripeClient, email: str) -> None:
    fifty = {f"k{i}": str(i) for i in range(50)}
    assert len(client.v1.customers.create({"email": email, "metadata": fifty}).metadata.to_dict()) == 50
    edge = {"k" * 40: "v" * 500}
    assert client.v1.customers.create({"email": email, "metadata": edge}).metadata.to_dict() == edge


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({f"k{i}": "v" for i in range(51)}, "Metadata can have up to 50 keys, but you've set 51."),
        ({"k" * 41: "v"}, "Metadata keys can have up to 40 characters"),
        ({"k": "v" * 501}, "Metadata values can have up to 500 characters"),
        ({"a[b]": "v"}, None),
        ({"a]": "v"}, None),
    ],
)
def test_over_the_limits_is_400_and_nothing_is_created(client: stripe.StripeClient, email: str,
                                                       metadata: dict[str, str], message: str | None) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.create({"email": email, "metadata": metadata})
    assert raised.value.http_status == 400
    assert str(raised.value.param).startswith("metadata")
    if message:
        assert str(raised.value.user_message).startswith(message)
    assert customers_with(client, email) == []


def test_values_must_be_strings(http: httpx.Client, client: stripe.StripeClient, email: str) -> None:
    for body in ("metadata[a][b]=1", "metadata[a][]=1", "metadata[]=1"):
        response = http.post("/v1/customers", content=f"email={email.replace('@', '%40')}&{body}",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 400, body
        assert error_of(response)["param"].startswith("metadata")
    assert customers_with(client, email) == []
    # The SDKs send numbers and booleans as their text, which is what is stored.
    made = client.v1.customers.create({"email": email, "metadata": {"n": 7, "b": True}})  # type: ignore[arg-type]
    assert made.metadata.to_dict() == {"n": "7", "b": "true"}


def test_empty_value_removes_a_key_and_empty_metadata_clears_all(client: stripe.StripeClient, email: str) -> None:
    customer = client.v1.customers.create({"email": email, "metadata": {"a": "1", "b": "2", "c": "3"}})
    updated = client.v1.customers.update(customer.id, {"metadata": {"a": "", "d": "4"}})
    assert updated.metadata.to_dict() == {"b": "2", "c": "3", "d": "4"}
    untouched = client.v1.customers.update(customer.id, {"name": "N"})
    assert untouched.metadata.to_dict() == {"b": "2", "c": "3", "d": "4"}
    cleared = client.v1.customers.update(customer.id, {"metadata": ""})
    assert cleared.metadata.to_dict() == {}
    assert client.v1.customers.create({"email": email, "metadata": {"gone": ""}}).metadata.to_dict() == {}


def test_an_update_past_fifty_keys_changes_nothing(client: stripe.StripeClient, email: str) -> None:
    customer = client.v1.customers.create({"email": email, "metadata": {f"k{i}": "v" for i in range(30)}})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.update(customer.id, {"metadata": {f"n{i}": "v" for i in range(21)}, "name": "X"})
    assert raised.value.param == "metadata"
    assert "you've set 51" in str(raised.value.user_message)
    after = client.v1.customers.retrieve(customer.id)
    assert len(after.metadata.to_dict()) == 30
    assert after.to_dict().get("name") is None
    # Removing keys in the same update makes room.
    merged = client.v1.customers.update(
        customer.id, {"metadata": {**{f"n{i}": "v" for i in range(21)}, "k0": "", "k1": ""}}
    )
    assert len(merged.metadata.to_dict()) == 49
