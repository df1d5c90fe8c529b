"""An acknowledged write survives ``kill -9``: every customer whose create returned 200 is there
after a restart on the same database."""

from __future__ import annotations

import secrets
import threading
import time

import pytest
import stripe

from tests.support.server import Server
from tests.wire.conftest import customers_with


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_acknowledged_creates_survive_kill_9(fresh_server: Server) -> None:
    fresh_server.start()
    email = f"durable-{secrets.token_hex(4)}@example.com"
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def create_until_the_server_dies() -> None:
        writer = stripe.StripeClient(fresh_server.secret_key, base_addresses={"api": fresh_server.url},
                                     max_network_retries=0)
        while not stop.is_set():
            try:
                made = writer.v1.customers.create({"email": email, "metadata": {"n": "1"}})
            except stripe.StripeError:
                return
            with lock:
                acknowledged.append(made.id)

    writers = [threading.Thread(target=create_until_the_server_dies) for _ in range(6)]
    for writer in writers:
        writer.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    fresh_server.kill()
    stop.set()
    for writer in writers:
        writer.join(30)
    assert len(acknowledged) >= 40

    fresh_server.start()
    reader = stripe.StripeClient(fresh_server.secret_key, base_addresses={"api": fresh_server.url})
    stored = set(customers_with(reader, email))
    assert set(acknowledged) <= stored
    # At most the requests in flight at the kill committed without an acknowledgement.
    assert len(stored) - len(acknowledged) <= len(writers)
    for customer_id in acknowledged[-5:]:
        assert reader.v1.customers.retrieve(customer_id).metadata.to_dict() == {"n": "1"}
