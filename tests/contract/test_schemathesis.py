"""Fuzzing Billfold against its own OpenAPI document: schemathesis generates requests for every
operation (valid and invalid ones), and none may get a 500, a non-JSON body, or an error that is
not in Stripe's shape. A private server per backend, since the fuzzer creates whatever it likes.

The document is loaded from the running server (``/billfold/openapi.json``). Every operation
gets ``EXAMPLES`` positive and ``EXAMPLES`` negative cases; half the positive ones use ids of
real objects made beforehand in their path, so the fuzzer reaches past "No such customer".
Operations run one after another (Hypothesis's generation is not safe across threads), and
generation is derandomized, so a failure reproduces; each is reported with its curl command.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import requests
import schemathesis
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from tests.conftest import BACKENDS, new_server
from tests.contract.stripe_shape import problems
from tests.support.server import Server, drop_pg_database

# Cases per operation and mode; BILLFOLD_FUZZ_EXAMPLES=20 for a long run (nightly, say).
EXAMPLES = int(os.environ.get("BILLFOLD_FUZZ_EXAMPLES", "4"))
# Operations left out of the fuzzing, by operationId, each with the reason. Keep it empty.
EXCLUDED: dict[str, str] = {}


@schemathesis.serializer("application/x-www-form-urlencoded")
def stripe_form(ctx: Any, value: Any) -> bytes | None:
    """Bodies in Stripe's encoding (``a[b][0]=x``), as the SDKs send them."""
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    pairs: list[tuple[str, str]] = []
    _flatten(value, "", pairs)
    return urlencode(pairs).encode()


def _flatten(value: Any, prefix: str, pairs: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        if not value and prefix:
            pairs.append((prefix, ""))
        for key, item in value.items():
            _flatten(item, f"{prefix}[{key}]" if prefix else str(key), pairs)
    elif isinstance(value, list):
        if not prefix:
            pairs.append(("body", str(value)))  # a body that is not a hash: one odd field
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}[{index}]", pairs)
    elif isinstance(value, bool):
        pairs.append((prefix, "true" if value else "false"))
    elif value is None:
        pairs.append((prefix, ""))
    else:
        pairs.append((prefix, str(value)))


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = new_server(request.param, tmp_path_factory.mktemp(f"fuzz-{request.param}")).start()
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)


def real_ids(server: Server) -> dict[str, str]:
    """One real object per collection (``customers`` -> ``cus_...``), for path parameters."""
    client = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url})
    v1 = client.v1
    customer = v1.customers.create({"email": "fuzz@example.com", "payment_method": "pm_card_visa",
                                    "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    product = v1.products.create({"name": "Fuzz"})
    price = v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": 500,
                              "recurring": {"interval": "month"}})
    paid = v1.payment_intents.create({"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa",
                                      "confirm": True, "automatic_payment_methods": {
                                          "enabled": True, "allow_redirects": "never"}})
    refund = v1.refunds.create({"payment_intent": paid.id, "amount": 100})
    subscription = v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    account = v1.accounts.create({"type": "express", "country": "US", "email": "seller@example.com"})
    ids = {
        "customers": customer.id,
        "products": product.id,
        "prices": price.id,
        "payment_intents": paid.id,
        "charges": str(paid.latest_charge),
        "refunds": refund.id,
        "subscriptions": subscription.id,
        "invoices": str(subscription.latest_invoice),
        "payment_methods": "pm_card_visa",
        "accounts": account.id,
        "coupons": v1.coupons.create({"percent_off": 10, "duration": "once"}).id,
        "setup_intents": v1.setup_intents.create({"customer": customer.id}).id,
        "test_clocks": v1.test_helpers.test_clocks.create({"frozen_time": 1_767_225_600}).id,
        "tax_rates": v1.tax_rates.create({"display_name": "VAT", "percentage": 20,
                                          "inclusive": False}).id,
    }
    return ids


def path_ids(path: str, ids: dict[str, str]) -> dict[str, str]:
    """Real ids for a path's parameters, by the collection each one follows."""
    found = {}
    for collection, name in re.findall(r"/([a-z_]+)/\{(\w+)\}", path):
        if collection in ids:
            found[name] = ids[collection]
    return found


def _refused_by_http_layer(response: Any) -> bool:
    """uvicorn's own plain-text 400 for a request target past the HTTP parser's limit (64 KiB
    with httptools): it never reaches Billfold's pipeline, so it cannot carry Stripe's shape.
    Nothing else is excused."""
    return (response.status_code == 400 and len(response.request.url) > 65_000
            and response.content.startswith(b"Invalid HTTP request"))


def fuzz(operation: Any, server: Server, ids: dict[str, str], counter: list[int]) -> list[str]:
    """Run one operation's cases; what went wrong, one line (and curl command) per failure."""
    session = requests.Session()
    headers = {"Authorization": f"Bearer {server.secret_key}"}
    strategies = [operation.as_strategy(GenerationMode.POSITIVE),
                  operation.as_strategy(GenerationMode.NEGATIVE)]
    known = path_ids(operation.path, ids)
    if known:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
    failures: list[str] = []

    @given(case=st.one_of(strategies))
    @settings(max_examples=EXAMPLES * len(strategies), deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        response = case.call(base_url=server.url, session=session, headers=headers, timeout=30)
        counter[0] += 1
        content_type = (response.headers.get("content-type") or [""])[0]
        found = problems(response.status_code, content_type, response.content)
        if response.status_code >= 500:
            found.insert(0, "a server error")  # schemathesis's not_a_server_error, as one line
        if found and not _refused_by_http_layer(response):
            curl = case.as_curl_command(headers=headers)
            failures.append(f"{operation.label}: {'; '.join(found)} [{response.status_code}]\n"
                            f"    {curl[:800]}{'...' if len(curl) > 800 else ''}")

    run()
    session.close()
    return failures


def test_every_operation_answers_without_server_errors_in_stripe_shape(fuzz_server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/billfold/openapi.json")
    schema.config.update(base_url=fuzz_server.url)
    operations = [result.ok() for result in schema.get_all_operations()]
    served = {route for route in httpx.get(f"{fuzz_server.url}/billfold/openapi.json").json()["paths"]}
    assert len(operations) >= len(served) > 100
    operations = [op for op in operations if op.definition.raw["operationId"] not in EXCLUDED]
    ids = real_ids(fuzz_server)
    counter = [0]
    started = time.monotonic()
    failures = [line for op in operations for line in fuzz(op, fuzz_server, ids, counter)]
    assert not failures, f"{len(failures)} bad answers:\n" + "\n".join(failures[:40])
    # Thousands over both backends; at least one case per operation and mode here.
    assert counter[0] >= 2 * len(operations)
    print(f"{fuzz_server.backend}: {counter[0]} requests over {len(operations)} operations "
          f"in {time.monotonic() - started:.0f}s")
