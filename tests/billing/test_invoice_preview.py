"""The upcoming invoice, subscription invoices' shapes, and a client confirming an invoice's payment."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

OLD = {"stripe_version": "2024-04-10"}


def customer(client: stripe.StripeClient, card: str | None = None) -> stripe.Customer:
    if card is None:
        return client.v1.customers.create({"email": "preview@example.com"})
    return client.v1.customers.create(
        {"email": "preview@example.com", "payment_method": card,
         "invoice_settings": {"default_payment_method": card}}
    )


def monthly_price(client: stripe.StripeClient, amount: int = 2000) -> str:
    product = client.v1.products.create({"name": "Team plan"}).id
    return client.v1.prices.create(
        {"currency": "usd", "unit_amount": amount, "product": product, "recurring": {"interval": "month"}}
    ).id


def refused(call: Any, *args: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call(*args)
    return raised.value


def test_preview_a_customers_pending_items_without_storing_anything(client: stripe.StripeClient) -> None:
    cus = customer(client)
    item = client.v1.invoice_items.create({"customer": cus.id, "amount": 1500, "currency": "usd"})
    coupon = client.v1.coupons.create({"percent_off": 10, "duration": "once"})
    preview = client.v1.invoices.create_preview(
        {"customer": cus.id, "discounts": [{"coupon": coupon.id}],
         "invoice_items": [{"amount": 500, "currency": "usd", "description": "Extra"}]}
    )
    assert preview.id.startswith("upcoming_in_")
    assert (preview.status, preview.billing_reason, preview.customer) == ("draft", "upcoming", cus.id)
    assert [line.amount for line in preview.lines.data] == [1500, 500]
    assert (preview.subtotal, preview.total, preview.amount_due) == (2000, 1800, 1800)
    assert client.v1.invoices.list({"customer": cus.id}).data == []
    assert client.v1.invoice_items.retrieve(item.id).invoice is None
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 0


def test_nothing_upcoming_is_404(client: stripe.StripeClient) -> None:
    cus = customer(client)
    error = refused(client.v1.invoices.create_preview, {"customer": cus.id})
    assert (error.http_status, error.code) == (404, "invoice_upcoming_none")
    assert f"No upcoming invoices for customer: {cus.id}" in str(error.user_message)
    missing = refused(client.v1.invoices.create_preview, {"customer": "cus_missing"})
    assert (missing.http_status, missing.param) == (400, "customer")


def test_the_older_upcoming_endpoint(client: stripe.StripeClient) -> None:
    cus = customer(client)
    client.v1.invoice_items.create({"customer": cus.id, "amount": 700, "currency": "usd"})
    upcoming = client.raw_request(
        "get", "/v1/invoices/upcoming", customer=cus.id, stripe_version="2024-04-10"
    )
    shown = client.deserialize(upcoming, api_mode="V1").to_dict()
    assert "id" not in shown
    assert (shown["object"], shown["total"], shown["paid"]) == ("invoice", 700, False)
    assert shown["lines"]["data"][0]["type"] == "invoiceitem"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.raw_request("get", "/v1/invoices/upcoming", customer=cus.id)
    assert raised.value.http_status == 404


def test_a_subscriptions_invoice_and_its_preview(client: stripe.StripeClient) -> None:
    cus = customer(client, "pm_card_visa")
    subscription = client.v1.subscriptions.create({"customer": cus.id, "items": [{"price": monthly_price(client)}]})
    invoice = client.v1.invoices.retrieve(str(subscription.latest_invoice))
    assert (invoice.status, invoice.billing_reason, invoice.amount_paid) == ("paid", "subscription_create", 2000)
    assert invoice.parent is not None and invoice.parent.subscription_details is not None
    assert invoice.parent.subscription_details.subscription == subscription.id
    [line] = invoice.lines.data
    details = line.parent.subscription_item_details if line.parent else None
    assert details is not None and details.subscription == subscription.id
    assert line.description == "1 × Team plan (at $20.00 / month)"
    assert [i.id for i in client.v1.invoices.list({"subscription": subscription.id}).data] == [invoice.id]

    old = client.v1.invoices.retrieve(invoice.id, options=OLD).to_dict()  # type: ignore[arg-type]
    assert (old["subscription"], old["paid"]) == (subscription.id, True)
    assert old["lines"]["data"][0]["type"] == "subscription"

    preview = client.v1.invoices.create_preview({"subscription": subscription.id})
    assert preview.total == 2000
    assert preview.lines.data[0].period.start == invoice.lines.data[0].period.end


def test_a_client_confirming_the_invoices_payment_intent_pays_it(
    client: stripe.StripeClient, public_client: stripe.StripeClient
) -> None:
    cus = customer(client)
    client.v1.invoice_items.create({"customer": cus.id, "amount": 4200, "currency": "usd"})
    invoice = client.v1.invoices.create({"customer": cus.id, "pending_invoice_items_behavior": "include"})
    client.v1.invoices.finalize_invoice(invoice.id)
    shown = client.v1.invoices.retrieve(invoice.id, {"expand": ["confirmation_secret"]})
    assert shown.confirmation_secret is not None
    secret = shown.confirmation_secret.client_secret
    intent_id = secret.split("_secret_")[0]
    public_client.v1.payment_intents.confirm(
        intent_id, {"client_secret": secret, "payment_method": "pm_card_visa"}
    )
    paid = client.v1.invoices.retrieve(invoice.id)
    assert (paid.status, paid.amount_paid, paid.attempt_count) == ("paid", 4200, 1)
