"""The SDK's own ways of being pointed at a server work unchanged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from tests.support.server import Server


@pytest.fixture
def global_stripe(server: Server) -> Iterator[None]:
    saved = (stripe.api_key, stripe.api_base)
    stripe.api_key, stripe.api_base = server.secret_key, server.url
    yield
    stripe.api_key, stripe.api_base = saved


@pytest.mark.usefixtures("global_stripe")
def test_module_level_api_base() -> None:
    customer = stripe.Customer.create(email="global@example.com")
    assert stripe.Customer.retrieve(customer.id).email == "global@example.com"


def test_stripe_account_header_for_a_stranger_is_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.PermissionError) as raised:
        client.v1.customers.list(options={"stripe_account": "acct_notmine000000"})
    assert raised.value.http_status == 403
