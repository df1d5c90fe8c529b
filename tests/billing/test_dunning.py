"""Dunning through the SDK: a failed renewal retried on the account's schedule as a clock moves."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.billing.test_subscriptions import invoice, price
from tests.billing.test_test_clocks import DAY, FEB_1, advance, clock_customer, make_clock, on_clock
from tests.support.server import Server

DEFAULT_DAYS = (1, 3, 5, 8, 12, 15)


def failing_renewal(client: stripe.StripeClient, card: str = "pm_card_chargeCustomerFail") -> tuple[Any, str, Any]:
    """A subscription paid on Jan 1 by a good card, whose customer then swaps in ``card``; the
    clock moves past the Feb 1 renewal."""
    clock = make_clock(client)
    cus = clock_customer(client, clock.id)
    sub = client.v1.subscriptions.create({"customer": cus, "items": [{"price": price(client)}]})
    assert sub.status == "active"
    use_card(client, cus, card)
    advance(client, clock.id, FEB_1 + 60)
    return clock, cus, client.v1.subscriptions.retrieve(sub.id)


def use_card(client: stripe.StripeClient, cus: str, card: str) -> None:
    method = client.v1.payment_methods.attach(card, {"customer": cus})
    client.v1.customers.update(cus, {"invoice_settings": {"default_payment_method": method.id}})


def test_a_failed_renewal_is_retried_then_canceled(client: stripe.StripeClient) -> None:
    clock, cus, sub = failing_renewal(client)
    assert sub.status == "past_due"
    unpaid = invoice(client, sub.latest_invoice)
    assert (unpaid.status, unpaid.attempt_count) == ("open", 1)
    assert unpaid.next_payment_attempt == FEB_1 + DEFAULT_DAYS[0] * DAY
    failed = on_clock(client, unpaid.id, kind="invoice.payment_failed")
    assert [e.data.object.next_payment_attempt for e in failed] == [FEB_1 + DAY]

    for number, day in enumerate(DEFAULT_DAYS[:-1], start=2):
        advance(client, clock.id, FEB_1 + day * DAY + 60)
        again = invoice(client, unpaid.id)
        assert (again.status, again.attempt_count) == ("open", number)
        assert again.next_payment_attempt == FEB_1 + DEFAULT_DAYS[number - 1] * DAY
        assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"

    advance(client, clock.id, FEB_1 + DEFAULT_DAYS[-1] * DAY + 60)
    last = invoice(client, unpaid.id)
    assert (last.status, last.attempt_count, last.next_payment_attempt) == ("open", 7, None)
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert (ended.status, ended.ended_at) == ("canceled", FEB_1 + DEFAULT_DAYS[-1] * DAY)
    assert ended.cancellation_details.reason == "payment_failed"
    # The events in the order they happened (the list is newest first).
    mine = on_clock(client, sub.id, unpaid.id)
    kinds = [e.type for e in mine if e.type in (
        "invoice.payment_failed", "customer.subscription.updated", "customer.subscription.deleted")]
    assert kinds[-9:] == (
        ["invoice.payment_failed", "customer.subscription.updated"]
        + ["invoice.payment_failed"] * 6 + ["customer.subscription.deleted"]
    )
    assert [e.created for e in mine if e.type == "invoice.payment_failed"][-7:] == [
        FEB_1, *(FEB_1 + d * DAY for d in DEFAULT_DAYS)
    ]


def test_a_good_card_before_the_next_retry_recovers(client: stripe.StripeClient) -> None:
    clock, cus, sub = failing_renewal(client)
    assert sub.status == "past_due"
    use_card(client, cus, "pm_card_mastercard")
    advance(client, clock.id, FEB_1 + DAY + 60)
    recovered = client.v1.subscriptions.retrieve(sub.id)
    assert recovered.status == "active"
    paid = invoice(client, sub.latest_invoice)
    assert (paid.status, paid.attempt_count, paid.next_payment_attempt) == ("paid", 2, None)
    assert on_clock(client, paid.id, kind="invoice.paid")
    moves = [e.data.to_dict().get("previous_attributes", {}).get("status")
             for e in on_clock(client, sub.id, kind="customer.subscription.updated")]
    assert moves[-2:] == ["active", "past_due"]


def test_a_card_that_needs_authentication_asks_for_action(client: stripe.StripeClient) -> None:
    clock, cus, sub = failing_renewal(client, "pm_card_authenticationRequired")
    assert sub.status == "past_due"
    waiting = invoice(client, sub.latest_invoice)
    assert (waiting.status, waiting.next_payment_attempt) == ("open", None)
    assert on_clock(client, waiting.id, kind="invoice.payment_action_required")
    advance(client, clock.id, FEB_1 + 20 * DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    assert invoice(client, waiting.id).attempt_count == 1


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_the_account_chooses_the_schedule_and_the_end(fresh_server: Server) -> None:
    fresh_server.start()
    shown = fresh_server.cli("settings")
    assert "dunning_retry_days=1,3,5,8,12,15" in shown and "dunning_final_action=cancel" in shown
    changed = fresh_server.cli(
        "settings", "set", "dunning_retry_days=2,4", "dunning_final_action=unpaid",
        "dunning_final_invoice=uncollectible", "renewal_invoice_delay=0",
    )
    assert "dunning_retry_days=2,4" in changed and "dunning_final_action=unpaid" in changed
    client = stripe.StripeClient(
        fresh_server.secret_key, base_addresses={"api": fresh_server.url}, max_network_retries=0
    )
    clock, cus, sub = failing_renewal(client)
    first = invoice(client, sub.latest_invoice)
    assert first.next_payment_attempt == FEB_1 + 2 * DAY
    advance(client, clock.id, FEB_1 + 3 * DAY)
    assert invoice(client, first.id).next_payment_attempt == FEB_1 + 4 * DAY
    advance(client, clock.id, FEB_1 + 5 * DAY)
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "unpaid"
    written_off = invoice(client, first.id)
    assert (written_off.status, written_off.attempt_count) == ("uncollectible", 3)


def test_bad_dunning_settings_are_refused(server: Server) -> None:
    import subprocess

    for bad in ("dunning_retry_days=5,3", "dunning_retry_days=x", "dunning_final_action=explode"):
        with pytest.raises(subprocess.CalledProcessError):
            server.cli("settings", "set", bad)
