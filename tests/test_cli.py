"""The ``billfold`` command: keys printed on first start and again by ``billfold keys``."""

from __future__ import annotations

import stripe

from tests.support.server import Server


def test_keys_prints_the_pinned_and_generated_keys(server: Server) -> None:
    output = server.cli("keys")
    assert server.secret_key in output
    assert server.publishable_key in output
    assert "sk_live_" in output and "pk_live_" in output
    first_start = server.log_path.read_text()
    assert server.secret_key in first_start


def test_a_created_secret_key_works(server: Server) -> None:
    secret = server.cli("keys", "create").strip()
    assert secret.startswith("sk_test_")
    client = stripe.StripeClient(secret, base_addresses={"api": server.url})
    assert client.v1.customers.list({"limit": 1}).object == "list"
