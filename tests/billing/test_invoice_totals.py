"""An invoice's money: tax rates (exclusive and inclusive), discounts and the customer's balance."""

from __future__ import annotations

from typing import Any

import stripe


def customer(client: stripe.StripeClient, **extra: Any) -> stripe.Customer:
    return client.v1.customers.create({"email": "totals@example.com", **extra})


def rate(client: stripe.StripeClient, percentage: float, inclusive: bool) -> stripe.TaxRate:
    return client.v1.tax_rates.create(
        {"display_name": "Tax", "percentage": percentage, "inclusive": inclusive}
    )


def invoice_of(client: stripe.StripeClient, cus: stripe.Customer, *amounts: int, **extra: Any) -> stripe.Invoice:
    for amount in amounts:
        client.v1.invoice_items.create({"customer": cus.id, "amount": amount, "currency": "usd"})
    return client.v1.invoices.create(
        {"customer": cus.id, "pending_invoice_items_behavior": "include", **extra}
    )


def money(invoice: stripe.Invoice) -> tuple[int, ...]:
    return (invoice.subtotal, invoice.total_excluding_tax or 0, invoice.total, invoice.amount_due)


def test_an_exclusive_rate_adds_tax_on_top(client: stripe.StripeClient) -> None:
    vat = rate(client, 19, False)
    invoice = invoice_of(client, customer(client), 1000, default_tax_rates=[vat.id])
    assert money(invoice) == (1000, 1000, 1190, 1190)
    assert invoice.subtotal_excluding_tax == 1000
    [tax] = invoice.total_taxes or []
    assert (tax.amount, tax.tax_behavior, tax.taxable_amount) == (190, "exclusive", 1000)
    assert [r.id for r in invoice.default_tax_rates] == [vat.id]


def test_an_inclusive_rate_is_carved_out_of_the_amount(client: stripe.StripeClient) -> None:
    gst = rate(client, 20, True)
    invoice = invoice_of(client, customer(client), 1200, default_tax_rates=[gst.id])
    assert money(invoice) == (1200, 1000, 1200, 1200)
    [tax] = invoice.total_taxes or []
    assert (tax.amount, tax.tax_behavior, tax.taxable_amount) == (200, "inclusive", 1000)


def test_taxes_round_half_up_per_line(client: stripe.StripeClient) -> None:
    ny = rate(client, 8.875, False)
    # 1050 x 8.875% = 93.1875 -> 93; 200 x 8.875% = 17.75 -> 18 (per line: 111, not 111.1875).
    invoice = invoice_of(client, customer(client), 1050, 200, default_tax_rates=[ny.id])
    assert [line.taxes[0].amount for line in invoice.lines.data if line.taxes] == [93, 18]
    assert money(invoice) == (1250, 1250, 1361, 1361)
    half = rate(client, 5, False)
    # 10 x 5% = 0.5 -> 1 (half up).
    assert invoice_of(client, customer(client), 10, default_tax_rates=[half.id]).total == 11


def test_an_items_own_rates_replace_the_invoice_defaults(client: stripe.StripeClient) -> None:
    cus = customer(client)
    default = rate(client, 10, False)
    own = rate(client, 25, False)
    client.v1.invoice_items.create({"customer": cus.id, "amount": 1000, "currency": "usd", "tax_rates": [own.id]})
    invoice = invoice_of(client, cus, 1000, default_tax_rates=[default.id])
    assert invoice.total == 1000 + 250 + 1000 + 100
    amounts = sorted((t.tax_rate_details.tax_rate, t.amount) for t in invoice.total_taxes or [] if t.tax_rate_details)
    assert amounts == sorted([(own.id, 250), (default.id, 100)])


def test_a_percent_coupon_on_the_invoice(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"percent_off": 25, "duration": "once"})
    vat = rate(client, 10, False)
    invoice = invoice_of(
        client, customer(client), 3000, 1000, discounts=[{"coupon": coupon.id}], default_tax_rates=[vat.id]
    )
    # 4000 - 25% = 3000; tax 10% of 3000 = 300.
    assert money(invoice) == (4000, 3000, 3300, 3300)
    [entry] = invoice.total_discount_amounts or []
    assert entry.amount == 1000
    assert invoice.discounts == [entry.discount]
    assert [line.discount_amounts[0].amount for line in invoice.lines.data if line.discount_amounts] == [750, 250]
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1
    again = client.v1.invoices.update(invoice.id, {"discounts": [{"discount": str(entry.discount)}]})
    assert again.total == 3300
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1


def test_an_amount_off_coupon_and_a_promotion_code(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"amount_off": 500, "currency": "usd", "duration": "once"})
    code = client.v1.promotion_codes.create({"promotion": {"type": "coupon", "coupon": coupon.id}})
    invoice = invoice_of(client, customer(client), 1500, 500, discounts=[{"promotion_code": code.id}])
    assert money(invoice) == (2000, 1500, 1500, 1500)
    assert sorted(line.discount_amounts[0].amount for line in invoice.lines.data if line.discount_amounts) == [125, 375]
    assert client.v1.promotion_codes.retrieve(code.id).times_redeemed == 1


def test_an_amount_off_never_makes_the_total_negative(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"amount_off": 5000, "currency": "usd", "duration": "once"})
    invoice = invoice_of(client, customer(client), 1200, discounts=[{"coupon": coupon.id}])
    assert money(invoice) == (1200, 0, 0, 0)


def test_a_customer_credit_balance_is_applied_at_finalization(client: stripe.StripeClient) -> None:
    cus = customer(client, balance=-500)
    invoice = invoice_of(client, cus, 2000, collection_method="send_invoice", days_until_due=30)
    assert (invoice.starting_balance, invoice.amount_due, invoice.ending_balance) == (-500, 1500, None)
    opened = client.v1.invoices.finalize_invoice(invoice.id)
    assert (opened.starting_balance, opened.ending_balance, opened.amount_due, opened.total) == (-500, 0, 1500, 2000)
    assert client.v1.customers.retrieve(cus.id).balance == 0
    client.v1.invoices.void_invoice(invoice.id)
    assert client.v1.customers.retrieve(cus.id).balance == -500


def test_credit_beyond_the_total_stays_with_the_customer(client: stripe.StripeClient) -> None:
    cus = customer(client, balance=-3000)
    paid = client.v1.invoices.finalize_invoice(invoice_of(client, cus, 1000).id)
    assert (paid.status, paid.amount_due, paid.ending_balance) == ("paid", 0, -2000)
    assert client.v1.customers.retrieve(cus.id).balance == -2000


def test_nothing_due_is_paid_at_once_and_a_tiny_amount_is_carried(client: stripe.StripeClient) -> None:
    cus = customer(client)
    free = client.v1.invoices.finalize_invoice(invoice_of(client, cus, 0).id)
    assert (free.status, free.amount_due, free.amount_paid) == ("paid", 0, 0)
    assert free.status_transitions.paid_at is not None
    # 30 cents is below Stripe's 50 cent minimum charge: carried to the customer's balance.
    tiny = client.v1.invoices.finalize_invoice(invoice_of(client, cus, 30).id)
    assert (tiny.status, tiny.amount_due, tiny.ending_balance) == ("paid", 0, 30)
    assert client.v1.customers.retrieve(cus.id).balance == 30
    later = invoice_of(client, cus, 1000)
    assert (later.starting_balance, later.amount_due) == (30, 1030)


def test_a_credit_line_reduces_the_invoice(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create({"percent_off": 50, "duration": "once"})
    invoice = invoice_of(client, customer(client), 2000, -500, discounts=[{"coupon": coupon.id}])
    # The credit is not discountable: 2000 - 50% - 500 = 500.
    assert money(invoice) == (1500, 500, 500, 500)
