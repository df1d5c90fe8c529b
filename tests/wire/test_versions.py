"""``Stripe-Version``: the SDK's pinned version, older versions, garbage, and the account default."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest
import stripe

from billfold.errors import InvalidRequestError
from billfold.wire.versions import LATEST, validate
from tests.support.server import Server
from tests.wire.conftest import error_of


def test_the_sdk_sends_its_pinned_version_and_it_is_echoed(client: stripe.StripeClient) -> None:
    listed = client.v1.customers.list({"limit": 1})
    assert listed.last_response is not None
    assert listed.last_response.headers["Stripe-Version"] == stripe.api_version == LATEST


@pytest.mark.parametrize("version", ["2020-08-27", "2024-04-10", "2019-02-19", "2025-03-31.basil",
                                     "2024-09-30.acacia", "2025-10-29.clover"])
def test_older_versions_are_accepted_and_echoed(server: Server, version: str) -> None:
    pinned = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url}, stripe_version=version)
    customer = pinned.v1.customers.create({"name": "versioned"})
    assert customer.last_response is not None
    assert customer.last_response.headers["Stripe-Version"] == version


@pytest.mark.parametrize("version", ["garbage", "2020-8-27", "2020-02-30", "2099-01-01", "2024-10-28",
                                     "2025-03-31.acacia", "2025-03-31.zinnia", "2020-08-27;link_beta=v1",
                                     "2010-12-31", "2025-03-31.BASIL"])
def test_invalid_versions_are_400(server: Server, version: str) -> None:
    pinned = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url}, stripe_version=version)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        pinned.v1.customers.list()
    assert raised.value.http_status == 400
    assert str(raised.value.user_message).startswith(f"Invalid Stripe API version: {version}")
    with pytest.raises(InvalidRequestError):
        validate(version)


def test_without_the_header_the_account_default_applies(http: httpx.Client) -> None:
    response = http.get("/v1/customers", params={"limit": 1})
    assert response.status_code == 200
    assert response.headers["Stripe-Version"] == LATEST


def _default_version(server: Server) -> str:
    response = httpx.get(f"{server.url}/v1/customers", auth=(server.secret_key, ""))
    assert response.status_code == 200
    return response.headers["Stripe-Version"]


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_the_account_default_can_be_changed(fresh_server: Server) -> None:
    assert "default_api_version=2020-08-27" in fresh_server.cli("settings", "set", "default_api_version=2020-08-27")
    fresh_server.start()
    assert _default_version(fresh_server) == "2020-08-27"
    explicit = httpx.get(f"{fresh_server.url}/v1/customers", auth=(fresh_server.secret_key, ""),
                         headers={"Stripe-Version": "2024-04-10"})
    assert explicit.headers["Stripe-Version"] == "2024-04-10"
    # A running server notices a change within a few seconds.
    fresh_server.cli("settings", "set", "default_api_version=2025-03-31.basil")
    deadline = time.monotonic() + 10
    while _default_version(fresh_server) != "2025-03-31.basil":
        assert time.monotonic() < deadline, "the new default never reached the running server"
        time.sleep(0.25)
    assert "default_api_version=2025-03-31.basil" in fresh_server.cli("settings")
    with pytest.raises(subprocess.CalledProcessError) as raised:
        fresh_server.cli("settings", "set", "default_api_version=someday")
    assert "Invalid Stripe API version" in raised.value.stderr
    assert _default_version(fresh_server) == "2025-03-31.basil"


def test_error_responses_carry_the_version_once_known(http: httpx.Client) -> None:
    response = http.get("/v1/customers/cus_nope", headers={"Stripe-Version": "2020-08-27"})
    assert response.status_code == 404
    assert response.headers["Stripe-Version"] == "2020-08-27"
    bad = http.get("/v1/customers", headers={"Stripe-Version": "nope"})
    assert bad.status_code == 400
    assert "stripe-version" not in bad.headers
    assert error_of(bad)["type"] == "invalid_request_error"
