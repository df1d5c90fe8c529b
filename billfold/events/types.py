"""The event types a webhook endpoint may subscribe to: Stripe's names, for Billfold's products.

Grouped by the resource that emits them. A product area that starts emitting a new kind of
event adds its name here, so ``enabled_events`` accepts it.
"""

from __future__ import annotations

_BY_RESOURCE: dict[str, tuple[str, ...]] = {
    # Payments
    "balance": ("available",),
    "charge": (
        "captured", "expired", "failed", "pending", "refund.updated", "refunded", "succeeded",
        "updated",
    ),
    "customer": ("created", "deleted", "updated"),
    "payment_intent": (
        "amount_capturable_updated", "canceled", "created", "partially_funded", "payment_failed",
        "processing", "requires_action", "succeeded",
    ),
    "payment_method": ("attached", "automatically_updated", "detached", "updated"),
    "refund": ("created", "failed", "updated"),
    "setup_intent": ("canceled", "created", "requires_action", "setup_failed", "succeeded"),
    # Disputes and Radar
    "charge.dispute": ("closed", "created", "funds_reinstated", "funds_withdrawn", "updated"),
    "radar.early_fraud_warning": ("created", "updated"),
    "review": ("closed", "opened"),
    # Billing
    "billing.meter": ("created", "deactivated", "reactivated", "updated"),
    "coupon": ("created", "deleted", "updated"),
    "credit_note": ("created", "updated", "voided"),
    "customer.discount": ("created", "deleted", "updated"),
    "customer.subscription": (
        "created", "deleted", "paused", "pending_update_applied", "pending_update_expired",
        "resumed", "trial_will_end", "updated",
    ),
    "customer.tax_id": ("created", "deleted", "updated"),
    "invoice": (
        "created", "deleted", "finalization_failed", "finalized", "marked_uncollectible",
        "overdue", "overpaid", "paid", "payment_action_required", "payment_attempt_required",
        "payment_failed", "payment_succeeded", "sent", "upcoming", "updated", "voided",
        "will_be_due",
    ),
    "invoice_payment": ("paid",),
    "invoiceitem": ("created", "deleted", "updated"),
    "plan": ("created", "deleted", "updated"),
    "price": ("created", "deleted", "updated"),
    "product": ("created", "deleted", "updated"),
    "promotion_code": ("created", "updated"),
    "subscription_schedule": (
        "aborted", "canceled", "completed", "created", "expiring", "released", "updated",
    ),
    "tax_rate": ("created", "updated"),
    "test_helpers.test_clock": ("advancing", "created", "deleted", "internal_failure", "ready"),
    # Connect
    "account": ("updated",),
    "account.application": ("authorized", "deauthorized"),
    "account.external_account": ("created", "deleted", "updated"),
    "application_fee": ("created", "refund.updated", "refunded"),
    "capability": ("updated",),
    "payout": ("canceled", "created", "failed", "paid", "reconciliation_completed", "updated"),
    "person": ("created", "deleted", "updated"),
    "transfer": ("created", "reversed", "updated"),
}

EVENT_TYPES: tuple[str, ...] = tuple(
    sorted(f"{resource}.{action}" for resource, actions in _BY_RESOURCE.items() for action in actions)
)

# What ``enabled_events`` accepts: every event type, or ``*`` for all of them.
ENABLED_EVENTS: tuple[str, ...] = ("*", *EVENT_TYPES)
