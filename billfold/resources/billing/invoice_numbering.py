"""What finalizing gives an invoice: its ``number`` and the secret behind its hosted page and PDF.

Numbers are per customer, ``<customer.invoice_prefix>-<NNNN>``, taken from the customer's
``next_invoice_sequence`` under the customer's row lock, so two invoices finalized at once never
share one. The page's address carries a per-invoice secret kept privately (``_secret``); the
hosted page finds the invoice with ``find_by_secret``, without an API key.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any

from billfold.context import Ctx
from billfold.store.db import Tx
from billfold.store.objects import Scope

__all__ = ["assign_number", "find_by_secret", "hosted_urls"]

INVOICE_PATH = "/billfold/invoices/{invoice}"


def assign_number(customer: dict[str, Any]) -> str:
    """The next number of a (locked) customer; advances its ``next_invoice_sequence``."""
    sequence = int(customer.get("next_invoice_sequence") or 1)
    customer["next_invoice_sequence"] = sequence + 1
    prefix = customer.get("invoice_prefix") or "INV"
    return f"{prefix}-{sequence:04d}"


def hosted_urls(ctx: Ctx, invoice: dict[str, Any]) -> None:
    """Give the invoice its secret and the addresses of its hosted page and PDF."""
    secret = invoice.get("_secret") or secrets.token_urlsafe(24)
    invoice["_secret"] = secret
    page = ctx.public_url + INVOICE_PATH.format(invoice=invoice["id"])
    invoice["hosted_invoice_url"] = f"{page}?secret={secret}"
    invoice["invoice_pdf"] = f"{page}/pdf?secret={secret}"


def find_by_secret(tx: Tx, invoice_id: str, secret: str) -> tuple[Scope, dict[str, Any]] | None:
    """The invoice (stored shape) and its account's scope, if ``secret`` is its page secret."""
    row = tx.one(
        "SELECT account, livemode, data FROM objects WHERE id = :id AND object = 'invoice' "
        "AND deleted = :deleted",
        id=invoice_id,
        deleted=False,
    )
    if row is None:
        return None
    invoice: dict[str, Any] = json.loads(row.data)
    stored = invoice.get("_secret")
    if not isinstance(stored, str) or not secret or not hmac.compare_digest(stored, secret):
        return None
    return Scope(row.account, bool(row.livemode)), invoice
