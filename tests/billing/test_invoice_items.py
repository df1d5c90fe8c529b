"""Invoice items, as the Stripe docs' own examples use them."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

OLD = {"stripe_version": "2024-04-10"}


def customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create({"email": "items@example.com"})


def one_time_price(client: stripe.StripeClient, amount: int = 1500, name: str = "Setup fee") -> stripe.Price:
    return client.v1.prices.create(
        {"currency": "usd", "unit_amount": amount, "product_data": {"name": name}}
    )


def refused(call: Any, *args: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        call(*args)
    return raised.value


def test_a_pending_item_of_an_amount(client: stripe.StripeClient) -> None:
    cus = customer(client)
    item = client.v1.invoice_items.create(
        {"customer": cus.id, "amount": 2500, "currency": "usd", "description": "Consulting",
         "metadata": {"order": "42"}}
    )
    assert item.id.startswith("ii_")
    assert item.object == "invoiceitem"
    assert (item.amount, item.currency, item.customer, item.invoice) == (2500, "usd", cus.id, None)
    assert (item.quantity, item.discountable, item.proration) == (1, True, False)
    assert item.description == "Consulting"
    assert item.pricing is not None and str(item.pricing.unit_amount_decimal) == "2500"
    assert item.period.start == item.period.end == item.date
    assert item.tax_rates == []
    assert item.parent is None
    assert "subscription" not in item.to_dict()
    assert item.metadata.to_dict() == {"order": "42"}
    events = client.v1.events.list({"type": "invoiceitem.created", "limit": 5}).data
    assert item.id in [e.data.object.to_dict().get("id") for e in events]


def test_an_item_of_a_price_times_a_quantity(client: stripe.StripeClient) -> None:
    cus = customer(client)
    price = one_time_price(client)
    item = client.v1.invoice_items.create(
        {"customer": cus.id, "pricing": {"price": price.id}, "quantity": 3}
    )
    assert (item.amount, item.currency, item.quantity) == (4500, "usd", 3)
    assert item.description == "Setup fee"
    details = item.pricing.to_dict()["price_details"]
    assert details == {"price": price.id, "product": price.product}

    old = client.v1.invoice_items.retrieve(item.id, options=OLD)  # type: ignore[arg-type]
    shown = old.to_dict()
    assert shown["price"]["id"] == price.id
    assert (shown["unit_amount"], shown["unit_amount_decimal"]) == (1500, "1500")
    assert shown["subscription"] is None
    assert "pricing" not in shown and "parent" not in shown


def test_inline_price_data_and_decimal_unit_amounts(client: stripe.StripeClient) -> None:
    cus = customer(client)
    product = client.v1.products.create({"name": "API calls"})
    inline = client.v1.invoice_items.create(
        {"customer": cus.id, "price_data": {"currency": "usd", "product": product.id, "unit_amount": 250},
         "quantity": 2}
    )
    assert inline.amount == 500
    price_id = inline.pricing.to_dict()["price_details"]["price"]
    assert client.v1.prices.retrieve(price_id).active is False
    # 0.5 cents x 3 = 1.5, rounded half up to 2.
    tiny = client.v1.invoice_items.create(
        {"customer": cus.id, "currency": "usd", "unit_amount_decimal": "0.5", "quantity": 3}  # type: ignore[typeddict-item]
    )
    assert tiny.amount == 2
    assert str(tiny.pricing.unit_amount_decimal) == "0.5"


def test_a_credit_is_a_negative_amount(client: stripe.StripeClient) -> None:
    cus = customer(client)
    credit = client.v1.invoice_items.create({"customer": cus.id, "amount": -700, "currency": "usd"})
    assert credit.amount == -700
    assert credit.discountable is False


def test_update_and_delete_a_pending_item(client: stripe.StripeClient) -> None:
    cus = customer(client)
    item = client.v1.invoice_items.create({"customer": cus.id, "amount": 1000, "currency": "usd"})
    updated = client.v1.invoice_items.update(
        item.id, {"amount": 1200, "description": "Adjusted", "metadata": {"k": "v"}}
    )
    assert (updated.amount, updated.description) == (1200, "Adjusted")
    events = client.v1.events.list({"type": "invoiceitem.updated", "limit": 5}).data
    mine = [e for e in events if e.data.object.to_dict().get("id") == item.id]
    assert mine[0].data.to_dict()["previous_attributes"]["amount"] == 1000

    gone = client.v1.invoice_items.delete(item.id)
    assert (gone.id, gone.deleted) == (item.id, True)
    assert refused(client.v1.invoice_items.retrieve, item.id).http_status == 404
    deleted = client.v1.events.list({"type": "invoiceitem.deleted", "limit": 5}).data
    assert item.id in [e.data.object.to_dict().get("id") for e in deleted]


def test_list_by_customer_pending_and_invoice(client: stripe.StripeClient) -> None:
    cus = customer(client)
    first = client.v1.invoice_items.create({"customer": cus.id, "amount": 100, "currency": "usd"})
    invoice = client.v1.invoices.create({"customer": cus.id, "pending_invoice_items_behavior": "include"})
    second = client.v1.invoice_items.create({"customer": cus.id, "amount": 200, "currency": "usd"})

    listed = client.v1.invoice_items.list({"customer": cus.id})
    assert [i.id for i in listed.data] == [second.id, first.id]
    assert [i.id for i in client.v1.invoice_items.list({"customer": cus.id, "pending": True}).data] == [second.id]
    assert [i.id for i in client.v1.invoice_items.list({"invoice": invoice.id}).data] == [first.id]
    assert client.v1.invoice_items.retrieve(first.id).invoice == invoice.id


def test_an_item_added_to_a_draft_follows_it(client: stripe.StripeClient) -> None:
    cus = customer(client)
    invoice = client.v1.invoices.create({"customer": cus.id})
    item = client.v1.invoice_items.create(
        {"customer": cus.id, "amount": 3000, "currency": "usd", "invoice": invoice.id}
    )
    assert item.invoice == invoice.id
    draft = client.v1.invoices.retrieve(invoice.id)
    assert (draft.total, len(draft.lines.data)) == (3000, 1)
    line = draft.lines.data[0]
    assert line.parent is not None and line.parent.invoice_item_details is not None
    assert line.parent.invoice_item_details.invoice_item == item.id

    client.v1.invoice_items.update(item.id, {"amount": 3500})
    assert client.v1.invoices.retrieve(invoice.id).total == 3500
    client.v1.invoice_items.delete(item.id)
    emptied = client.v1.invoices.retrieve(invoice.id)
    assert (emptied.total, emptied.lines.data) == (0, [])


def test_an_item_on_a_finalized_invoice_is_fixed(client: stripe.StripeClient) -> None:
    cus = customer(client)
    invoice = client.v1.invoices.create({"customer": cus.id, "collection_method": "send_invoice",
                                         "days_until_due": 30})
    item = client.v1.invoice_items.create(
        {"customer": cus.id, "amount": 3000, "currency": "usd", "invoice": invoice.id}
    )
    client.v1.invoices.finalize_invoice(invoice.id)
    error = refused(client.v1.invoice_items.delete, item.id)
    assert (error.http_status, error.code) == (400, "invoice_not_editable")
    error = refused(client.v1.invoice_items.update, item.id, {"amount": 1})
    assert error.code == "invoice_not_editable"
    assert client.v1.invoice_items.retrieve(item.id).amount == 3000
    error = refused(
        client.v1.invoice_items.create,
        {"customer": cus.id, "amount": 1, "currency": "usd", "invoice": invoice.id},
    )
    assert (error.code, error.param) == ("invoice_not_editable", "invoice")


def test_tax_rates_and_discounts_on_an_item(client: stripe.StripeClient) -> None:
    cus = customer(client)
    rate = client.v1.tax_rates.create({"display_name": "VAT", "percentage": 20, "inclusive": False})
    coupon = client.v1.coupons.create({"percent_off": 10, "duration": "once"})
    item = client.v1.invoice_items.create(
        {"customer": cus.id, "amount": 1000, "currency": "usd", "tax_rates": [rate.id],
         "discounts": [{"coupon": coupon.id}]}
    )
    assert [r.id for r in item.tax_rates or []] == [rate.id]
    assert item.discounts is not None and len(item.discounts) == 1
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1
    invoice = client.v1.invoices.create({"customer": cus.id, "pending_invoice_items_behavior": "include"})
    # 1000 - 10% = 900; VAT 20% of 900 = 180.
    assert (invoice.subtotal, invoice.total, invoice.total_excluding_tax) == (1000, 1080, 900)
    assert invoice.lines.data[0].discount_amounts is not None
    assert invoice.lines.data[0].discount_amounts[0].amount == 100


BAD = [
    ({"amount": 100, "currency": "usd"}, "customer", 400),
    ({"customer": "cus_missing", "amount": 100, "currency": "usd"}, "customer", 400),
    ({"amount": 100}, "currency", 400),
    ({"currency": "usd"}, "amount", 400),
    ({"amount": 100, "currency": "usd", "quantity": -1}, "quantity", 400),
    ({"amount": 100, "currency": "usd", "unit_amount": 5}, "unit_amount", 400),
    ({"pricing": {"price": "price_missing"}}, "pricing[price]", 400),
    ({"amount": 100, "currency": "usd", "tax_rates": ["txr_missing"]}, "tax_rates[0]", 400),
    ({"amount": 100, "currency": "usd", "discounts": [{"coupon": "NOPE"}]}, "discounts[0][coupon]", 400),
    ({"amount": 100, "currency": "usd", "invoice": "in_missing"}, "invoice", 400),
    ({"amount": 100, "currency": "zzz"}, "currency", 400),
]


@pytest.mark.parametrize(("params", "param", "status"), BAD)
def test_bad_input_is_refused_and_changes_nothing(
    client: stripe.StripeClient, params: dict[str, Any], param: str, status: int
) -> None:
    cus = customer(client)
    sent = {"customer": cus.id, **params}
    if params.get("customer") is None and "customer" in params:
        sent.pop("customer")
    if param == "customer" and "customer" not in params:
        sent.pop("customer")
    error = refused(client.v1.invoice_items.create, sent)
    assert (error.http_status, error.param) == (status, param)
    assert client.v1.invoice_items.list({"customer": cus.id}).data == []


def test_a_recurring_price_is_not_a_one_time_charge(client: stripe.StripeClient) -> None:
    cus = customer(client)
    monthly = client.v1.prices.create(
        {"currency": "usd", "unit_amount": 900, "recurring": {"interval": "month"},
         "product_data": {"name": "Plan"}}
    )
    error = refused(client.v1.invoice_items.create, {"customer": cus.id, "pricing": {"price": monthly.id}})
    assert error.param == "pricing[price]"
    assert "type=one_time" in str(error.user_message)
    old = refused(client.v1.invoice_items.create, {"customer": cus.id, "price": monthly.id})
    assert old.param == "price"
    assert client.v1.invoice_items.list({"customer": cus.id}).data == []
