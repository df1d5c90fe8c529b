"""Every resource module's routes, in one list: the API surface Billfold serves."""

from __future__ import annotations

from billfold.observability import request_log_api
from billfold.resources.billing import (
    coupons,
    invoice_items,
    invoice_lines,
    invoice_payments,
    invoice_preview,
    invoices,
    meter_events,
    meters,
    plans,
    prices,
    products,
    promotion_codes,
    subscription_items,
    subscriptions,
    tax_rates,
    test_clock_advance,
    test_clocks,
    upcoming,
    usage_records,
)
from billfold.resources.connect import (
    account_links,
    accounts,
    application_fee_refunds,
    application_fees,
    capabilities,
    external_accounts,
    login_links,
    payout_schedule,
    payouts,
    transfer_reversals,
    transfers,
)
from billfold.resources.disputes import disputes
from billfold.resources.events import events, webhook_endpoints
from billfold.resources.payments import (
    balance,
    charges,
    customers,
    payment_intents,
    payment_methods,
    refunds,
    setup_attempts,
    setup_intents,
    tokens,
)
from billfold.resources.radar import early_fraud_warnings, reviews, rule_store, value_lists
from billfold.wire.router import Routes

# Modules imported for the job handlers they register.
JOB_MODULES = (payout_schedule, test_clock_advance, upcoming)

ROUTE_GROUPS: list[Routes] = [
    customers.routes,
    payment_methods.routes,
    setup_intents.routes,
    setup_attempts.routes,
    tokens.routes,
    payment_intents.routes,
    charges.routes,
    refunds.routes,
    balance.routes,
    events.routes,
    webhook_endpoints.routes,
    products.routes,
    prices.routes,
    plans.routes,
    coupons.routes,
    promotion_codes.routes,
    meters.routes,
    meter_events.routes,
    usage_records.routes,
    subscriptions.routes,
    subscription_items.routes,
    tax_rates.routes,
    invoice_items.routes,
    invoices.routes,
    invoice_lines.routes,
    invoice_preview.routes,
    invoice_payments.routes,
    test_clocks.routes,
    disputes.routes,
    early_fraud_warnings.routes,
    value_lists.routes,
    reviews.routes,
    rule_store.routes,
    accounts.routes,
    capabilities.routes,
    external_accounts.routes,
    account_links.routes,
    login_links.routes,
    application_fees.routes,
    application_fee_refunds.routes,
    transfers.routes,
    transfer_reversals.routes,
    payouts.routes,
    request_log_api.routes,
]
