"""Radar rules changing a payment's fate, as Stripe's rules reference describes them."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
import stripe

from tests.radar.conftest import Rules
from tests.support.server import Server


def pay(client: stripe.StripeClient, method: str = "pm_card_visa", **extra: Any) -> stripe.PaymentIntent:
    params: dict[str, Any] = {"amount": 2000, "currency": "usd", "payment_method": method, "confirm": True}
    return client.v1.payment_intents.create({**params, **extra})


def declined(call: Callable[[], Any]) -> stripe.CardError:
    with pytest.raises(stripe.CardError) as raised:
        call()
    return raised.value


def outcome_of(client: stripe.StripeClient, charge_id: str) -> dict[str, Any]:
    outcome: dict[str, Any] = client.v1.charges.retrieve(charge_id).to_dict()["outcome"]
    return outcome


def blocked_by(client: stripe.StripeClient, rule: dict[str, Any], call: Callable[[], Any]) -> None:
    error = declined(call)
    assert (error.code, error.error.decline_code) == ("card_declined", "fraudulent")  # type: ignore[union-attr]
    outcome = outcome_of(client, str(error.error.charge))  # type: ignore[union-attr]
    assert (outcome["type"], outcome["reason"], outcome["rule"]) == ("blocked", "rule", rule["id"])
    assert outcome["network_status"] == "not_sent_to_network"


def test_risk_follows_the_card(client: stripe.StripeClient, rules: Rules) -> None:
    normal = outcome_of(client, str(pay(client).latest_charge))
    again = outcome_of(client, str(pay(client).latest_charge))
    assert normal["risk_level"] == "normal" and 0 <= normal["risk_score"] < 65
    assert again["risk_score"] == normal["risk_score"]  # stable per card
    elevated = outcome_of(client, str(pay(client, "pm_card_riskLevelElevated").latest_charge))
    assert elevated["risk_level"] == "elevated" and 65 <= elevated["risk_score"] < 75
    assert elevated["type"] == "authorized"
    error = declined(lambda: pay(client, "pm_card_radarBlock"))
    highest = outcome_of(client, str(error.error.charge))  # type: ignore[union-attr]
    assert (highest["type"], highest["reason"], highest["risk_level"]) == (
        "blocked", "highest_risk_level", "highest"
    )
    assert highest["risk_score"] >= 75


def test_block_if_risk_score_above_75(client: stripe.StripeClient, rules: Rules) -> None:
    assert pay(client, "pm_card_riskLevelHighest").status == "succeeded"  # no rule yet
    rule = rules.add("Block if :risk_score: > 75")
    assert (rule["action"], rule["predicate"]) == ("block", ":risk_score: > 75")
    blocked_by(client, rule, lambda: pay(client, "pm_card_riskLevelHighest"))
    assert pay(client, "pm_card_visa").status == "succeeded"


def test_a_blocked_intent_can_try_another_card(client: stripe.StripeClient, rules: Rules) -> None:
    rules.add("Block if :card_brand: = 'amex'")
    intent = client.v1.payment_intents.create({"amount": 1500, "currency": "usd"})
    declined(lambda: client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_amex"}))
    stored = client.v1.payment_intents.retrieve(intent.id)
    assert stored.status == "requires_payment_method"
    assert stored.last_payment_error and stored.last_payment_error.decline_code == "fraudulent"
    assert client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"}).status == "succeeded"


def test_review_if_card_country_differs_from_ip_country(client: stripe.StripeClient, rules: Rules) -> None:
    rule = rules.add("Review if :card_country: != :ip_country:")
    intent = pay(client, metadata={"ip_country": "GB"})
    assert intent.status == "succeeded" and intent.review
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert charge.review == intent.review
    outcome = charge.to_dict()["outcome"]
    assert (outcome["type"], outcome["reason"], outcome["rule"]) == ("manual_review", "rule", rule["id"])
    review = client.v1.reviews.retrieve(str(intent.review))
    assert (review.open, review.opened_reason, review.reason, review.charge) == (True, "rule", "rule", charge.id)
    same = pay(client, metadata={"ip_country": "US"})
    assert same.review is None
    unknown = pay(client)  # no IP country at all: the comparison is false, as Stripe's are
    assert unknown.review is None


def test_request_3d_secure_if_elevated(client: stripe.StripeClient, rules: Rules) -> None:
    rules.add("Request 3D Secure if :risk_level: = 'elevated'")
    elevated = pay(client, "pm_card_riskLevelElevated", return_url="https://example.com/back")
    assert elevated.status == "requires_action"
    assert elevated.next_action is not None
    assert pay(client, "pm_card_visa").status == "succeeded"
    off_session = client.v1.customers.create({"payment_method": "pm_card_riskLevelElevated"})
    method = client.v1.customers.payment_methods.list(off_session.id).data[0]
    # Off-session payments cannot be authenticated, so the rule does not apply to them.
    assert pay(client, method.id, customer=off_session.id, off_session=True).status == "succeeded"


def test_allow_if_email_in_a_value_list_overrides_a_block(
    client: stripe.StripeClient, rules: Rules
) -> None:
    alias = f"trusted_emails_{secrets.token_hex(4)}"
    trusted = client.v1.radar.value_lists.create({"alias": alias, "name": "Trusted", "item_type": "email"})
    client.v1.radar.value_list_items.create({"value_list": trusted.id, "value": "Jenny@Example.com"})
    block = rules.add("Block if :card_brand: = 'visa'")
    allow = rules.add(f"Allow if :email: in @{alias}")
    blocked_by(client, block, lambda: pay(client, receipt_email="someone@example.com"))
    allowed = pay(client, receipt_email="jenny@example.com")
    assert allowed.status == "succeeded"
    outcome = outcome_of(client, str(allowed.latest_charge))
    assert (outcome["type"], outcome["reason"], outcome["rule"]) == ("authorized", "rule", allow["id"])
    # Radar's default block of the highest-risk card gives way to an Allow rule too.
    assert pay(client, "pm_card_radarBlock", receipt_email="jenny@example.com").status == "succeeded"


def test_amount_rules(client: stripe.StripeClient, rules: Rules) -> None:
    rule = rules.add("Block if :amount_in_usd: >= 500")
    blocked_by(client, rule, lambda: client.v1.payment_intents.create(
        {"amount": 50000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    ))
    assert client.v1.payment_intents.create(
        {"amount": 49999, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    ).status == "succeeded"
    # No exchange rates: a EUR payment has no amount_in_usd, so the rule does not match.
    assert client.v1.payment_intents.create(
        {"amount": 90000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}
    ).status == "succeeded"
    rules.clear()
    minor = rules.add("Block if :amount: > 1000 and :currency: = 'jpy'")
    blocked_by(client, minor, lambda: client.v1.payment_intents.create(
        {"amount": 1001, "currency": "jpy", "payment_method": "pm_card_visa", "confirm": True}
    ))


def test_card_brand_and_funding(client: stripe.StripeClient, rules: Rules) -> None:
    rule = rules.add("Block if :card_brand: = 'amex' or :card_funding: in ('prepaid', 'debit')")
    blocked_by(client, rule, lambda: pay(client, "pm_card_amex"))
    blocked_by(client, rule, lambda: pay(client, "pm_card_mastercard_prepaid"))
    blocked_by(client, rule, lambda: pay(client, "pm_card_visa_debit"))
    assert pay(client, "pm_card_mastercard").status == "succeeded"


def test_email_domain(client: stripe.StripeClient, rules: Rules) -> None:
    rules.add("Review if :email_domain: = 'fraud.example'")
    flagged = pay(client, receipt_email="mallory@FRAUD.example")
    assert flagged.status == "succeeded" and flagged.review is not None
    assert pay(client, receipt_email="jenny@example.com").review is None
    customer = client.v1.customers.create({"email": "eve@fraud.example", "payment_method": "pm_card_visa"})
    method = client.v1.customers.payment_methods.list(customer.id).data[0]
    assert pay(client, method.id, customer=customer.id).review is not None  # the customer's email


def test_metadata_rules(client: stripe.StripeClient, rules: Rules) -> None:
    rule = rules.add("Block if ::order_kind:: = 'gift' and not :card_country: = 'GB'")
    blocked_by(client, rule, lambda: pay(client, metadata={"order_kind": "gift"}))
    assert pay(client, "pm_card_gb", metadata={"order_kind": "gift"}).status == "succeeded"
    assert pay(client, metadata={"order_kind": "book"}).status == "succeeded"
    rules.clear()
    vip = rules.add("Block if ::customer:tier:: = 'banned'")
    customer = client.v1.customers.create({"metadata": {"tier": "banned"}, "payment_method": "pm_card_visa"})
    method = client.v1.customers.payment_methods.list(customer.id).data[0]
    blocked_by(client, vip, lambda: pay(client, method.id, customer=customer.id))


def test_rules_are_managed_off_v1(server: Server, client: stripe.StripeClient, rules: Rules) -> None:
    first = rules.add("Block if :risk_score: > 90")
    second = rules.add("Review if :risk_level: = 'elevated'")
    third = rules.add("Block if :card_country: = 'RU'", position=1)
    assert [r["position"] for r in (first, second, third)] == [1, 2, 1]
    listed = rules.all()
    # Radar's order: blocks before reviews; within an action, by position.
    assert [r["id"] for r in listed] == [third["id"], first["id"], second["id"]]
    moved = rules.call("POST", f"/{second['id']}", position="1").json()
    assert moved["position"] == 1
    changed = rules.call("POST", f"/{first['id']}", rule="Review if :risk_score: > 80").json()
    assert (changed["action"], changed["predicate"]) == ("review", ":risk_score: > 80")
    assert rules.call("GET", f"/{first['id']}").json()["action"] == "review"
    gone = rules.call("DELETE", f"/{third['id']}").json()
    assert gone == {"id": third["id"], "object": "radar.rule", "deleted": True}
    assert [r["position"] for r in sorted(rules.all(), key=lambda r: r["position"])] == [1, 2]
    missing = rules.call("GET", f"/{third['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing"
    # Billfold's own endpoints: not on /v1, and not for publishable keys.
    public = rules.http.get("/billfold/api/radar/rules", headers={"Authorization": f"Bearer {server.publishable_key}"})
    assert public.status_code == 403
    assert rules.http.get("/v1/radar/rules").status_code == 404


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("Block :risk_score: > 75", "starts with its action"),
        ("Deny if :risk_score: > 75", "starts with its action"),
        ("Block if :risk_score: >", "ends where"),
        ("Block if :nonsense: = 'x'", "unknown attribute :nonsense:"),
        ("Block if :risk_score: > 'high'", "compares numbers"),
        ("Block if (:risk_score: > 75", "')'"),
        ("Block if :card_country: = US", "quote text"),
        ("Block if :risk_score: > 75 75", "expected 'and', 'or'"),
        ("Block if :card_country: = 'US' and", "ends where"),
        ("Block if :email: in trusted", "value list"),
    ],
)
def test_a_rule_that_does_not_parse(rules: Rules, text: str, hint: str) -> None:
    response = rules.call("POST", rule=text)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == "rule"
    assert hint in error["message"] and error["message"].startswith("Invalid rule:")
    assert rules.all() == []


def test_a_rule_naming_an_unknown_value_list(rules: Rules) -> None:
    response = rules.call("POST", rule="Allow if :email: in @no_such_list")
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("resource_missing", "rule")
    assert "@no_such_list" in error["message"]
    assert rules.call("POST").json()["error"]["param"] == "rule"  # missing
    bad_position = rules.call("POST", rule="Block if :risk_score: > 75", position="0")
    assert bad_position.status_code == 400 and bad_position.json()["error"]["param"] == "position"
    assert rules.all() == []


def test_the_cli_manages_rules(server: Server, rules: Rules) -> None:
    added = server.cli("radar", "rules", "add", "Block if :risk_score: > 95")
    assert "saved rule_" in added and "Block if :risk_score: > 95" in added
    [rule] = rules.all()
    assert rule["predicate"] == ":risk_score: > 95"
    listed = server.cli("radar", "rules", "list")
    assert rule["id"] in listed
    server.cli("radar", "rules", "remove", rule["id"])
    assert rules.all() == []
