"""Object id prefixes, exactly as Stripe spells them, and id generation."""

from __future__ import annotations

import os
import string

PREFIXES: dict[str, str] = {
    "account": "acct",
    "bank_account": "ba",
    "person": "person",
    "balance_transaction": "txn",
    "charge": "ch",
    "customer": "cus",
    "event": "evt",
    "payment_intent": "pi",
    "payment_method": "pm",
    "refund": "re",
    "request": "req",
    "setup_attempt": "setatt",
    "setup_intent": "seti",
    "token": "tok",
    "card": "card",
    "webhook_endpoint": "we",
    "webhook_secret": "whsec",
    "secret_key": "sk",
    "publishable_key": "pk",
    "restricted_key": "rk",
    "delivery": "whdel",
    "job": "job",
    "dispute": "dp",
    "radar.early_fraud_warning": "issfr",
    "promotion_code": "promo",
    "discount": "di",
    "product": "prod",
    "price": "price",
    "invoice": "in",
    "invoice_item": "ii",
    "invoice_line_item": "il",
    "invoice_payment": "inpay",
    "tax_rate": "txr",
    "billing.meter": "mtr",
    "billing.meter_event_summary": "mtrusg",
    "usage_record": "mbur",
    "usage_record_summary": "sis",
    "subscription": "sub",
    "subscription_item": "si",
    "test_helpers.test_clock": "clock",
    "review": "prv",
    "radar.rule": "rule",
    "radar.value_list": "rsl",
    "radar.value_list_item": "rsli",
    "application_fee": "fee",
    "fee_refund": "fr",
    "transfer": "tr",
    "transfer_reversal": "trr",
    "payment": "py",
    "payment_refund": "pyr",
    "payout": "po",
}

_ALPHABET = string.ascii_letters + string.digits
# Bytes 0..247 map evenly onto the 62 characters (four times round); 248..255 are dropped, so
# every character is equally likely.
_SPELL = bytes(ord(_ALPHABET[b % 62]) for b in range(248)) + bytes(8)
_DROP = bytes(range(248, 256))


def random_part(length: int = 24) -> str:
    """``length`` characters of base 62 from the OS's CSPRNG."""
    spelled = b""
    while len(spelled) < length:
        spelled += os.urandom(length + 8).translate(_SPELL, _DROP)
    return spelled[:length].decode()


def new_id(kind: str, length: int = 24) -> str:
    return f"{PREFIXES[kind]}_{random_part(length)}"


def object_type_for_id(object_id: str) -> str | None:
    prefix = object_id.split("_", 1)[0]
    for kind, known in PREFIXES.items():
        if known == prefix:
            return kind
    return None
