"""What the payment path asks Radar: the risk of a card, and what the account's rules decide.

``payment_intent_confirm.attempt`` calls :func:`wants_three_d_secure` before authentication
and :func:`decide` after it, then :func:`stamp` on the charge's outcome.

Attributes Billfold cannot observe come from the PaymentIntent's metadata: ``ip_address`` and
``ip_country`` (Billfold sees no client IP); without ``ip_country`` the billing address
country stands in for it. ``amount_in_usd`` is only known for USD payments (no exchange
rates); ``:amount:`` is the amount in the payment currency's minor units.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billfold.context import Ctx
from billfold.ledger.money import exponent
from billfold.resources.payments.test_cards import TestCard
from billfold.resources.radar import rule_eval
from billfold.resources.radar import rules as language
from billfold.resources.radar.rule_store import all_rules

# Stable scores inside Radar's bands (normal < 65, elevated 65-74, highest >= 75), kept away
# from the edges so ``:risk_score: > 75`` reads the way a person means it for a test card.
_BANDS = {"normal": (10, 50), "elevated": (66, 8), "highest": (80, 18)}
SELLER_MESSAGES = {
    "block": "Stripe blocked this payment because it matched one of your Radar block rules.",
    "review": "This payment matched one of your Radar review rules and was placed in your "
    "manual review queue.",
    "allow": "Payment complete.",
}
BLOCKED = ("card_declined", "fraudulent", "Your card was declined.")


@dataclass(frozen=True)
class Decision:
    """The rule that decided a payment (``allow``, ``block`` or ``review``), if any."""

    action: str | None = None
    rule: dict[str, Any] | None = None

    @property
    def allows(self) -> bool:
        return self.action == "allow"

    @property
    def blocks(self) -> bool:
        return self.action == "block"

    @property
    def reviews(self) -> bool:
        return self.action == "review"


def risk_score(card: TestCard) -> int:
    low, width = _BANDS.get(card.risk_level, _BANDS["normal"])
    return low + int(hashlib.sha256(card.number.encode()).hexdigest(), 16) % width


def stamp(outcome: dict[str, Any], card: TestCard, decision: Decision | None = None) -> dict[str, Any]:
    """The card's risk, and the rule that decided the payment, written into its outcome."""
    outcome["risk_level"] = card.risk_level
    outcome["risk_score"] = risk_score(card)
    if decision is None or decision.rule is None:
        return outcome
    outcome["reason"] = "rule"
    outcome["rule"] = decision.rule["id"]
    outcome["seller_message"] = SELLER_MESSAGES[str(decision.action)]
    if decision.blocks:
        outcome.update(type="blocked", network_status="not_sent_to_network")
    elif decision.reviews:
        outcome["type"] = "manual_review"
    return outcome


def wants_three_d_secure(ctx: Ctx, intent: dict[str, Any], method: dict[str, Any], card: TestCard) -> bool:
    """A Request 3D Secure rule matches an on-session payment whose card supports 3DS."""
    if intent.get("_off_session") or intent.get("_authenticated"):
        return False
    usage = (method.get("card") or {}).get("three_d_secure_usage") or {}
    if not usage.get("supported"):
        return False
    rules = [r for r in _rules(ctx) if r["action"] == "request_three_d_secure"]
    if not rules:
        return False
    payment = _payment(ctx, intent, method, card)
    return any(rule_eval.matches(language.parse(r["text"]), payment) for r in rules)


def decide(ctx: Ctx, intent: dict[str, Any], method: dict[str, Any], card: TestCard) -> Decision:
    """The first matching rule in Radar's order: Allow, then Block, then Review."""
    rules = [r for r in _rules(ctx) if r["action"] != "request_three_d_secure"]
    if not rules:
        return Decision()
    payment = _payment(ctx, intent, method, card)
    for rule in rules:
        if rule_eval.matches(language.parse(rule["text"]), payment):
            return Decision(rule["action"], rule)
    return Decision()


def _rules(ctx: Ctx) -> list[dict[str, Any]]:
    """The account's rules, read once per request (a payment asks twice)."""
    if "radar.rules" not in ctx.memo:
        ctx.memo["radar.rules"] = all_rules(ctx)
    rules: list[dict[str, Any]] = ctx.memo["radar.rules"]
    return rules


def _payment(ctx: Ctx, intent: dict[str, Any], method: dict[str, Any], card: TestCard) -> rule_eval.Payment:
    metadata: Mapping[str, str] = intent.get("metadata") or {}
    customer_id = intent.get("customer")
    customer: dict[str, Any] | None = None
    if customer_id:
        customer = ctx.objects.get(str(customer_id), "customer")
    lists: dict[str, dict[str, Any] | None] = {}

    def in_list(alias: str, value: Any) -> bool:
        from billfold.resources.radar.value_lists import by_alias, contains

        if alias not in lists:
            lists[alias] = by_alias(ctx, alias)
        found = lists[alias]
        return found is not None and contains(ctx, found, value)

    return rule_eval.Payment(
        attributes(intent, method, card, customer),
        metadata,
        lambda: (customer or {}).get("metadata") or {},
        in_list,
    )


def attributes(
    intent: dict[str, Any], method: dict[str, Any], card: TestCard, customer: dict[str, Any] | None
) -> dict[str, Any]:
    details = method.get("card") or {}
    billing = method.get("billing_details") or {}
    address = billing.get("address") or {}
    metadata = intent.get("metadata") or {}
    currency = str(intent["currency"])
    amount = int(intent["amount"])
    email = billing.get("email") or intent.get("receipt_email") or (customer or {}).get("email")
    number = str(method.get("_number") or "")
    values: dict[str, Any] = {
        "amount": Decimal(amount),
        f"amount_in_{currency}": Decimal(amount).scaleb(-exponent(currency)),
        "billing_address_country": address.get("country"),
        "card_bin": number[:6] or None,
        "card_brand": details.get("brand"),
        "card_country": details.get("country"),
        "card_fingerprint": details.get("fingerprint"),
        "card_funding": details.get("funding"),
        "currency": currency,
        "customer": intent.get("customer"),
        "email": email,
        "email_domain": email.rpartition("@")[2] if email and "@" in email else None,
        "ip_address": metadata.get("ip_address"),
        "ip_country": metadata.get("ip_country") or address.get("country"),
        "is_3d_secure": bool(intent.get("_authenticated")),
        "is_off_session": bool(intent.get("_off_session")),
        "receipt_email": intent.get("receipt_email"),
        "risk_level": card.risk_level,
        "risk_score": Decimal(risk_score(card)),
    }
    return values
