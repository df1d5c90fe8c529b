"""The dashboard at /dashboard over HTTP: the login in front of every route, and the pages and
buttons behind it, against a real server on SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import stripe

from billfold.web.dashboard.routes import GUARDED
from tests.conftest import BACKENDS, new_server
from tests.events.conftest import Receiver, eventually
from tests.support.server import Server, drop_pg_database

PASSWORD = "correct horse battery staple"


@dataclass
class World:
    """A server with a dashboard password, a webhook receiver, and a refunded payment."""

    server: Server
    client: stripe.StripeClient
    receiver: Receiver
    endpoint: stripe.WebhookEndpoint
    intent: stripe.PaymentIntent
    refund: stripe.Refund
    live_key: str

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, follow_redirects=False, timeout=15)


def _live_secret(server: Server) -> str:
    for line in server.cli("keys").splitlines():
        parts = line.split()
        if parts[:2] == ["secret", "live"]:
            return parts[2]
    raise AssertionError("billfold keys printed no live secret key")


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    workdir: Path = tmp_path_factory.mktemp(f"dashboard-{request.param}")
    server = new_server(request.param, workdir, BILLFOLD_DASHBOARD_PASSWORD=PASSWORD).start()
    receiver = Receiver().start()
    try:
        client = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url},
                                     max_network_retries=0)
        endpoint = client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["*"]})
        customer = client.v1.customers.create({"name": "Jenny Rosen", "email": "jenny@example.com"})
        intent = client.v1.payment_intents.create({
            "amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True,
            "customer": customer.id, "description": "Dashboard test order",
        })
        refund = client.v1.refunds.create({"payment_intent": intent.id, "amount": 500})
        receiver.wait_for(lambda r: any(x.event["type"] == "charge.refunded" for x in r.requests), 60)
        yield World(server, client, receiver, endpoint, intent, refund, _live_secret(server))
    finally:
        receiver.stop()
        server.stop()
        if server.backend == "postgres":
            drop_pg_database(server.database_url)


def login(world: World, credential: str) -> httpx.Client:
    http = world.http()
    answer = http.post("/dashboard/login", data={"credential": credential})
    assert answer.status_code == 303, answer.text
    return http


def csrf(http: httpx.Client, page: str = "/dashboard/payments") -> str:
    answer = http.get(page)
    assert answer.status_code == 200, answer.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', answer.text)
    assert found is not None
    return found.group(1)


def concrete(path: str) -> str:
    return path.replace("{id}", "xyz_123")


def test_every_route_refuses_without_login(world: World) -> None:
    http = world.http()
    assert GUARDED, "the route table is empty"
    for method, path, _handler in GUARDED:
        url = concrete(path)
        if method == "GET":
            answer = http.get(url)
            assert answer.status_code == 303, url
            assert answer.headers["location"].startswith("/dashboard/login?next="), url
        else:
            answer = http.post(url, data={"csrf_token": "anything"})
            assert answer.status_code == 403, url
        assert "set-cookie" not in answer.headers
        assert world.intent.id not in answer.text
    # Paths no route names are refused the same way, before they could even say "not found".
    assert http.get("/dashboard/no/such/page").status_code == 303
    assert http.post("/dashboard/no/such/page").status_code == 403


def test_wrong_credentials_are_refused(world: World) -> None:
    http = world.http()
    for wrong in ("sk_test_" + "0" * 32, world.server.publishable_key, "not the password", "",
                  PASSWORD.upper(), world.server.secret_key + "x"):
        answer = http.post("/dashboard/login", data={"credential": wrong})
        assert answer.status_code == 401, wrong
        assert "set-cookie" not in answer.headers
        assert "not a secret key of this platform" in answer.text
    assert http.get("/dashboard/payments").status_code == 303


def test_login_with_the_secret_key_sets_a_strict_cookie(world: World) -> None:
    http = world.http()
    answer = http.post("/dashboard/login", data={"credential": world.server.secret_key,
                                                  "next": "/dashboard/events"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/events"
    cookie = answer.headers["set-cookie"].lower()
    for attribute in ("httponly", "samesite=lax", "path=/dashboard", "max-age=43200"):
        assert attribute in cookie
    page = http.get("/dashboard/payments")
    assert page.status_code == 200
    assert world.intent.id in page.text
    assert page.headers["cache-control"] == "no-store"
    # An address elsewhere is never a place the login sends the browser to.
    other = world.http()
    answer = other.post("/dashboard/login", data={"credential": world.server.secret_key,
                                                   "next": "//evil.example/x"})
    assert answer.headers["location"] == "/dashboard/payments"


def test_login_with_the_configured_password(world: World) -> None:
    http = login(world, PASSWORD)
    page = http.get("/dashboard/payments")
    assert page.status_code == 200
    assert world.intent.id in page.text
    assert "password" in page.text


def test_a_tampered_cookie_is_refused(world: World) -> None:
    http = login(world, world.server.secret_key)
    value = http.cookies["billfold_dashboard"]
    payload, stamp, signature = value.rsplit(".", 2)
    data = {"via": "key", "live": True, "csrf": "x", "who": "sk_live_forged"}
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    # The first character: the last one's low bits may be base64 padding that decodes the same.
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for bad in (f"{forged}.{stamp}.{signature}", f"{payload}.{stamp}.{flipped}", "garbage", ""):
        other = world.http()
        other.cookies.set("billfold_dashboard", bad, path="/dashboard")
        answer = other.get("/dashboard/payments")
        assert answer.status_code == 303, bad
        assert answer.headers["location"].startswith("/dashboard/login")


def test_post_without_the_csrf_token_is_refused(world: World) -> None:
    http = login(world, world.server.secret_key)
    token = csrf(http)
    rule = "Block if :card_country: = 'ZZ'"
    for form in ({"rule": rule}, {"rule": rule, "csrf_token": "wrong"}):
        answer = http.post("/dashboard/radar/rules", data=form)
        assert answer.status_code == 403
    # A token belongs to its session: another login's token does not work here.
    other = login(world, world.server.secret_key)
    assert http.post("/dashboard/radar/rules", data={"rule": rule, "csrf_token": csrf(other)}).status_code == 403
    assert rule not in http.get("/dashboard/radar").text
    assert http.post("/dashboard/logout", data={}).status_code == 403
    assert http.post("/dashboard/logout", data={"csrf_token": token}).status_code == 303


def test_logout_ends_the_session_in_the_browser(world: World) -> None:
    http = login(world, world.server.secret_key)
    answer = http.post("/dashboard/logout", data={"csrf_token": csrf(http)})
    assert answer.status_code == 303
    assert "billfold_dashboard" not in http.cookies
    assert http.get("/dashboard/payments").status_code == 303


def test_pages_show_the_payment_its_refund_events_and_deliveries(world: World) -> None:
    http = login(world, world.server.secret_key)
    listing = http.get("/dashboard/payments").text
    assert world.intent.id in listing and "$20.00" in listing and "Jenny Rosen" in listing
    detail = http.get(f"/dashboard/payments/{world.intent.id}")
    assert detail.status_code == 200
    page = detail.text
    charge = world.client.v1.charges.retrieve(str(world.intent.latest_charge))
    for expected in (world.intent.id, charge.id, world.refund.id, "$5.00", "Payment intent created",
                     "charge.refunded", "payment_intent.succeeded", world.receiver.url,
                     str(charge.balance_transaction), "Dashboard test order"):
        assert expected in page, expected
    # Every delivery of the payment's events reached the receiver with a 200.
    assert re.search(r'class="code good">200<', page)
    events = world.client.v1.events.list({"type": "charge.refunded"}).data
    event_page = http.get(f"/dashboard/events/{events[0].id}").text
    assert world.receiver.url in event_page and ">200<" in event_page and "Resend" in event_page
    assert charge.id in event_page
    assert http.get("/dashboard/customers").status_code == 200
    customer_page = http.get(f"/dashboard/customers/{world.intent.customer}").text
    assert world.intent.id in customer_page and "jenny@example.com" in customer_page
    for section in ("subscriptions", "invoices", "connected_accounts", "events", "radar", "test_clocks"):
        assert http.get(f"/dashboard/{section}").status_code == 200, section
    assert http.get("/dashboard/payments/pi_nope").status_code == 404


def test_resend_delivers_the_event_again(world: World) -> None:
    http = login(world, world.server.secret_key)
    event = world.client.v1.events.list({"type": "payment_intent.succeeded"}).data[0]
    before = len(world.receiver.about(world.intent.id))
    sent_before = [r for r in world.receiver.requests if r.event["id"] == event.id]
    assert len(sent_before) == 1
    answer = http.post(f"/dashboard/events/{event.id}/resend",
                       data={"csrf_token": csrf(http), "endpoint": world.endpoint.id})
    assert answer.status_code == 303
    world.receiver.wait_for(lambda r: len([x for x in r.requests if x.event["id"] == event.id]) == 2, 60)
    assert len(world.receiver.about(world.intent.id)) == before + 1

    def two_attempts_shown() -> bool:
        page = http.get(f"/dashboard/events/{event.id}").text
        return page.count('class="code good">200<') == 2

    eventually(two_attempts_shown, 60)
    # An endpoint the event was never sent to is not a target.
    answer = http.post(f"/dashboard/events/{event.id}/resend",
                       data={"csrf_token": csrf(http), "endpoint": "we_unknown"})
    assert answer.status_code == 404


def test_radar_rules_add_and_remove(world: World) -> None:
    http = login(world, world.server.secret_key)
    token = csrf(http)
    rule = "Block if :card_country: = 'XK'"
    answer = http.post("/dashboard/radar/rules", data={"csrf_token": token, "rule": rule})
    assert answer.status_code == 303
    stored = httpx.get(f"{world.server.url}/billfold/api/radar/rules",
                       auth=(world.server.secret_key, "")).json()["data"]
    found = [r for r in stored if r["text"] == rule]
    assert len(found) == 1
    assert rule.replace("'", "&#39;") in http.get("/dashboard/radar").text
    bad = http.post("/dashboard/radar/rules", data={"csrf_token": token, "rule": "Block when nonsense"})
    assert bad.status_code == 400
    assert 'class="notice error"' in bad.text
    answer = http.post(f"/dashboard/radar/rules/{found[0]['id']}/remove", data={"csrf_token": token})
    assert answer.status_code == 303
    stored = httpx.get(f"{world.server.url}/billfold/api/radar/rules",
                       auth=(world.server.secret_key, "")).json()["data"]
    assert not [r for r in stored if r["text"] == rule]


def test_test_clock_advance_moves_the_clock(world: World) -> None:
    http = login(world, world.server.secret_key)
    start = 1_800_000_000
    clock = world.client.v1.test_helpers.test_clocks.create({"frozen_time": start, "name": "Dash"})
    page = http.get("/dashboard/test_clocks").text
    assert clock.id in page and "2027-01-15 08:00:00 UTC" in page
    answer = http.post(f"/dashboard/test_clocks/{clock.id}/advance",
                       data={"csrf_token": csrf(http), "frozen_time": "2027-01-16T08:00:00"})
    assert answer.status_code == 303

    def moved() -> bool:
        found = world.client.v1.test_helpers.test_clocks.retrieve(clock.id)
        return found.status == "ready" and found.frozen_time == start + 86_400

    eventually(moved, 60)
    # Backwards is refused with the API's own message.
    back = http.post(f"/dashboard/test_clocks/{clock.id}/advance",
                     data={"csrf_token": csrf(http), "frozen_time": str(start)})
    assert back.status_code == 400
    assert "can only move forward" in back.text


def test_the_mode_switch_shows_only_that_modes_data(world: World) -> None:
    live = stripe.StripeClient(world.live_key, base_addresses={"api": world.server.url},
                               max_network_retries=0)
    # Live mode refuses test cards, so the live payment waits for a payment method.
    live_intent = live.v1.payment_intents.create({"amount": 4321, "currency": "eur"})
    http = login(world, world.server.secret_key)
    test_page = http.get("/dashboard/payments").text
    assert world.intent.id in test_page and live_intent.id not in test_page
    assert http.get(f"/dashboard/payments/{live_intent.id}").status_code == 404
    answer = http.post("/dashboard/mode", data={"csrf_token": csrf(http), "mode": "live",
                                                "next": "/dashboard/payments"})
    assert answer.status_code == 303
    live_page = http.get("/dashboard/payments").text
    assert live_intent.id in live_page and world.intent.id not in live_page
    assert "€43.21" in live_page and "Live data" in live_page
    assert http.get(f"/dashboard/payments/{live_intent.id}").status_code == 200
    assert http.get(f"/dashboard/payments/{world.intent.id}").status_code == 404
    # A live key opens the live data directly.
    by_live_key = login(world, world.live_key)
    assert live_intent.id in by_live_key.get("/dashboard/payments").text


def test_invoices_link_to_the_hosted_page_and_pdf(world: World) -> None:
    customer = world.client.v1.customers.create({"name": "Ivy Invoice", "email": "ivy@example.com"})
    world.client.v1.invoice_items.create({"customer": customer.id, "amount": 1500, "currency": "usd",
                                          "description": "Consulting"})
    draft = world.client.v1.invoices.create({
        "customer": customer.id, "collection_method": "send_invoice", "days_until_due": 30,
        "pending_invoice_items_behavior": "include",
    })
    invoice = world.client.v1.invoices.finalize_invoice(str(draft.id))
    http = login(world, world.server.secret_key)
    page = http.get("/dashboard/invoices").text
    assert str(invoice.number) in page and "$15.00" in page and "Ivy Invoice" in page
    assert str(invoice.hosted_invoice_url).replace("&", "&amp;") in page
    assert str(invoice.invoice_pdf).replace("&", "&amp;") in page
    assert str(invoice.number) in http.get(f"/dashboard/customers/{customer.id}").text
