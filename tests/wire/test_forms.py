"""Stripe's form encoding: the decoder on its own, then raw bodies sent to real servers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from billfold.errors import InvalidRequestError
from billfold.wire.forms import decode
from tests.wire.conftest import customers_with, error_of


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("email=a%40b.com", {"email": "a@b.com"}),
        ("name=Jenny+Rosen", {"name": "Jenny Rosen"}),
        ("metadata[order]=6735", {"metadata": {"order": "6735"}}),
        ("items[0][price]=p1&items[1][price]=p2", {"items": {"0": {"price": "p1"}, "1": {"price": "p2"}}}),
        ("expand[]=a&expand[]=b", {"expand": ["a", "b"]}),
        ("expand[0]=a&expand[1]=b", {"expand": {"0": "a", "1": "b"}}),
        ("a[b][c][d]=1", {"a": {"b": {"c": {"d": "1"}}}}),
        ("description=", {"description": ""}),
        ("metadata=", {"metadata": ""}),
        ("flag", {"flag": ""}),
        ("name=%E2%82%AC", {"name": "\u20ac"}),
        ("a=1&a=2", {"a": "2"}),
        ("", {}),
        ("&&", {}),
    ],
)
def test_decodes_stripe_brackets(raw: str, expected: dict[str, Any]) -> None:
    assert decode(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "a[b]=1&a=2",  # a hash, then a string
        "a=2&a[b]=1",  # a string, then a hash
        "a[]=1&a[b]=2",  # an array, then a hash
        "a[b]=1&a[]=2",
        "a[b]=1&a[b][c]=2",
        "a]=1",
        "a[b=1",
        "[a]=1",
        "=1",
        "a[b]c=1",
        "a" + "[x]" * 8 + "=1",  # deeper than any Stripe parameter
        "name=%ZZ",
        "name=100%",
        "name=%E9",  # a percent-encoded byte that is not UTF-8
        "name=%ED%A0%80",  # an encoded UTF-16 surrogate
        "name=a%00b",
        "na%00me=x",
        "a=1&" * 10_001,  # more fields than any request needs
    ],
)
def test_malformed_input_is_an_invalid_request(raw: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        decode(raw)
    assert raised.value.status == 400


def test_nested_parameters_reach_the_resource(http: httpx.Client, email: str) -> None:
    body = (
        f"email={email.replace('@', '%40')}&metadata[order]=6735&metadata[note]=a+b"
        "&preferred_locales[1]=fr&preferred_locales[0]=en"
        "&invoice_settings[custom_fields][0][name]=VAT&invoice_settings[custom_fields][0][value]=GB1"
        "&address[city]=London&expand[]=invoice_settings.default_payment_method"
    )
    response = http.post("/v1/customers", content=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200, response.text
    customer = response.json()
    assert customer["metadata"] == {"order": "6735", "note": "a b"}
    assert customer["preferred_locales"] == ["en", "fr"]
    assert customer["invoice_settings"]["custom_fields"] == [{"name": "VAT", "value": "GB1"}]
    assert customer["address"]["city"] == "London"


def test_get_parameters_come_from_the_query_string(http: httpx.Client, client: stripe.StripeClient,
                                                   email: str) -> None:
    made = client.v1.customers.create({"email": email}).id
    for query in (f"email={email}&limit=1&expand[]=data.test_clock",
                  f"email={email}&limit=1&expand[0]=data.test_clock"):
        response = http.get(f"/v1/customers?{query.replace('@', '%40')}")
        assert response.status_code == 200, response.text
        assert [c["id"] for c in response.json()["data"]] == [made]
    retrieved = http.get(f"/v1/customers/{made}?expand[]=invoice_settings.default_payment_method")
    assert retrieved.status_code == 200
    assert retrieved.json()["id"] == made


@pytest.mark.parametrize(
    ("body", "content_type", "param"),
    [
        (b"email={email}&metadata[a]=1&metadata=2", "application/x-www-form-urlencoded", "metadata"),
        (b"email={email}&name=100%", "application/x-www-form-urlencoded", None),
        (b"email={email}&name=%C3%28", "application/x-www-form-urlencoded", None),
        (b"email={email}&name=\xff\xfe", "application/x-www-form-urlencoded", None),
        (b'{"email": "{email}"}', "application/json", None),
        (b"email={email}&address[city][x]=1", "application/x-www-form-urlencoded", "address[city]"),
        (b"email={email}&name=a%00b", "application/x-www-form-urlencoded", "name"),
    ],
)
def test_malformed_bodies_are_400_and_change_nothing(
    http: httpx.Client, client: stripe.StripeClient, email: str,
    body: bytes, content_type: str, param: str | None,
) -> None:
    payload = body.replace(b"{email}", email.replace("@", "%40").encode())
    response = http.post("/v1/customers", content=payload, headers={"Content-Type": content_type})
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param
    assert customers_with(client, email) == []


def test_query_and_body_together_are_one_set_of_parameters(http: httpx.Client, client: stripe.StripeClient,
                                                           email: str) -> None:
    clash = http.post("/v1/customers?metadata=x", content=f"email={email}&metadata[a]=1",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert clash.status_code == 400
    assert customers_with(client, email) == []
    merged = http.post(f"/v1/customers?email={email.replace('@', '%40')}", content="name=Q",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert merged.status_code == 200
    assert merged.json()["email"] == email and merged.json()["name"] == "Q"


def test_raw_non_ascii_in_the_query_string_is_decoded_or_refused(http: httpx.Client) -> None:
    good = http.get("/v1/customers", params={"email": "j\u00f6rg@example.com"})
    assert good.status_code == 200
    bad = http.get("/v1/customers?email=%FF")
    assert bad.status_code == 400
