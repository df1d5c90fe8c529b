"""Stripe's one error shape, with the right status, type, code and param, and no change made."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import stripe

from billfold.app import Billfold
from billfold.context import Ctx
from billfold.errors import StateConflict
from billfold.wire.handler import ApiRequest, handle
from billfold.wire.params import Bool, Currency, Str, parse_fields
from billfold.wire.router import Route
from tests.support.inprocess import billfold_in_process
from tests.support.server import Server
from tests.wire.conftest import count_events, customers_with, error_of

BAD_CREATES: list[tuple[dict[str, Any], str, str, str | None]] = [
    # params, param, message start, code
    ({"emial": "x"}, "emial", "Received unknown parameter: emial", "parameter_unknown"),
    ({"address": {"town": "x"}}, "address[town]", "Received unknown parameter: address[town]",
     "parameter_unknown"),
    ({"invoice_settings": {"custom_fields": [{"value": "v"}]}},
     "invoice_settings[custom_fields][0][name]",
     "Missing required param: invoice_settings[custom_fields][0][name].", "parameter_missing"),
    ({"balance": "ten"}, "balance", "Invalid integer: ten", "parameter_invalid_integer"),
    ({"balance": "10.5"}, "balance", "Invalid integer: 10.5", "parameter_invalid_integer"),
    ({"balance": 100_000_000}, "balance", "This value must be less than or equal to", "parameter_invalid_integer"),
    ({"tax_exempt": "sometimes"}, "tax_exempt", "Invalid tax_exempt: must be one of exempt, none, or reverse",
     "parameter_invalid"),
    ({"name": "n" * 257}, "name", "Invalid string: nnnnnnnnnn...nnnnnnnnnn; must be at most 256 characters", None),
    ({"invoice_prefix": "lower"}, "invoice_prefix", "Invalid invoice_prefix", "parameter_invalid"),
    ({"preferred_locales": {"a": "en"}}, "preferred_locales", "Invalid array", "parameter_invalid"),
    ({"email": {"a": "b"}}, "email", "Invalid email", "parameter_invalid"),
]


@pytest.mark.parametrize(("params", "param", "message", "code"), BAD_CREATES,
                         ids=[case[1] + "-" + str(i) for i, case in enumerate(BAD_CREATES)])
def test_bad_input_is_400_with_the_param_and_changes_nothing(
    client: stripe.StripeClient, db: sa.Engine, email: str,
    params: dict[str, Any], param: str, message: str, code: str | None,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.create({"email": email, **params})  # type: ignore[arg-type]
    error = raised.value
    assert error.http_status == 400
    assert error.param == param
    assert str(error.user_message).startswith(message)
    assert error.code == code
    if code:
        assert error.error is not None
        assert error.error.doc_url == f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    assert error.request_id and error.request_id.startswith("req_")
    assert customers_with(client, email) == []
    assert count_events(db, "customer.created", email) == 0


def test_bad_update_leaves_the_customer_as_it_was(client: stripe.StripeClient, db: sa.Engine,
                                                  email: str) -> None:
    customer = client.v1.customers.create({"email": email, "name": "Before"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update(customer.id, {"name": "After", "balance": "lots"})  # type: ignore[arg-type]
    assert client.v1.customers.retrieve(customer.id).name == "Before"
    assert count_events(db, "customer.updated", customer.id) == 0


def test_declared_booleans_and_currencies_are_checked() -> None:
    specs = {"flag": Bool(), "currency": Currency(), "tag": Str(max_length=3)}
    assert parse_fields(specs, {"flag": "true", "currency": "USD"}) == {"flag": True, "currency": "usd"}
    for raw, param, start in (
        ({"flag": "yes"}, "flag", "Invalid boolean: yes"),
        ({"currency": "usx"}, "currency", "Invalid currency: usx"),
        ({"tag": "abcd"}, "tag", "Invalid string: abcd; must be at most 3 characters"),
    ):
        with pytest.raises(Exception) as raised:
            parse_fields(specs, raw)
        assert getattr(raised.value, "param", None) == param
        assert str(raised.value).startswith(start)


def test_missing_object_is_404_resource_missing(http: httpx.Client) -> None:
    response = http.get("/v1/customers/cus_missing000000")
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "resource_missing"
    assert error["param"] == "id"
    assert error["message"] == "No such customer: 'cus_missing000000'"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/nothing_here"), ("DELETE", "/v1/customers"), ("GET", "/v1/customers/"), ("GET", "/v1"),
     ("PUT", "/v1/customers")],
)
def test_unknown_urls_are_404_with_stripes_shape(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path)
    assert response.status_code == 404
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(f"Unrecognized request URL ({method}: {path}).")
    if path.endswith("/"):
        assert "remove the trailing slash" in error["message"]


def test_unknown_url_through_the_sdk(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.raw_request("get", "/v1/nothing_here")
    assert raised.value.http_status == 404


def test_every_api_response_has_a_request_id(server: Server, http: httpx.Client) -> None:
    responses = [
        http.get("/v1/customers"),
        http.get("/v1/customers/cus_nope"),
        http.get("/v1/nope"),
        http.post("/v1/customers", data={"bad": "1"}),
        httpx.get(f"{server.url}/v1/customers"),
        http.get("/v1/customers", headers={"Stripe-Version": "garbage"}),
    ]
    ids = [r.headers.get("request-id", "") for r in responses]
    assert all(rid.startswith("req_") for rid in ids)
    assert len(set(ids)) == len(ids)


# Odd shapes a confused client might send; each must get a 4xx (or a 200), never a 500.
# Mostly well-encoded, so most requests get past the decoder into validation and the handler.
_NAMES = ["email", "name", "balance", "metadata", "address", "invoice_settings", "preferred_locales",
          "tax_exempt", "expand", "limit", "created", "starting_after", "ending_before", "shipping",
          "description", "phone", "invoice_prefix", "test_clock", "payment_method", "x"]
_SUFFIXES = ["", "", "", "[]", "[0]", "[a]", "[city]", "[gte]", "[a][b]", "[0][name]",
             "[custom_fields][0][name]", "[rendering_options][template]", "[99999999999999999999]"]
_VALUES = ["", "1", "-1", "0", "true", "abc", "9" * 30, "1e3", "null", "data.x", "cus_x", "%2B",
           "exempt", "%E2%82%AC", "a" * 6000, "ABC123", "en", "email", "test_clock", "%5B%5D"]
_BROKEN = ["[", "]", "[]x", "=", "%", "%zz", "%00", "%FF"]


def _fuzz_query(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 3)):
        name, suffix, value = rng.choice(_NAMES), rng.choice(_SUFFIXES), rng.choice(_VALUES)
        if rng.random() < 0.1:
            value += rng.choice(_BROKEN)
        if rng.random() < 0.05:
            suffix += rng.choice(_BROKEN)
        parts.append(f"{name}{suffix}={value}")
    return "&".join(parts)


def test_no_odd_parameter_shape_gives_a_500(http: httpx.Client, client: stripe.StripeClient) -> None:
    def total() -> int:
        return sum(1 for _ in client.v1.customers.list({"limit": 100}).auto_paging_iter())

    before = total()
    rng = random.Random(20240410)
    created: list[str] = []
    refused = 0
    for attempt in range(200):
        query = _fuzz_query(rng)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if attempt % 2:
            headers["Idempotency-Key"] = f"fuzz-{rng.getrandbits(64)}"
        for response in (
            http.get(f"/v1/customers?{query}"),
            http.post("/v1/customers", content=f"email=fuzz%40example.com&{query}", headers=headers),
        ):
            assert response.status_code < 500, (query, response.text)
            if response.status_code >= 400:
                error_of(response)
                refused += response.request.method == "POST"
            elif response.request.method == "POST":
                created.append(response.json()["id"])
    assert created and refused
    # Each acknowledged create exists; each refused one left nothing behind.
    assert all(client.v1.customers.retrieve(customer_id).id == customer_id for customer_id in created)
    assert total() == before + len(created)


# In-process: failures a real server cannot be made to produce on demand.


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Billfold]:
    with billfold_in_process(request.param, tmp_path) as instance:
        yield instance


Reply = tuple[int, dict[str, Any], dict[str, str]]


def _call(app: Billfold, method: str, path: str, body: str = "", **headers: str) -> Reply:
    """One request through the pipeline, in process; ``idempotency_key=`` becomes its header."""
    secret = next(k.secret for k in app.platform_keys if k.kind == "secret" and not k.livemode)
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    request = ApiRequest(method, path, "", body.encode(), {"authorization": f"Bearer {secret}", **named})
    response = handle(app, request)
    return response.status, json.loads(response.body), response.headers


def _add_route(app: Billfold, method: str, path: str, handler: Any) -> None:
    app.router.add(Route(method, path, handler, {"email": Str()}, "customers", method == "POST"))


def test_an_unexpected_failure_is_a_500_that_may_be_retried(app: Billfold) -> None:
    def broken(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("bug")

    _add_route(app, "GET", "/v1/broken", broken)
    status, body, headers = _call(app, "GET", "/v1/broken")
    assert status == 500
    assert body["error"]["type"] == "api_error"
    assert headers["Request-Id"] in body["error"]["message"]
    assert headers["Stripe-Should-Retry"] == "true"
    assert "bug" not in body["error"]["message"]


def test_a_lock_conflict_is_a_retryable_429(app: Billfold) -> None:
    def locked(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
        raise sa.exc.OperationalError("UPDATE objects", {}, sqlite3.OperationalError("database is locked"))

    _add_route(app, "POST", "/v1/locked", locked)
    status, body, headers = _call(app, "POST", "/v1/locked", idempotency_key="k-locked")
    assert status == 429
    assert body["error"] == {
        "type": "rate_limit_error",
        "code": "lock_timeout",
        "doc_url": "https://stripe.com/docs/error-codes/lock-timeout",
        "message": body["error"]["message"],
    }
    assert headers["Stripe-Should-Retry"] == "true"


def test_a_lock_conflict_from_the_driver_itself_is_a_429(app: Billfold) -> None:
    def locked(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
        raise sqlite3.OperationalError("database is locked")

    _add_route(app, "POST", "/v1/locked-raw", locked)
    status, body, headers = _call(app, "POST", "/v1/locked-raw")
    assert status == 429
    assert body["error"]["code"] == "lock_timeout"
    assert headers["Stripe-Should-Retry"] == "true"


def test_a_duplicate_chosen_id_is_resource_already_exists_and_changes_nothing(app: Billfold) -> None:
    def create_twice(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
        for _ in range(2):
            ctx.objects.insert({"id": "SAME_ID", "object": "coupon", "created": ctx.now})
        return {"id": "SAME_ID", "object": "coupon"}

    _add_route(app, "POST", "/v1/twice", create_twice)
    status, body, _ = _call(app, "POST", "/v1/twice")
    assert status == 400
    assert body["error"]["code"] == "resource_already_exists"
    with app.db.transaction(write=False) as tx:
        assert tx.one("SELECT id FROM objects WHERE id = 'SAME_ID'") is None


def test_an_error_after_the_endpoint_began_undoes_its_changes(app: Billfold) -> None:
    def half_done(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
        ctx.objects.insert({"id": "cus_halfdone", "object": "customer", "created": ctx.now,
                            "email": params.get("email")})
        ctx.emit("customer.created", {"id": "cus_halfdone", "object": "customer"})
        raise StateConflict("This customer cannot be changed now.", param="email")

    _add_route(app, "POST", "/v1/half_done", half_done)
    first = _call(app, "POST", "/v1/half_done", "email=a%40b.c", idempotency_key="k-half")
    assert first[0] == 400 and first[1]["error"]["param"] == "email"
    with app.db.transaction(write=False) as tx:
        assert tx.one("SELECT id FROM objects WHERE id = 'cus_halfdone'") is None
        assert tx.one("SELECT id FROM objects WHERE object = 'event'") is None
    # Stripe remembers a response once the endpoint has begun, errors included.
    again = _call(app, "POST", "/v1/half_done", "email=a%40b.c", idempotency_key="k-half")
    assert again[:2] == first[:2]
    assert again[2]["Idempotent-Replayed"] == "true"
    without_key = _call(app, "POST", "/v1/half_done", "email=a%40b.c")
    assert without_key[0] == 400 and "Idempotent-Replayed" not in without_key[2]
