"""The dashboard's Jinja environment and the filters its templates format values with."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from billfold.ledger.money import format_amount

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


def money(amount: Any, currency: Any) -> str:
    if not isinstance(amount, int) or not currency:
        return "—"
    return format_amount(amount, str(currency))


def when(timestamp: Any) -> str:
    """Epoch seconds as a UTC date and time; blank for none."""
    if timestamp is None or timestamp == "":
        return "—"
    moment = datetime.fromtimestamp(float(timestamp), tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def when_input(timestamp: Any) -> str:
    """Epoch seconds as a ``datetime-local`` input's value (UTC)."""
    return datetime.fromtimestamp(float(timestamp), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False)


def status_class(status: Any) -> str:
    """A CSS class for a status word, so good, bad and waiting states read at a glance."""
    good = {"succeeded", "paid", "active", "won", "enabled", "ready", "available", "trialing"}
    bad = {"failed", "canceled", "void", "uncollectible", "lost", "past_due", "unpaid",
           "requires_payment_method", "needs_response", "disabled", "rejected"}
    word = str(status or "")
    if word in good:
        return "good"
    if word in bad:
        return "bad"
    return "wait"


def customer_name(customer: Any) -> str:
    if not isinstance(customer, dict):
        return ""
    return str(customer.get("name") or customer.get("email") or customer.get("id") or "")


ENV = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(
    money=money, when=when, when_input=when_input, pretty=pretty, status_class=status_class,
    customer_name=customer_name,
)


def render_page(template: str, **values: Any) -> str:
    return ENV.get_template(f"dashboard/{template}").render(**values)
