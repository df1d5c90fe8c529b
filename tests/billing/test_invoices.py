"""Invoices from draft to paid, void or uncollectible, as the Stripe docs' own examples use them."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import stripe

OLD = {"stripe_version": "2024-04-10"}


def customer(client: stripe.StripeClient, **extra: Any) -> stripe.Customer:
    return client.v1.customers.create({"email": "billing@example.com", "name": "Jenny Rosen", **extra})


def paying_customer(client: stripe.StripeClient) -> stripe.Customer:
    return customer(
        client, payment_method="pm_card_visa",
        invoice_settings={"default_payment_method": "pm_card_visa"},
    )


def draft(client: stripe.StripeClient, cus: stripe.Customer, amount: int = 2000, **extra: Any) -> stripe.Invoice:
    client.v1.invoice_items.create({"customer": cus.id, "amount": amount, "currency": "usd",
                                    "description": "Consulting"})
    return client.v1.invoices.create(
        {"customer": cus.id, "pending_invoice_items_behavior": "include", **extra}
    )


def refused(call: Any, *args: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call(*args)
    return raised.value


def event_types(client: stripe.StripeClient, object_id: str, prefix: str = "invoice.") -> list[str]:
    listed = client.v1.events.list({"limit": 100}).data
    mine = [e for e in listed if e.type.startswith(prefix) and e.data.object.to_dict().get("id") == object_id]
    return [e.type for e in reversed(mine)]


def test_a_draft_takes_the_pending_items(client: stripe.StripeClient) -> None:
    cus = customer(client)
    invoice = draft(client, cus, 2000, description="March work", metadata={"order": "7"})
    assert invoice.id.startswith("in_")
    assert (invoice.object, invoice.status, invoice.number) == ("invoice", "draft", None)
    assert (invoice.customer, invoice.currency, invoice.billing_reason) == (cus.id, "usd", "manual")
    assert (invoice.collection_method, invoice.auto_advance) == ("charge_automatically", False)
    assert (invoice.subtotal, invoice.total, invoice.amount_due, invoice.amount_remaining) == (2000, 2000, 2000, 2000)
    assert (invoice.amount_paid, invoice.attempt_count, invoice.attempted) == (0, 0, False)
    assert (invoice.customer_email, invoice.customer_name) == ("billing@example.com", "Jenny Rosen")
    assert (invoice.description, invoice.metadata.to_dict()) == ("March work", {"order": "7"})
    assert invoice.hosted_invoice_url is None and invoice.ending_balance is None
    assert invoice.lines.url == f"/v1/invoices/{invoice.id}/lines"
    [line] = invoice.lines.data
    assert (line.object, line.amount, line.description, line.invoice) == ("line_item", 2000, "Consulting", invoice.id)
    assert "paid" not in invoice.to_dict() and "subscription" not in invoice.to_dict()
    assert invoice.parent is None
    assert event_types(client, invoice.id) == ["invoice.created"]
    created = client.v1.events.list({"type": "invoice.created", "limit": 5}).data
    shown = next(e.data.object.to_dict() for e in created if e.data.object.to_dict().get("id") == invoice.id)
    assert (shown["description"], shown["metadata"], shown["total"]) == ("March work", {"order": "7"}, 2000)


def test_pending_items_stay_pending_by_default(client: stripe.StripeClient) -> None:
    cus = customer(client)
    item = client.v1.invoice_items.create({"customer": cus.id, "amount": 500, "currency": "usd"})
    invoice = client.v1.invoices.create({"customer": cus.id})
    assert (invoice.total, invoice.lines.data) == (0, [])
    assert client.v1.invoice_items.retrieve(item.id).invoice is None


def test_finalize_numbers_the_invoice_and_opens_it(client: stripe.StripeClient) -> None:
    cus = customer(client)
    first = draft(client, cus, 1000, collection_method="send_invoice", days_until_due=30)
    assert first.due_date == first.created + 30 * 86400
    opened = client.v1.invoices.finalize_invoice(first.id)
    assert opened.status == "open"
    assert opened.number == f"{cus.invoice_prefix}-0001"
    assert opened.status_transitions.finalized_at is not None
    assert opened.effective_at == opened.status_transitions.finalized_at
    assert (opened.starting_balance, opened.ending_balance) == (0, 0)
    assert opened.hosted_invoice_url and "/billfold/invoices/" + first.id + "?secret=" in opened.hosted_invoice_url
    assert opened.invoice_pdf and opened.invoice_pdf.startswith(opened.hosted_invoice_url.split("?")[0] + "/pdf?secret=")
    assert client.v1.customers.retrieve(cus.id).next_invoice_sequence == 2
    second = client.v1.invoices.finalize_invoice(draft(client, cus, 1000).id)
    assert second.number == f"{cus.invoice_prefix}-0002"
    assert event_types(client, first.id) == ["invoice.created", "invoice.finalized"]

    old = client.v1.invoices.retrieve(first.id, options=OLD)  # type: ignore[arg-type]
    assert old.to_dict()["payment_intent"].startswith("pi_")
    assert old.to_dict()["paid"] is False
    error = refused(client.v1.invoices.finalize_invoice, first.id)
    assert (error.http_status, error.code) == (400, "invoice_not_editable")


def test_the_hosted_page_and_pdf_answer(client: stripe.StripeClient) -> None:
    invoice = client.v1.invoices.finalize_invoice(draft(client, customer(client), 1234).id)
    assert invoice.hosted_invoice_url and invoice.invoice_pdf
    page = httpx.get(invoice.hosted_invoice_url, timeout=10)
    assert page.status_code == 200
    pdf = httpx.get(invoice.invoice_pdf, timeout=10)
    assert (pdf.status_code, pdf.content[:4]) == (200, b"%PDF")
    wrong = httpx.get(invoice.hosted_invoice_url.split("?")[0] + "?secret=nope", timeout=10)
    assert wrong.status_code == 404


def test_pay_with_the_customers_default_card(client: stripe.StripeClient) -> None:
    cus = paying_customer(client)
    invoice = client.v1.invoices.finalize_invoice(draft(client, cus, 2500).id)
    paid = client.v1.invoices.pay(invoice.id)
    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 2500, 0)
    assert (paid.attempted, paid.attempt_count, paid.auto_advance) == (True, 1, False)
    assert paid.status_transitions.paid_at is not None
    assert event_types(client, invoice.id) == [
        "invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded",
    ]
    expanded = client.v1.invoices.retrieve(invoice.id, {"expand": ["payments"]})
    assert expanded.payments is not None
    [payment] = expanded.payments.data
    assert (payment.object, payment.status, payment.amount_paid, payment.is_default) == (
        "invoice_payment", "paid", 2500, True)
    intent = client.v1.payment_intents.retrieve(str(payment.payment.payment_intent))
    assert (intent.status, intent.amount, intent.customer) == ("succeeded", 2500, cus.id)
    listed = client.v1.invoice_payments.list({"invoice": invoice.id})
    assert [p.id for p in listed.data] == [payment.id]

    old = client.v1.invoices.retrieve(invoice.id, options=OLD).to_dict()  # type: ignore[arg-type]
    assert (old["paid"], old["paid_out_of_band"], old["payment_intent"]) == (True, False, intent.id)
    assert old["charge"] == intent.latest_charge
    error = refused(client.v1.invoices.pay, invoice.id)
    assert "already paid" in str(error.user_message)


def test_a_declined_card_keeps_the_invoice_open(client: stripe.StripeClient) -> None:
    cus = customer(client)
    invoice = client.v1.invoices.finalize_invoice(draft(client, cus, 3000).id)
    with pytest.raises(stripe.CardError) as raised:
        client.v1.invoices.pay(invoice.id, {"payment_method": "pm_card_chargeDeclined"})
    assert raised.value.http_status == 402
    assert (raised.value.code, raised.value.error.decline_code if raised.value.error else None) == (
        "card_declined", "generic_decline")
    after = client.v1.invoices.retrieve(invoice.id)
    assert (after.status, after.attempt_count, after.attempted, after.amount_paid) == ("open", 1, True, 0)
    assert "invoice.payment_failed" in event_types(client, invoice.id)

    paid = client.v1.invoices.pay(invoice.id, {"payment_method": "pm_card_visa"})
    assert (paid.status, paid.attempt_count, paid.amount_paid) == ("paid", 2, 3000)


def test_a_card_that_needs_authentication_off_session(client: stripe.StripeClient) -> None:
    invoice = client.v1.invoices.finalize_invoice(draft(client, customer(client), 3000).id)
    with pytest.raises(stripe.CardError) as raised:
        client.v1.invoices.pay(invoice.id, {"payment_method": "pm_card_authenticationRequired"})
    assert raised.value.code == "authentication_required"
    types = event_types(client, invoice.id)
    assert types[-2:] == ["invoice.payment_failed", "invoice.payment_action_required"]
    with pytest.raises(stripe.CardError) as on_session:
        client.v1.invoices.pay(
            invoice.id, {"payment_method": "pm_card_authenticationRequired", "off_session": False}
        )
    assert on_session.value.code == "invoice_payment_intent_requires_action"
    assert client.v1.invoices.retrieve(invoice.id).status == "open"


def test_paying_a_draft_finalizes_it_and_no_card_is_refused(client: stripe.StripeClient) -> None:
    cus = customer(client)
    invoice = draft(client, cus, 900)
    error = refused(client.v1.invoices.pay, invoice.id)
    assert error.http_status == 400
    assert client.v1.invoices.retrieve(invoice.id).status == "draft"
    paid = client.v1.invoices.pay(invoice.id, {"payment_method": "pm_card_visa"})
    assert (paid.status, paid.number) == ("paid", f"{cus.invoice_prefix}-0001")


def test_paid_out_of_band(client: stripe.StripeClient) -> None:
    invoice = client.v1.invoices.finalize_invoice(draft(client, customer(client), 4000).id)
    paid = client.v1.invoices.pay(invoice.id, {"paid_out_of_band": True})
    assert (paid.status, paid.amount_remaining) == ("paid", 0)
    old = client.v1.invoices.retrieve(invoice.id, options=OLD).to_dict()  # type: ignore[arg-type]
    assert (old["paid"], old["paid_out_of_band"]) == (True, True)
    intent = client.v1.payment_intents.retrieve(old["payment_intent"])
    assert intent.status == "canceled"


def test_void_an_open_invoice(client: stripe.StripeClient) -> None:
    invoice = client.v1.invoices.finalize_invoice(draft(client, customer(client), 1500).id)
    voided = client.v1.invoices.void_invoice(invoice.id)
    assert (voided.status, voided.auto_advance) == ("void", False)
    assert voided.status_transitions.voided_at is not None
    assert event_types(client, invoice.id)[-1] == "invoice.voided"
    old = client.v1.invoices.retrieve(invoice.id, options=OLD).to_dict()  # type: ignore[arg-type]
    intent = client.v1.payment_intents.retrieve(old["payment_intent"])
    assert (intent.status, intent.cancellation_reason) == ("canceled", "void_invoice")
    error = refused(client.v1.invoices.pay, invoice.id, {"payment_method": "pm_card_visa"})
    assert "Voided invoices cannot be paid." in str(error.user_message)
    assert refused(client.v1.invoices.void_invoice, invoice.id).http_status == 400
    assert refused(client.v1.invoices.mark_uncollectible, invoice.id).http_status == 400


def test_an_uncollectible_invoice_can_still_be_paid(client: stripe.StripeClient) -> None:
    invoice = client.v1.invoices.finalize_invoice(draft(client, customer(client), 1500).id)
    bad_debt = client.v1.invoices.mark_uncollectible(invoice.id)
    assert bad_debt.status == "uncollectible"
    assert bad_debt.status_transitions.marked_uncollectible_at is not None
    assert event_types(client, invoice.id)[-1] == "invoice.marked_uncollectible"
    paid = client.v1.invoices.pay(invoice.id, {"payment_method": "pm_card_visa"})
    assert paid.status == "paid"
    assert refused(client.v1.invoices.void_invoice, invoice.id).http_status == 400


def test_send_a_send_invoice_invoice(client: stripe.StripeClient) -> None:
    cus = customer(client)
    invoice = draft(client, cus, 5000, collection_method="send_invoice", days_until_due=14)
    sent = client.v1.invoices.send_invoice(invoice.id)
    assert (sent.status, sent.number) == ("open", f"{cus.invoice_prefix}-0001")
    assert event_types(client, invoice.id)[-2:] == ["invoice.finalized", "invoice.sent"]
    automatic = client.v1.invoices.finalize_invoice(draft(client, cus, 100).id)
    error = refused(client.v1.invoices.send_invoice, automatic.id)
    assert error.http_status == 400


def test_delete_a_draft_only(client: stripe.StripeClient) -> None:
    cus = customer(client)
    invoice = draft(client, cus, 800)
    item_id = invoice.lines.data[0].parent.invoice_item_details.invoice_item  # type: ignore[union-attr]
    gone = client.v1.invoices.delete(invoice.id)
    assert (gone.id, gone.deleted) == (invoice.id, True)
    assert refused(client.v1.invoices.retrieve, invoice.id).http_status == 404
    assert client.v1.invoice_items.retrieve(str(item_id)).invoice is None
    assert event_types(client, invoice.id)[-1] == "invoice.deleted"

    opened = client.v1.invoices.finalize_invoice(draft(client, cus, 800).id)
    error = refused(client.v1.invoices.delete, opened.id)
    assert (error.code, str(error.user_message)) == ("invoice_not_editable", "You can only delete draft invoices.")
    assert client.v1.invoices.retrieve(opened.id).status == "open"


def test_update_a_draft_and_an_open_invoice(client: stripe.StripeClient) -> None:
    cus = customer(client)
    invoice = draft(client, cus, 1000)
    updated = client.v1.invoices.update(
        invoice.id, {"description": "Q1", "footer": "Thanks", "collection_method": "send_invoice",
                     "days_until_due": 10, "metadata": {"a": "1"}}
    )
    assert (updated.description, updated.footer, updated.collection_method) == ("Q1", "Thanks", "send_invoice")
    assert updated.due_date == invoice.created + 10 * 86400
    events = client.v1.events.list({"type": "invoice.updated", "limit": 10}).data
    mine = [e for e in events if e.data.object.to_dict().get("id") == invoice.id]
    assert mine[0].data.to_dict()["previous_attributes"]["description"] is None

    opened = client.v1.invoices.finalize_invoice(invoice.id)
    assert client.v1.invoices.update(opened.id, {"description": "Q1 final"}).description == "Q1 final"
    error = refused(client.v1.invoices.update, opened.id, {"collection_method": "charge_automatically"})
    assert (error.code, error.param) == ("invoice_not_editable", "collection_method")
    assert client.v1.invoices.retrieve(opened.id).collection_method == "send_invoice"


def test_list_invoices_by_customer_status_and_method(client: stripe.StripeClient) -> None:
    cus = customer(client)
    first = draft(client, cus, 100)
    second = client.v1.invoices.finalize_invoice(
        draft(client, cus, 100, collection_method="send_invoice", days_until_due=5).id
    )
    assert [i.id for i in client.v1.invoices.list({"customer": cus.id}).data] == [second.id, first.id]
    assert [i.id for i in client.v1.invoices.list({"customer": cus.id, "status": "draft"}).data] == [first.id]
    by_method = client.v1.invoices.list({"customer": cus.id, "collection_method": "send_invoice"}).data
    assert [i.id for i in by_method] == [second.id]
    due = client.v1.invoices.list({"customer": cus.id, "due_date": {"gt": int(time.time())}}).data
    assert [i.id for i in due] == [second.id]
    page = client.v1.invoices.list({"customer": cus.id, "limit": 1})
    assert page.has_more is True
    lines = client.v1.invoices.line_items.list(second.id)
    assert [line.amount for line in lines.data] == [100]


def test_invoice_lines_page_in_order(client: stripe.StripeClient) -> None:
    cus = customer(client)
    for amount in range(1, 13):
        client.v1.invoice_items.create({"customer": cus.id, "amount": amount, "currency": "usd"})
    invoice = client.v1.invoices.create({"customer": cus.id, "pending_invoice_items_behavior": "include"})
    assert (len(invoice.lines.data), invoice.lines.has_more) == (10, True)
    assert invoice.total == sum(range(1, 13))
    first = client.v1.invoices.line_items.list(invoice.id, {"limit": 5})
    assert [line.amount for line in first.data] == [1, 2, 3, 4, 5]
    rest = client.v1.invoices.line_items.list(invoice.id, {"limit": 10, "starting_after": first.data[-1].id})
    assert [line.amount for line in rest.data] == [6, 7, 8, 9, 10, 11, 12]
    assert rest.has_more is False


def test_auto_advance_finalizes_and_collects(client: stripe.StripeClient) -> None:
    cus = paying_customer(client)
    invoice = draft(client, cus, 1800, auto_advance=True)
    assert invoice.automatically_finalizes_at == invoice.created + 3600
    soon = draft(client, cus, 700, auto_advance=True, automatically_finalizes_at=int(time.time()) + 2)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        current = client.v1.invoices.retrieve(soon.id)
        if current.status == "paid":
            break
        time.sleep(0.3)
    assert (current.status, current.amount_paid) == ("paid", 700)
    assert current.automatically_finalizes_at is None
    assert client.v1.invoices.retrieve(invoice.id).status == "draft"


def test_older_versions_see_the_older_shape(client: stripe.StripeClient) -> None:
    rate = client.v1.tax_rates.create({"display_name": "VAT", "percentage": 10, "inclusive": False})
    cus = customer(client)
    invoice = draft(client, cus, 1000, default_tax_rates=[rate.id])
    old = client.v1.invoices.retrieve(invoice.id, options=OLD).to_dict()  # type: ignore[arg-type]
    for name in ("paid", "subscription", "payment_intent", "charge", "tax", "total_tax_amounts", "discount"):
        assert name in old
    for name in ("parent", "total_taxes", "total_pretax_credit_amounts", "amount_overpaid"):
        assert name not in old
    assert (old["tax"], old["total"]) == (100, 1100)
    assert old["total_tax_amounts"] == [
        {"amount": 100, "inclusive": False, "tax_rate": rate.id, "taxability_reason": "standard_rated",
         "taxable_amount": 1000}
    ]
    line = old["lines"]["data"][0]
    assert (line["type"], line["proration"], line["amount_excluding_tax"]) == ("invoiceitem", False, 1000)
    assert line["invoice_item"].startswith("ii_")
    assert line["tax_amounts"][0]["amount"] == 100
    assert "parent" not in line and "pricing" not in line
    assert old["default_tax_rates"][0]["id"] == rate.id

    new = client.v1.invoices.retrieve(invoice.id).to_dict()
    assert new["total_taxes"] == [
        {"amount": 100, "tax_behavior": "exclusive", "tax_rate_details": {"tax_rate": rate.id},
         "taxability_reason": "standard_rated", "taxable_amount": 1000, "type": "tax_rate_details"}
    ]
    assert new["lines"]["data"][0]["taxes"][0]["amount"] == 100


BAD_CREATE = [
    ({}, "customer"),
    ({"customer": "cus_missing"}, "customer"),
    ({"collection_method": "send_invoice", "days_until_due": 5, "due_date": 2_000_000_000}, "due_date"),
    ({"days_until_due": 5}, "days_until_due"),
    ({"default_tax_rates": ["txr_missing"]}, "default_tax_rates[0]"),
    ({"discounts": [{"coupon": "NOPE"}]}, "discounts[0][coupon]"),
    ({"collection_method": "by_carrier_pigeon"}, "collection_method"),
    ({"subscription": "sub_missing"}, "subscription"),
    ({"default_payment_method": "pm_missing"}, "default_payment_method"),
    ({"pending_invoice_items_behavior": "include", "currency": "usd", "auto_advance": "maybe"}, "auto_advance"),
]


@pytest.mark.parametrize(("params", "param"), BAD_CREATE)
def test_bad_input_is_refused_and_changes_nothing(
    client: stripe.StripeClient, params: dict[str, Any], param: str
) -> None:
    cus = customer(client)
    item = client.v1.invoice_items.create({"customer": cus.id, "amount": 100, "currency": "usd"})
    sent = {"customer": cus.id, "pending_invoice_items_behavior": "include", **params}
    if param == "customer":
        sent = {k: v for k, v in sent.items() if k != "customer"} | (
            {"customer": params["customer"]} if "customer" in params else {})
    error = refused(client.v1.invoices.create, sent)
    assert (error.http_status, error.param) == (400, param)
    assert client.v1.invoices.list({"customer": cus.id}).data == []
    assert client.v1.invoice_items.retrieve(item.id).invoice is None
