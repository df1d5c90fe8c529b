"""``billfold logs`` and the request log it tails (``GET /billfold/api/request_logs``)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import stripe

from tests.conftest import BACKENDS
from tests.devtools.support import Running, own_server, run, sdk
from tests.support.server import Server

LINE = re.compile(r"^\d\d:\d\d:\d\d  (\d{3}) ([A-Z]+) (\S+) \[(req_\w+)\]")


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from own_server(request, tmp_path_factory, "logs")


@pytest.fixture
def client(server: Server) -> stripe.StripeClient:
    return sdk(server)


def request_id(call: Callable[[], Any]) -> str:
    """The Request-Id of a call through the SDK, whether it succeeded or raised."""
    try:
        found = call()
    except stripe.StripeError as exc:
        return str(exc.request_id)
    return str(found.last_response.request_id)


def logged(server: Server, *args: str) -> list[dict[str, Any]]:
    result = run(server, "logs", "--once", "--json", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def wait_logged(server: Server, ids: set[str], *args: str) -> list[dict[str, Any]]:
    """Entries are stored a fraction of a second after the response; wait until they are."""
    deadline = time.monotonic() + 15
    while True:
        entries = logged(server, "--recent", "200", *args)
        if ids <= {e["request_id"] for e in entries} or time.monotonic() > deadline:
            return entries
        time.sleep(0.3)


def test_recent_requests_show_with_status_and_request_id(server: Server, client: stripe.StripeClient) -> None:
    created = request_id(lambda: client.v1.customers.create({"email": "logs@example.com"}))
    declined = request_id(lambda: client.v1.payment_intents.create(
        {"amount": 500, "currency": "usd", "payment_method": "pm_card_chargeDeclined", "confirm": True,
         "payment_method_types": ["card"]}
    ))
    missing = request_id(lambda: client.v1.customers.retrieve("cus_missing"))
    entries = {e["request_id"]: e for e in wait_logged(server, {created, declined, missing})}
    assert (entries[created]["status"], entries[created]["method"], entries[created]["path"]) == (
        200, "POST", "/v1/customers")
    assert (entries[declined]["status"], entries[declined]["error_type"], entries[declined]["error_code"]) == (
        402, "card_error", "card_declined")
    assert (entries[missing]["status"], entries[missing]["method"], entries[missing]["error_code"]) == (
        404, "GET", "resource_missing")
    assert entries[created]["livemode"] is False and entries[created]["account"].startswith("acct_")
    # Text lines, as stripe logs tail prints them.
    text = run(server, "logs", "--once", "--recent", "200").stdout.splitlines()
    matches = {m.group(4): m for m in map(LINE.match, text) if m}
    assert matches[created].groups() == ("200", "POST", "/v1/customers", created)
    assert matches[missing].groups() == ("404", "GET", "/v1/customers/cus_missing", missing)
    assert "card_error: card_declined" in next(line for line in text if declined in line)


def test_tail_prints_new_requests_as_they_happen(server: Server, client: stripe.StripeClient) -> None:
    tail = Running(server, "logs", "--filter-http-method", "POST", "--limit", "2", "--interval", "0.1")
    try:
        tail.wait_for("Ready!")
        client.v1.customers.list()  # filtered out: a GET
        first = request_id(lambda: client.v1.customers.create({"name": "One"}))
        second = request_id(lambda: client.v1.products.create({"name": "Two"}))
        assert tail.process.wait(timeout=20) == 0  # --limit 2: done after two lines
    finally:
        tail.stop()
    lines = tail.drain()
    assert [LINE.match(line).groups() for line in lines] == [  # type: ignore[union-attr]
        ("200", "POST", "/v1/customers", first), ("200", "POST", "/v1/products", second)]


def test_filters_by_status_and_path(server: Server, client: stripe.StripeClient) -> None:
    ok = request_id(lambda: client.v1.customers.create({"name": "Fine"}))
    bad = request_id(lambda: client.v1.customers.retrieve("cus_nope_filter"))
    wait_logged(server, {ok, bad})
    failed = logged(server, "--recent", "200", "--filter-status-code-type", "4XX")
    assert bad in {e["request_id"] for e in failed} and ok not in {e["request_id"] for e in failed}
    assert all(400 <= e["status"] < 500 for e in failed)
    by_code = logged(server, "--recent", "200", "--filter-status-code", "404",
                     "--filter-request-path", "/v1/customers/*")
    assert bad in {e["request_id"] for e in by_code} and all(e["status"] == 404 for e in by_code)
    succeeded = logged(server, "--recent", "200", "--filter-request-status", "succeeded")
    assert ok in {e["request_id"] for e in succeeded} and all(e["status"] < 400 for e in succeeded)


def test_the_log_endpoint_does_not_log_itself(server: Server) -> None:
    for _ in range(3):
        logged(server, "--recent", "50")
    time.sleep(0.5)
    entries = logged(server, "--recent", "1000")
    assert entries and not [e for e in entries if e["path"].startswith("/billfold/api/request_logs")]


def test_endpoint_pages_after_an_id_and_refuses_bad_input(server: Server, client: stripe.StripeClient) -> None:
    ids = [request_id(lambda n=n: client.v1.customers.create({"name": f"Page {n}"})) for n in range(3)]
    wait_logged(server, set(ids))
    auth = {"Authorization": f"Bearer {server.secret_key}"}
    with httpx.Client(base_url=server.url, headers=auth) as http:
        one = http.get("/billfold/api/request_logs", params={"after": ids[0], "limit": 1}).json()
        assert one["object"] == "list" and one["has_more"] is True
        assert [e["id"] for e in one["data"]] == ids[1:2]
        rest = http.get("/billfold/api/request_logs", params={"after": ids[0], "limit": 5}).json()
        assert [e["id"] for e in rest["data"]] == ids[1:] and rest["has_more"] is False
        newest = http.get("/billfold/api/request_logs", params={"limit": 2}).json()
        assert [e["id"] for e in newest["data"]] == ids[1:] and newest["has_more"] is True
        missing = http.get("/billfold/api/request_logs", params={"after": "req_nope"})
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "resource_missing"
        assert missing.json()["error"]["param"] == "after"
        too_many = http.get("/billfold/api/request_logs", params={"limit": 5000})
        assert too_many.status_code == 400 and too_many.json()["error"]["param"] == "limit"
    public = httpx.get(f"{server.url}/billfold/api/request_logs",
                       headers={"Authorization": f"Bearer {server.publishable_key}"})
    assert public.status_code == 403 and public.json()["error"]["code"] == "secret_key_required"


def test_bad_key_and_unreachable_server(server: Server) -> None:
    refused = run(server, "logs", "--once", key="sk_test_definitely_wrong_1234")
    assert refused.returncode == 1 and "Invalid API Key provided" in refused.stderr
    nowhere = run(None, "logs", "--once", "--api-base", "http://127.0.0.1:9", "--api-key", "sk_test_x")
    assert nowhere.returncode == 1 and "cannot reach Billfold" in nowhere.stderr
    bad_filter = run(server, "logs", "--once", "--filter-status-code", "two hundred")
    assert bad_filter.returncode == 2 and "--filter-status-code" in bad_filter.stderr


def server_log_lines(server: Server) -> list[dict[str, Any]]:
    lines = []
    for raw in server.log_path.read_text().splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def test_each_request_is_one_json_log_line_with_its_request_id(server: Server, client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Logged"}, options={"idempotency_key": "log-key-" + server.backend})
    again = client.v1.customers.create({"name": "Logged"}, options={"idempotency_key": "log-key-" + server.backend})
    declined = request_id(lambda: client.v1.payment_intents.create(
        {"amount": 700, "currency": "usd", "payment_method": "pm_card_chargeDeclined", "confirm": True,
         "payment_method_types": ["card"]}
    ))
    unauthenticated = httpx.get(f"{server.url}/v1/customers", headers={"Authorization": "Bearer sk_test_wrong"})
    first_id = customer.last_response.request_id
    replay_id = again.last_response.request_id
    wrong_key_id = unauthenticated.headers["Request-Id"]
    lines = {line["request_id"]: line for line in server_log_lines(server) if "request_id" in line}
    first = lines[first_id]
    assert first["method"] == "POST" and first["path"] == "/v1/customers" and first["status"] == 200
    assert first["idempotency_key"] == "log-key-" + server.backend and first["idempotent_replayed"] is False
    assert first["livemode"] is False and first["account"].startswith("acct_")
    assert first["api_version"] == customer.last_response.headers["Stripe-Version"]
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] > 0
    assert first["logger"] == "billfold.requests" and first["ts"].endswith("Z")
    assert first["error_type"] is None and first["error_code"] is None
    assert lines[replay_id]["idempotent_replayed"] is True
    assert (lines[declined]["status"], lines[declined]["error_type"], lines[declined]["error_code"]) == (
        402, "card_error", "card_declined")
    wrong = lines[wrong_key_id]
    assert (wrong["status"], wrong["error_type"], wrong["account"]) == (401, "invalid_request_error", None)


def test_a_full_queue_drops_and_counts_instead_of_waiting(tmp_path: Any) -> None:
    from billfold.accounts import ApiKey
    from billfold.observability.request_log import RequestLog
    from billfold.store.db import Database
    from billfold.wire.handler import ApiRequest, ApiResponse

    db = Database(str(tmp_path / "queue.db"))
    db.migrate()
    writer = RequestLog(db, capacity=2, interval=60)
    key = ApiKey("sk_test_x", "acct_queue", "secret", False, {}, None)
    for n in range(5):
        request = ApiRequest("GET", "/v1/customers", "", b"", {}, key=key)
        writer.record(request, ApiResponse(200, b"{}", {"Request-Id": f"req_queue{n}"}))
    assert writer.dropped == 3
    writer.stop()
    with db.transaction(write=False) as tx:
        stored = [row.id for row in tx.all("SELECT id FROM request_logs ORDER BY seq")]
    assert stored == ["req_queue0", "req_queue1"] and writer.written == 2
    db.dispose()


def test_old_entries_are_pruned_to_the_newest(tmp_path: Any) -> None:
    from billfold.accounts import ApiKey
    from billfold.observability.request_log import RequestLog
    from billfold.store.db import Database
    from billfold.wire.handler import ApiRequest, ApiResponse

    db = Database(str(tmp_path / "prune.db"))
    db.migrate()
    writer = RequestLog(db, keep_rows=2, interval=60)
    key = ApiKey("sk_test_x", "acct_prune", "secret", False, {}, None)
    for n in range(5):
        request = ApiRequest("POST", "/v1/products", "", b"", {}, key=key)
        writer.record(request, ApiResponse(200, b"{}", {"Request-Id": f"req_prune{n}"}))
    writer.stop()
    with db.transaction(write=False) as tx:
        stored = [row.id for row in tx.all("SELECT id FROM request_logs ORDER BY seq")]
    assert stored == ["req_prune3", "req_prune4"]
    db.dispose()


def test_text_log_format_prints_readable_lines(fresh_server: Server) -> None:
    fresh_server.env["BILLFOLD_LOG_FORMAT"] = "text"
    fresh_server.start()
    created = sdk(fresh_server).v1.customers.create({"name": "Text"})
    request = created.last_response.request_id
    [line] = [raw for raw in fresh_server.log_path.read_text().splitlines() if request in raw]
    assert re.search(rf"INFO billfold\.requests 200 POST /v1/customers \[{request}\] [\d.]+ms$", line)
    assert not line.startswith("{")
