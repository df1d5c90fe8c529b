"""The hosted invoice page and the invoice PDF: what a customer sees at ``hosted_invoice_url``
and ``invoice_pdf``, and paying there with a test card."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pypdf
import pytest
import stripe


def open_invoice(
    client: stripe.StripeClient,
    items: list[dict[str, Any]] | None = None,
    *,
    currency: str = "usd",
    discounts: list[dict[str, Any]] | None = None,
) -> stripe.Invoice:
    """A finalized send_invoice invoice, due in 30 days, for a new customer."""
    customer = client.v1.customers.create(
        {"name": "Jenny Rosen", "email": "jenny.rosen@example.com",
         "address": {"line1": "510 Townsend St", "city": "San Francisco", "state": "CA",
                     "postal_code": "94103", "country": "US"}}
    )
    for item in items or [{"unit_amount_decimal": "1500", "quantity": 2, "description": "Seat licence"},
                          {"amount": 500, "description": "Setup fee"}]:
        client.v1.invoice_items.create(
            {"customer": customer.id, "currency": currency, **item}  # type: ignore[typeddict-item]
        )
    params: dict[str, Any] = {
        "customer": customer.id, "collection_method": "send_invoice", "days_until_due": 30,
        "pending_invoice_items_behavior": "include",
    }
    if discounts:
        params["discounts"] = discounts
    draft = client.v1.invoices.create(params)  # type: ignore[arg-type]
    invoice = client.v1.invoices.finalize_invoice(draft.id)
    assert invoice.status == "open"
    assert invoice.hosted_invoice_url and invoice.invoice_pdf
    return invoice


def pay(invoice: stripe.Invoice, number: str, **fields: str) -> httpx.Response:
    """Fill in the page's card form and press Pay, as a browser posts it."""
    url = str(invoice.hosted_invoice_url)
    secret = parse_qs(urlsplit(url).query)["secret"][0]
    form = {"secret": secret, "card_number": number, "exp": "12 / 34", "cvc": "123", **fields}
    return httpx.post(url.split("?")[0], data=form, follow_redirects=False)


def pdf_text(response: httpx.Response) -> str:
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_page_shows_the_open_invoice(client: stripe.StripeClient) -> None:
    invoice = open_invoice(client)
    page = httpx.get(str(invoice.hosted_invoice_url))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert str(invoice.number) in text
    assert 'id="status">Open<' in text.replace("\n", "")
    assert "Jenny Rosen" in text and "510 Townsend St" in text
    assert "Seat licence" in text and "Setup fee" in text
    assert "$15.00" in text and "$30.00" in text and "$5.00" in text
    assert "$35.00 due" in text
    assert "Due date" in text
    assert 'id="pay-form"' in text and "Pay $35.00" in text
    assert "/billfold/static/billfold.css" in text
    css = httpx.get(str(invoice.hosted_invoice_url).split("/billfold/")[0] + "/billfold/static/billfold.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_paying_with_a_test_card_pays_the_invoice(client: stripe.StripeClient) -> None:
    invoice = open_invoice(client)
    response = pay(invoice, "4242 4242 4242 4242", name="Jenny Rosen")
    assert response.status_code == 303
    assert response.headers["location"] == invoice.hosted_invoice_url

    paid = client.v1.invoices.retrieve(invoice.id)
    assert paid.status == "paid"
    assert (paid.amount_paid, paid.amount_remaining) == (3500, 0)
    assert paid.status_transitions.paid_at is not None

    page = httpx.get(str(invoice.hosted_invoice_url))
    assert page.status_code == 200
    assert "$35.00 paid on" in page.text and 'id="paid-at"' in page.text
    assert 'id="pay-form"' not in page.text
    assert 'id="receipt-link"' in page.text and 'id="pdf-link"' in page.text

    receipt_url = str(invoice.hosted_invoice_url).replace("?", "/receipt?")
    receipt = pdf_text(httpx.get(receipt_url))
    assert "Receipt" in receipt and str(invoice.number) in receipt
    assert "Visa - 4242" in receipt and "$35.00" in receipt

    again = pay(invoice, "4242424242424242")
    assert again.status_code == 409 and "already been paid" in again.text
    assert client.v1.invoices.retrieve(invoice.id).amount_paid == 3500


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("4000000000000002", "Your card was declined."),
        ("4000000000009995", "Your card has insufficient funds."),
        ("4000000000000069", "Your card has expired."),
    ],
)
def test_a_decline_is_shown_and_the_invoice_stays_open(
    client: stripe.StripeClient, number: str, message: str
) -> None:
    invoice = open_invoice(client)
    response = pay(invoice, number)
    assert response.status_code == 402
    assert message in response.text and 'id="decline"' in response.text
    assert 'id="pay-form"' in response.text

    still = client.v1.invoices.retrieve(invoice.id)
    assert still.status == "open"
    assert still.amount_paid == 0 and still.amount_remaining == 3500
    assert still.attempted is True and still.attempt_count == 1

    assert pay(invoice, "4242424242424242").status_code == 303
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"card_number": ""}, "Your card number is incomplete."),
        ({"card_number": "4242 4242 4242 4241"}, "Your card number is incorrect."),
        ({"card_number": "4242"}, "Your card number is invalid."),
        ({"exp": "13/34"}, "Your card&#39;s expiration month is invalid."),
        ({"exp": "12/19"}, "Your card&#39;s expiration year is invalid."),
        ({"exp": "soon"}, "Your card&#39;s expiration date is incomplete."),
        ({"cvc": ""}, "Your card&#39;s security code is incomplete."),
        ({"cvc": "12"}, "Your card&#39;s security code is invalid."),
    ],
)
def test_bad_card_details_are_refused_and_change_nothing(
    client: stripe.StripeClient, fields: dict[str, str], message: str
) -> None:
    invoice = open_invoice(client)
    extra = dict(fields)  # the parameters are shared by both backends' runs
    number = extra.pop("card_number", "4242424242424242")
    response = pay(invoice, number, **extra)
    assert response.status_code in (400, 402)
    assert message in response.text
    unchanged = client.v1.invoices.retrieve(invoice.id)
    assert unchanged.status == "open" and unchanged.attempt_count == 0


def test_three_d_secure_goes_through_the_challenge_and_comes_back(client: stripe.StripeClient) -> None:
    invoice = open_invoice(client)
    response = pay(invoice, "4000002760003184")
    assert response.status_code == 303
    challenge = response.headers["location"]
    assert "/billfold/3ds/pi_" in challenge
    shown = httpx.get(challenge)
    assert shown.status_code == 200 and "$35.00" in shown.text
    assert client.v1.invoices.retrieve(invoice.id).status == "open"

    secret = parse_qs(urlsplit(challenge).query)["client_secret"][0]
    done = httpx.post(challenge.split("?")[0], data={"client_secret": secret, "outcome": "complete"})
    assert done.status_code == 303
    back = done.headers["location"]
    assert back.startswith(str(invoice.hosted_invoice_url) + "&")
    assert parse_qs(urlsplit(back).query)["redirect_status"] == ["succeeded"]

    assert client.v1.invoices.retrieve(invoice.id).status == "paid"
    page = httpx.get(back)
    assert "Your payment is complete." in page.text and "$35.00 paid on" in page.text


def test_failed_authentication_comes_back_with_the_invoice_open(client: stripe.StripeClient) -> None:
    invoice = open_invoice(client)
    challenge = pay(invoice, "4000002760003184").headers["location"]
    secret = parse_qs(urlsplit(challenge).query)["client_secret"][0]
    done = httpx.post(challenge.split("?")[0], data={"client_secret": secret, "outcome": "fail"})
    back = done.headers["location"]
    assert parse_qs(urlsplit(back).query)["redirect_status"] == ["failed"]
    page = httpx.get(back)
    assert "We are unable to authenticate your payment method." in page.text
    assert 'id="pay-form"' in page.text
    assert client.v1.invoices.retrieve(invoice.id).status == "open"


def test_the_pdf_is_a_real_pdf_with_the_invoice_in_it(client: stripe.StripeClient) -> None:
    invoice = open_invoice(client)
    response = httpx.get(str(invoice.invoice_pdf))
    assert response.headers["content-disposition"].startswith("inline; filename=\"Invoice-")
    text = pdf_text(response)
    assert str(invoice.number) in text
    assert "Seat licence" in text and "Setup fee" in text
    assert "Total" in text and "$35.00" in text
    assert "Jenny Rosen" in text and "Status Open" in text


def test_zero_decimal_currencies_are_formatted_without_minor_units(client: stripe.StripeClient) -> None:
    invoice = open_invoice(client, [{"amount": 1000, "description": "Consultation"}], currency="jpy")
    page = httpx.get(str(invoice.hosted_invoice_url))
    assert "¥1,000" in page.text and "¥10.00" not in page.text
    assert "¥1,000" in pdf_text(httpx.get(str(invoice.invoice_pdf)))


def test_a_discount_is_listed_with_its_coupon(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"percent_off": 25, "duration": "once", "name": "Launch"})
    invoice = open_invoice(
        client, [{"amount": 4000, "description": "Annual plan"}], discounts=[{"coupon": coupon.id}]
    )
    assert invoice.total == 3000
    page = httpx.get(str(invoice.hosted_invoice_url)).text
    assert "Launch (25% off)" in page and "-$10.00" in page and "$30.00 due" in page
    text = pdf_text(httpx.get(str(invoice.invoice_pdf)))
    assert "Launch (25% off)" in text and "-$10.00" in text


def test_void_and_uncollectible_invoices(client: stripe.StripeClient) -> None:
    voided = client.v1.invoices.void_invoice(open_invoice(client).id)
    page = httpx.get(str(voided.hosted_invoice_url))
    assert page.status_code == 200
    assert "Void" in page.text and "can no longer be paid" in page.text
    assert 'id="pay-form"' not in page.text
    refused = pay(voided, "4242424242424242")
    assert refused.status_code == 409
    assert client.v1.invoices.retrieve(voided.id).status == "void"
    assert "Status Void" in pdf_text(httpx.get(str(voided.invoice_pdf)))

    written_off = client.v1.invoices.mark_uncollectible(open_invoice(client).id)
    page = httpx.get(str(written_off.hosted_invoice_url))
    assert "Uncollectible" in page.text and 'id="pay-form"' in page.text
    assert pay(written_off, "4242424242424242").status_code == 303
    assert client.v1.invoices.retrieve(written_off.id).status == "paid"


def test_wrong_or_missing_secrets_find_nothing(client: stripe.StripeClient) -> None:
    invoice = open_invoice(client)
    url = str(invoice.hosted_invoice_url)
    base = url.split("?")[0]
    for wrong in (base, base + "?secret=nope", base.replace(invoice.id, "in_missing") + "?secret=x"):
        response = httpx.get(wrong)
        assert response.status_code == 404 and "not valid" in response.text
    assert httpx.get(base + "/pdf?secret=nope").status_code == 404
    assert httpx.get(base + "/receipt?" + url.split("?")[1]).status_code == 404  # not paid yet
    posted = httpx.post(base, data={"secret": "nope", "card_number": "4242424242424242",
                                    "exp": "12/34", "cvc": "123"})
    assert posted.status_code == 404
    assert client.v1.invoices.retrieve(invoice.id).status == "open"


def test_taxes_and_a_customer_credit_are_shown(client: stripe.StripeClient) -> None:
    sales_tax = client.v1.tax_rates.create(
        {"display_name": "Sales Tax", "percentage": 8.25, "inclusive": False, "jurisdiction": "CA"}
    )
    vat = client.v1.tax_rates.create({"display_name": "VAT", "percentage": 20, "inclusive": True})
    invoice = open_invoice(client, [
        {"amount": 10000, "description": "Widget", "tax_rates": [sales_tax.id]},
        {"amount": 1200, "description": "Gadget", "tax_rates": [vat.id]},
    ])
    assert (invoice.subtotal, invoice.total) == (11200, 12025)
    page = httpx.get(str(invoice.hosted_invoice_url)).text
    assert "Sales Tax – CA (8.25%)" in page and "$8.25" in page
    assert "VAT (20%), included" in page and "$2.00" in page
    assert "Total excluding tax" in page and "$120.25 due" in page
    text = pdf_text(httpx.get(str(invoice.invoice_pdf)))
    assert "Sales Tax - CA (8.25%)" in text and "$120.25" in text
