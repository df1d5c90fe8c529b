"""``GET /metrics``: Prometheus counters that move with the SDK's requests, webhook deliveries
and the job worker, and gauges read from the database. A server of this module's own per
backend (its counters start at zero), with ``BILLFOLD_METRICS_TOKEN`` set."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import stripe
from prometheus_client.parser import text_string_to_metric_families

from tests.billing.test_subscriptions import price
from tests.billing.test_test_clocks import DAY, FEB_1, advance, clock_customer, make_clock
from tests.conftest import BACKENDS, new_server
from tests.events.conftest import Receiver
from tests.support.server import Server, drop_pg_database

TOKEN = "metrics-token-for-tests"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp(f"metrics-{request.param}")
    instance = new_server(request.param, workdir, BILLFOLD_METRICS_TOKEN=TOKEN).start()
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)


def scrape(server: Server) -> Samples:
    response = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def eventually(read: Callable[[], Samples], check: Callable[[Samples], bool], timeout: float = 20) -> Samples:
    deadline = time.monotonic() + timeout
    while True:
        samples = read()
        if check(samples):
            return samples
        if time.monotonic() > deadline:
            raise AssertionError("the metrics never got there")
        time.sleep(0.2)


def test_metrics_need_the_token(server: Server) -> None:
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    wrong = httpx.get(f"{server.url}/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["type"] == "invalid_request_error"


def test_requests_are_counted_by_route_template(server: Server, client: stripe.StripeClient) -> None:
    before = scrape(server)
    customer = client.v1.customers.create({"email": "jenny@example.com"})
    client.v1.customers.retrieve(customer.id)
    client.v1.customers.update(customer.id, {"name": "Jenny"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.retrieve("cus_missing")
    after = scrape(server)

    one = "/v1/customers/{customer}"

    def moved(method: str, route: str, status: str) -> float:
        labels = {"method": method, "route": route, "status": status}
        return value(after, "billfold_http_requests_total", **labels) - value(
            before, "billfold_http_requests_total", **labels
        )

    assert moved("POST", "/v1/customers", "200") == 1
    assert moved("GET", one, "200") == 1
    assert moved("POST", one, "200") == 1
    assert moved("GET", one, "404") == 1
    histogram = ("billfold_http_request_duration_seconds_count", (("method", "GET"), ("route", one)))
    assert after[histogram] - before.get(histogram, 0) == 2
    # Route templates only: no object id ever becomes a label value.
    labels = " ".join(v for (_, pairs) in after for _, v in pairs)
    assert customer.id not in labels and "cus_missing" not in labels


def test_unmatched_paths_share_one_label(server: Server) -> None:
    before = scrape(server)
    response = httpx.get(f"{server.url}/v1/nothing_here/abc123",
                         headers={"Authorization": f"Bearer {server.secret_key}"})
    assert response.status_code == 404
    after = scrape(server)
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, "billfold_http_requests_total", **labels) == value(
        before, "billfold_http_requests_total", **labels) + 1
    assert not any("abc123" in v for (_, pairs) in after for _, v in pairs)


def test_idempotent_replays_are_counted(server: Server, client: stripe.StripeClient) -> None:
    before = value(scrape(server), "billfold_idempotent_replays_total")
    key = f"metrics-replay-{time.time_ns()}"
    first = client.v1.customers.create({"email": "a@example.com"}, options={"idempotency_key": key})
    again = client.v1.customers.create({"email": "a@example.com"}, options={"idempotency_key": key})
    assert first.id == again.id
    assert value(scrape(server), "billfold_idempotent_replays_total") == before + 1


def test_a_failing_webhook_endpoint_shows_as_backlog_and_failures(
    server: Server, client: stripe.StripeClient
) -> None:
    receiver = Receiver().start()
    receiver.status, receiver.delay = 500, 2.0
    endpoint = client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["customer.created"]})
    try:
        before = scrape(server)
        client.v1.customers.create({"email": "hook@example.com"})
        # While the endpoint sits on the first attempt, the delivery is due and undelivered.
        receiver.wait_for(lambda r: len(r.requests) >= 1)
        during = scrape(server)
        assert value(during, "billfold_webhook_backlog") >= 1
        assert value(during, "billfold_webhook_backlog_oldest_seconds") >= 0
        failed = "billfold_webhook_delivery_failures_total"
        after = eventually(lambda: scrape(server), lambda s: value(s, failed) > value(before, failed))
        retrying = {"outcome": "retrying"}
        assert value(after, "billfold_webhook_deliveries_total", **retrying) > value(
            before, "billfold_webhook_deliveries_total", **retrying)
        # The retry is scheduled: still pending in the database.
        assert value(after, "billfold_webhook_deliveries_pending") >= 1
    finally:
        client.v1.webhook_endpoints.delete(endpoint.id)
        receiver.stop()
    # Deleting the endpoint cancels what was pending for it.
    eventually(lambda: scrape(server), lambda s: value(s, "billfold_webhook_deliveries_pending") == 0)


def test_a_successful_delivery_is_counted(server: Server, client: stripe.StripeClient) -> None:
    receiver = Receiver().start()
    endpoint = client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["product.created"]})
    try:
        name = "billfold_webhook_deliveries_total"
        before = value(scrape(server), name, outcome="succeeded")
        client.v1.products.create({"name": "Metered"})
        eventually(lambda: scrape(server), lambda s: value(s, name, outcome="succeeded") == before + 1)
    finally:
        client.v1.webhook_endpoints.delete(endpoint.id)
        receiver.stop()


def test_jobs_billing_runs_and_renewal_invoices_are_counted(
    server: Server, client: stripe.StripeClient
) -> None:
    before = scrape(server)
    clock = make_clock(client)
    customer = clock_customer(client, clock.id)
    client.v1.subscriptions.create({"customer": customer, "items": [{"price": price(client)}]})
    advance(client, clock.id, FEB_1 + DAY)
    kind = {"kind": "test_clock.advance"}
    after = eventually(
        lambda: scrape(server),
        lambda s: value(s, "billfold_renewal_invoices_created_total")
        > value(before, "billfold_renewal_invoices_created_total"),
    )
    assert value(after, "billfold_jobs_executed_total", outcome="done", **kind) > value(
        before, "billfold_jobs_executed_total", outcome="done", **kind)
    assert value(after, "billfold_billing_runs_total", **kind) > value(
        before, "billfold_billing_runs_total", **kind)
    assert value(after, "billfold_renewal_invoices_created_total") == value(
        before, "billfold_renewal_invoices_created_total") + 1
    assert value(after, "billfold_jobs_due") >= 0 and value(after, "billfold_jobs_failed") == 0
