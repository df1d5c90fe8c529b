"""examples/b2b_invoicing end to end: in a real chromium, a business customer and an invoice are
made through the app's forms, the invoice is paid on Billfold's hosted invoice page, and the
``invoice.paid`` webhook settles it in the app's database."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
import stripe
from playwright.sync_api import Page, expect

from tests.conftest import BACKENDS
from tests.support.examples import ExampleApp, Stack, example_stack, post_event, wait_for

LINES = [("Strategy workshop (2 days)", "2", "1,500.00"), ("Travel expenses", "1", "312.40"),
         ("Board report", "3", "99.99")]
LINES_TOTAL = 2 * 150_000 + 31_240 + 3 * 9_999  # 361,237 cents


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp(f"b2b-{request.param}")
    with example_stack("b2b_invoicing", workdir, backend=request.param) as running:
        yield running


def invoice_row(app: ExampleApp, invoice_id: int) -> dict[str, object]:
    return dict(app.query("SELECT * FROM invoices WHERE id = ?", invoice_id)[0])


def cents(text: str) -> int:
    """``"$3,612.37"`` -> 361237."""
    digits = re.sub(r"[^0-9]", "", text)
    assert digits, f"no amount in {text!r}"
    return int(digits)


def customer_over_http(app: ExampleApp, name: str) -> int:
    made = httpx.post(app.url + "/customers", data={
        "name": name, "email": "ap@example.com", "line1": "1 Main St", "city": "Springfield",
        "postal_code": "12345", "country": "us",
    })
    assert made.status_code == 303, made.text
    return int(app.query("SELECT id FROM customers WHERE name = ?", name)[0]["id"])


def invoice_over_http(app: ExampleApp, customer_id: int, *lines: tuple[str, str, str]) -> int:
    form = {"customer": str(customer_id)}
    for row, (description, quantity, unit_amount) in enumerate(lines):
        form |= {f"description_{row}": description, f"quantity_{row}": quantity,
                 f"unit_amount_{row}": unit_amount}
    made = httpx.post(app.url + "/invoices", data=form, timeout=30)
    assert made.status_code == 303, made.text
    return int(made.headers["location"].rsplit("/", 1)[1])


def pay_on_hosted_page(page: Page, card: str) -> None:
    page.fill("#card_number", card)
    page.fill("#exp", "12 / 34")
    page.fill("#cvc", "123")
    page.click("#pay")


def test_an_invoice_made_in_the_app_is_paid_on_the_hosted_page_and_settled(
    stack: Stack, page: Page
) -> None:
    app, client = stack.app, stack.client

    # A business customer through the app's form.
    page.goto(app.url + "/")
    page.click("#new-customer")
    page.fill("#name", "Acme Widgets GmbH")
    page.fill("#email", "billing@acme.example")
    page.fill("#tax_id", "DE123456789")
    page.fill("#line1", "Friedrichstraße 10")
    page.fill("#city", "Berlin")
    page.fill("#postal_code", "10117")
    page.fill("#country", "de")
    page.click("#save-customer")
    page.wait_for_url(app.url + "/")
    customer = dict(app.query("SELECT * FROM customers WHERE name = 'Acme Widgets GmbH'")[0])
    stripe_customer = client.v1.customers.retrieve(str(customer["stripe_customer_id"]))
    assert stripe_customer.email == "billing@acme.example"
    assert stripe_customer.address is not None and stripe_customer.address.country == "DE"
    assert stripe_customer.invoice_settings is not None
    fields = stripe_customer.invoice_settings.custom_fields or []
    assert [(f.name, f.value) for f in fields] == [("Tax ID", "DE123456789")]

    # An invoice with three lines, finalized and sent.
    page.click("#new-invoice")
    page.select_option("#customer", str(customer["id"]))
    for index, (description, quantity, unit_amount) in enumerate(LINES):
        page.fill(f"#description_{index}", description)
        page.fill(f"#quantity_{index}", quantity)
        page.fill(f"#unit_amount_{index}", unit_amount)
    page.fill("#memo", "PO 4711")
    page.click("#send-invoice")
    page.wait_for_url(re.compile(r".*/invoices/\d+$"))
    invoice_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#total")).to_have_text("$3,612.37")
    row = invoice_row(app, invoice_id)
    assert row["total"] == LINES_TOTAL and row["status"] == "open" and row["settled_at"] is None

    invoice = client.v1.invoices.retrieve(str(row["stripe_invoice_id"]))
    assert invoice.status == "open" and invoice.collection_method == "send_invoice"
    assert invoice.total == LINES_TOTAL and invoice.amount_due == LINES_TOTAL
    assert invoice.number == row["number"] and invoice.customer == customer["stripe_customer_id"]
    assert invoice.due_date is not None
    assert invoice.status_transitions.finalized_at is not None
    assert round((invoice.due_date - invoice.status_transitions.finalized_at) / 86_400) == 30
    assert invoice.hosted_invoice_url == row["hosted_invoice_url"]
    lines = client.v1.invoices.line_items.list(invoice.id).data
    assert sorted((line.description, line.quantity, line.amount) for line in lines) == sorted(
        [("Strategy workshop (2 days)", 2, 300_000), ("Travel expenses", 1, 31_240),
         ("Board report", 3, 29_997)]
    )
    wait_for(lambda: app.query("SELECT 1 FROM invoice_activity WHERE invoice_id = ? "
                               "AND kind = 'sent'", invoice_id),
             what="invoice.sent to reach the app")

    # The PDF link works.
    pdf = httpx.get(str(row["invoice_pdf"]), timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # The hosted page shows the lines and a total equal to their sum; pay it with 4242.
    page.click("#hosted-link")
    page.wait_for_url(f"{stack.billfold.url}/billfold/invoices/*")
    expect(page.locator("#lines tbody tr")).to_have_count(3)
    shown = [cents(text) for text in page.locator("#lines tbody td:last-child").all_inner_texts()]
    assert sorted(shown) == sorted([300_000, 31_240, 29_997])
    totals = dict(
        (r.locator("td").first.inner_text().strip(), cents(r.locator("td").last.inner_text()))
        for r in page.locator("#totals tr").all()
    )
    assert totals.get("Amount due") == LINES_TOTAL and sum(shown) == LINES_TOTAL, totals
    pay_on_hosted_page(page, "4242 4242 4242 4242")
    expect(page.locator("#status")).to_have_text("Paid")

    # The webhook settles it in the app.
    settled = wait_for(
        lambda: app.query("SELECT * FROM invoices WHERE id = ? AND settled_at IS NOT NULL",
                          invoice_id),
        what="invoice.paid to settle the invoice",
    )[0]
    assert settled["status"] == "paid" and settled["amount_paid"] == LINES_TOTAL
    assert app.query("SELECT 1 FROM processed_events WHERE type = 'invoice.paid'")
    page.goto(f"{app.url}/invoices/{invoice_id}")
    expect(page.locator("#invoice-status")).to_have_attribute("data-status", "settled")
    expect(page.locator("#activity li[data-kind=paid]")).to_have_text(re.compile(r"\$3,612\.37"))
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"


def test_a_declined_card_on_the_hosted_page_leaves_the_invoice_open(
    stack: Stack, page: Page
) -> None:
    app = stack.app
    invoice_id = invoice_over_http(app, customer_over_http(app, "Declined Dealers Inc"),
                                   ("Consulting", "1", "250.00"))
    page.goto(str(invoice_row(app, invoice_id)["hosted_invoice_url"]))
    pay_on_hosted_page(page, "4000 0000 0000 0002")
    expect(page.locator("#decline")).to_contain_text("declined")
    wait_for(lambda: app.query("SELECT 1 FROM invoice_activity WHERE invoice_id = ? "
                               "AND kind = 'payment_failed'", invoice_id),
             what="invoice.payment_failed to reach the app")
    row = invoice_row(app, invoice_id)
    assert row["status"] == "open" and row["settled_at"] is None and row["amount_paid"] == 0


def test_bad_forms_are_refused_before_anything_reaches_stripe(stack: Stack) -> None:
    app, client = stack.app, stack.client
    customers_before = len(client.v1.customers.list({"limit": 100}).data)
    no_address = httpx.post(app.url + "/customers", data={"name": "X", "email": "x@example.com"})
    assert no_address.status_code == 400 and "billing address" in no_address.text
    assert len(client.v1.customers.list({"limit": 100}).data) == customers_before

    customer_id = customer_over_http(app, "Form Checkers Ltd")
    invoices_before = len(client.v1.invoices.list({"limit": 100}).data)
    for bad in ({"description_0": "Work", "quantity_0": "1", "unit_amount_0": "12.345"},
                {"description_0": "Work", "quantity_0": "-2", "unit_amount_0": "10"},
                {"description_0": "", "unit_amount_0": "10"},
                {}):
        refused = httpx.post(app.url + "/invoices", data={"customer": str(customer_id), **bad})
        assert refused.status_code == 400 and 'id="errors"' in refused.text, bad
    assert len(client.v1.invoices.list({"limit": 100}).data) == invoices_before
    assert app.query("SELECT 1 FROM invoices WHERE customer_id = ?", customer_id) == []


def test_bad_signature_is_refused_and_changes_nothing(stack: Stack) -> None:
    app = stack.app
    invoice_id = invoice_over_http(app, customer_over_http(app, "Forgery Targets LLC"),
                                   ("Audit", "1", "900.00"))
    row = invoice_row(app, invoice_id)
    forged = {
        "id": "evt_forged_invoice", "object": "event", "type": "invoice.paid",
        "api_version": stripe.api_version, "created": 1, "livemode": False,
        "pending_webhooks": 0, "request": {"id": None, "idempotency_key": None},
        "data": {"object": {"id": row["stripe_invoice_id"], "object": "invoice",
                            "status": "paid", "amount_paid": 90_000}},
    }
    payload = json.dumps(forged)
    assert post_event(app.url, payload, None).status_code == 400
    assert post_event(app.url, payload, "whsec_not_the_real_secret").status_code == 400
    assert app.query("SELECT 1 FROM processed_events WHERE id = 'evt_forged_invoice'") == []
    after = invoice_row(app, invoice_id)
    assert after["settled_at"] is None and after["status"] == "open"


def test_a_replayed_invoice_paid_event_is_applied_once(stack: Stack) -> None:
    """An event the app has not seen (its endpoint was disabled), delivered twice by hand."""
    app, client = stack.app, stack.client
    invoice_id = invoice_over_http(app, customer_over_http(app, "Replay Partners"),
                                   ("Retainer", "1", "1,000.00"))
    stripe_id = str(invoice_row(app, invoice_id)["stripe_invoice_id"])
    endpoint = next(e for e in client.v1.webhook_endpoints.list().data
                    if e.url == f"{app.url}/webhook")
    client.v1.webhook_endpoints.update(endpoint.id, {"disabled": True})
    try:
        paid = client.v1.invoices.pay(stripe_id, {"payment_method": "pm_card_visa"})
    finally:
        client.v1.webhook_endpoints.update(endpoint.id, {"disabled": False})
    assert paid.status == "paid"
    assert invoice_row(app, invoice_id)["settled_at"] is None

    events = client.v1.events.list({"type": "invoice.paid", "limit": 100}).data
    event = next(e for e in events if e.data.object["id"] == stripe_id)
    payload = json.dumps(event.to_dict(for_json=True))
    first = post_event(app.url, payload, stack.webhook_secret)
    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    second = post_event(app.url, payload, stack.webhook_secret)
    assert second.status_code == 200 and second.json() == {"received": True, "duplicate": True}
    row = invoice_row(app, invoice_id)
    assert row["settled_at"] is not None and row["amount_paid"] == 100_000
    activity = app.query("SELECT event_id FROM invoice_activity WHERE invoice_id = ? "
                         "AND kind = 'paid'", invoice_id)
    assert [r["event_id"] for r in activity] == [event.id]
