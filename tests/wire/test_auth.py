"""API keys: Bearer and Basic auth, secret/publishable/restricted keys, test and live mode."""

from __future__ import annotations

import subprocess

import httpx
import pytest
import stripe

from tests.support.server import Server
from tests.wire.conftest import customers_with, error_of, live_secret_key


def sdk(server: Server, key: str) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": server.url}, max_network_retries=0)


def test_bearer_and_basic_auth_both_work(server: Server) -> None:
    bearer = httpx.get(f"{server.url}/v1/customers", headers={"Authorization": f"Bearer {server.secret_key}"})
    assert bearer.status_code == 200
    basic = httpx.get(f"{server.url}/v1/customers", auth=(server.secret_key, ""))
    assert basic.status_code == 200
    assert basic.json()["object"] == "list"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Basic Og=="}],
    ids=["none", "empty", "bare-bearer", "empty-basic-user"],
)
def test_no_key_is_401(server: Server, headers: dict[str, str]) -> None:
    response = httpx.get(f"{server.url}/v1/customers", headers=headers)
    assert response.status_code == 401
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("You did not provide an API key.")


@pytest.mark.parametrize(
    "header",
    ["Bearer sk_test_doesnotexist000000000000", "Basic !!notbase64!!", "Token abc", "Bearer " + "x" * 5000],
)
def test_bad_keys_are_401(server: Server, header: str) -> None:
    response = httpx.get(f"{server.url}/v1/customers", headers={"Authorization": header})
    assert response.status_code == 401
    assert error_of(response)["type"] == "invalid_request_error"


def test_unknown_key_is_masked_and_the_sdk_raises_authentication_error(server: Server) -> None:
    with pytest.raises(stripe.AuthenticationError) as raised:
        sdk(server, "sk_test_unknownKey0000000000wxyz").v1.customers.list()
    assert raised.value.http_status == 401
    message = str(raised.value.user_message)
    assert message.startswith("Invalid API Key provided: sk_test_****")
    assert message.endswith("wxyz")
    assert "unknownKey" not in message
    assert raised.value.request_id and raised.value.request_id.startswith("req_")


def test_publishable_key_cannot_create_a_customer(public_client: stripe.StripeClient,
                                                  client: stripe.StripeClient, email: str) -> None:
    with pytest.raises(stripe.PermissionError) as raised:
        public_client.v1.customers.create({"email": email})
    assert raised.value.http_status == 403
    body = raised.value.json_body or {}
    assert body["error"]["code"] == "secret_key_required"
    assert body["error"]["type"] == "invalid_request_error"
    assert "cannot be made with a publishable API key" in str(raised.value.user_message)
    with pytest.raises(stripe.PermissionError):
        public_client.v1.customers.list()
    assert customers_with(client, email) == []


def test_publishable_key_is_refused_before_parameters_are_read(server: Server) -> None:
    response = httpx.post(f"{server.url}/v1/customers", data={"nonsense": "1"},
                          headers={"Authorization": f"Bearer {server.publishable_key}"})
    assert response.status_code == 403


def test_restricted_read_key_reads_but_cannot_write(server: Server, client: stripe.StripeClient,
                                                    email: str) -> None:
    existing = client.v1.customers.create({"email": email})
    secret = server.cli("keys", "create", "--restricted", "--permission", "customers=read").strip()
    assert secret.startswith("rk_test_")
    reader = sdk(server, secret)
    assert [c.id for c in reader.v1.customers.list({"email": email}).data] == [existing.id]
    assert reader.v1.customers.retrieve(existing.id).email == email
    with pytest.raises(stripe.PermissionError) as raised:
        reader.v1.customers.create({"email": email})
    assert raised.value.http_status == 403
    message = str(raised.value.user_message)
    assert "does not have the required permissions" in message
    assert "'rak_customer_write'" in message
    assert secret not in message and secret[-4:] in message
    with pytest.raises(stripe.PermissionError):
        reader.v1.customers.update(existing.id, {"name": "Changed"})
    with pytest.raises(stripe.PermissionError):
        reader.v1.customers.delete(existing.id)
    assert client.v1.customers.retrieve(existing.id).to_dict().get("name") is None
    assert customers_with(client, email) == [existing.id]


def test_restricted_write_key_writes_and_reads(server: Server, email: str) -> None:
    secret = server.cli("keys", "create", "--restricted", "--permission", "customers=write").strip()
    writer = sdk(server, secret)
    made = writer.v1.customers.create({"email": email})
    assert writer.v1.customers.retrieve(made.id).id == made.id
    assert writer.v1.customers.update(made.id, {"name": "W"}).name == "W"


def test_restricted_key_without_the_resource_is_refused(server: Server) -> None:
    secret = server.cli("keys", "create", "--restricted", "--permission", "charges=write").strip()
    with pytest.raises(stripe.PermissionError) as raised:
        sdk(server, secret).v1.customers.list()
    assert "'rak_customer_read'" in str(raised.value.user_message)


def test_live_and_test_mode_are_separate(server: Server, client: stripe.StripeClient, email: str) -> None:
    live = sdk(server, live_secret_key(server))
    live_customer = live.v1.customers.create({"email": email})
    test_customer = client.v1.customers.create({"email": email})
    assert live_customer.livemode is True
    assert test_customer.livemode is False
    assert customers_with(client, email) == [test_customer.id]
    assert customers_with(live, email) == [live_customer.id]
    for reader, foreign in ((client, live_customer.id), (live, test_customer.id)):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            reader.v1.customers.retrieve(foreign)
        assert raised.value.http_status == 404
        assert raised.value.code == "resource_missing"
        with pytest.raises(stripe.InvalidRequestError):
            reader.v1.customers.update(foreign, {"name": "cross-mode"})
    assert client.v1.customers.retrieve(test_customer.id).to_dict().get("name") is None


def test_a_created_live_secret_key_sees_live_objects(server: Server, email: str) -> None:
    secret = server.cli("keys", "create", "--live").strip()
    assert secret.startswith("sk_live_")
    made = sdk(server, secret).v1.customers.create({"email": email})
    assert made.livemode is True
    assert customers_with(sdk(server, live_secret_key(server)), email) == [made.id]


def test_browsers_may_call_the_api_cross_origin(server: Server) -> None:
    preflight = httpx.options(f"{server.url}/v1/payment_methods", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, stripe-version"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "stripe-version" in preflight.headers["access-control-allow-headers"]
    response = httpx.get(f"{server.url}/v1/customers", headers={"Origin": "https://shop.example"})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == "*"
    assert "Request-Id" in response.headers["access-control-expose-headers"]


def test_restricted_keys_name_real_resources(server: Server) -> None:
    with pytest.raises(subprocess.CalledProcessError) as raised:
        server.cli("keys", "create", "--restricted", "--permission", "customer=read")
    assert "unknown resource 'customer'" in raised.value.stderr
    with pytest.raises(subprocess.CalledProcessError):
        server.cli("keys", "create", "--restricted")
    everything = server.cli("keys", "create", "--restricted", "--permission", "*=read").strip()
    reader = sdk(server, everything)
    assert reader.v1.customers.list({"limit": 1}).object == "list"
    with pytest.raises(stripe.PermissionError):
        reader.v1.customers.create({"name": "no"})
