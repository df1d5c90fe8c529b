"""An account's dunning settings: when a failed subscription payment is retried, and how it ends.

- ``dunning_retry_days``: the days, counted from the first failed attempt, on which the invoice
  is tried again (strictly increasing, at most 60 days out, at most 8 retries; empty for none).
  The default, 1,3,5,8,12,15, follows the spirit of Stripe's Smart Retries: six more tries over
  about two weeks.
- ``dunning_final_action``: what the subscription becomes once the last retry fails: ``cancel``
  (the default, ``customer.subscription.deleted``), ``unpaid`` (it stays, invoices stop being
  charged), or ``past_due`` (left as it is).
- ``dunning_final_invoice``: what becomes of the invoice then: ``open`` (the default, it can
  still be paid) or ``uncollectible``.
- ``upcoming_invoice_days``: how many days before a subscription renews ``invoice.upcoming`` is
  sent (default 3, from 1 to 45).

Changed from the command line with the pricing settings:
``billfold settings set dunning_retry_days=3,5,7 dunning_final_action=unpaid``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_RETRY_DAYS = (1, 3, 5, 8, 12, 15)
FINAL_ACTIONS = ("cancel", "unpaid", "past_due")
FINAL_INVOICE = ("open", "uncollectible")
MAX_RETRIES = 8
MAX_DAY = 60

DEFAULT_UPCOMING_DAYS = 3
MAX_UPCOMING_DAYS = 45

SETTINGS = ("dunning_retry_days", "dunning_final_action", "dunning_final_invoice", "upcoming_invoice_days")


class DunningSettingError(ValueError):
    """A dunning setting with a value it cannot take."""


@dataclass(frozen=True)
class Dunning:
    retry_days: tuple[int, ...]
    final_action: str
    final_invoice: str


def _days(raw: str) -> list[int]:
    text = raw.strip()
    if text in ("", "none"):
        return []
    try:
        days = [int(part) for part in text.split(",")]
    except ValueError:
        raise DunningSettingError(
            f"dunning_retry_days must be whole numbers of days separated by commas, not {raw!r}"
        ) from None
    if len(days) > MAX_RETRIES:
        raise DunningSettingError(f"dunning_retry_days allows at most {MAX_RETRIES} retries")
    if any(day < 1 or day > MAX_DAY for day in days) or days != sorted(set(days)):
        raise DunningSettingError(
            f"dunning_retry_days must be strictly increasing days between 1 and {MAX_DAY}"
        )
    return days


def parse_setting(name: str, raw: str) -> Any:
    """The stored value of ``name=raw``; DunningSettingError when it is not acceptable."""
    if name == "dunning_retry_days":
        return _days(raw)
    if name == "upcoming_invoice_days":
        text = raw.strip()
        if not text.isdigit() or not 1 <= int(text) <= MAX_UPCOMING_DAYS:
            raise DunningSettingError(
                f"upcoming_invoice_days must be a whole number of days from 1 to {MAX_UPCOMING_DAYS}, not {raw!r}"
            )
        return int(text)
    choices = FINAL_ACTIONS if name == "dunning_final_action" else FINAL_INVOICE
    value = raw.strip()
    if value not in choices:
        raise DunningSettingError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return value


def dunning(settings: dict[str, Any]) -> Dunning:
    """The account's dunning, its defaults filling what was never set."""
    days = settings.get("dunning_retry_days")
    action = settings.get("dunning_final_action")
    invoice = settings.get("dunning_final_invoice")
    return Dunning(
        retry_days=tuple(int(d) for d in days) if isinstance(days, list) else DEFAULT_RETRY_DAYS,
        final_action=action if action in FINAL_ACTIONS else "cancel",
        final_invoice=invoice if invoice in FINAL_INVOICE else "open",
    )


def upcoming_invoice_days(settings: dict[str, Any]) -> int:
    """Days before a renewal that ``invoice.upcoming`` is sent (the default when never set)."""
    days = settings.get("upcoming_invoice_days")
    return int(days) if isinstance(days, int) and 1 <= days <= MAX_UPCOMING_DAYS else DEFAULT_UPCOMING_DAYS


def shown(settings: dict[str, Any]) -> dict[str, str]:
    """The settings as ``billfold settings`` prints them."""
    current = dunning(settings)
    return {
        "dunning_retry_days": ",".join(str(d) for d in current.retry_days) or "none",
        "dunning_final_action": current.final_action,
        "dunning_final_invoice": current.final_invoice,
        "upcoming_invoice_days": str(upcoming_invoice_days(settings)),
    }
