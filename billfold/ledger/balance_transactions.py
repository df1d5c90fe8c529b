"""The ledger: every movement of money is a balance transaction, and balances are sums of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from billfold import ids
from billfold.ledger.money import rescale
from billfold.wire.present import register

if TYPE_CHECKING:
    from billfold.context import Ctx
    from billfold.store.db import Tx
    from billfold.store.objects import Scope

DAY = 86_400

# Stripe's reporting category for each balance transaction type we record.
REPORTING_CATEGORIES = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "payment_refund": "refund",
    "refund_failure": "refund_failure",
    "adjustment": "dispute",
    "stripe_fee": "fee",
    "application_fee": "platform_earning",
    "application_fee_refund": "platform_earning_refund",
    "transfer": "transfer",
    "payout": "payout",
    "payout_cancel": "payout_reversal",
    "payout_failure": "payout_reversal",
    "transfer_refund": "transfer_reversal",
}


def card_fee_for(amount: int, currency: str, basis_points: int, fixed: int) -> int:
    """A percentage plus a fixed part, rounded half up in integers: no float touches an amount.

    ``fixed`` is written in cents (two decimals, as Stripe's price lists write "30¢"), so it
    is rescaled to the charge currency's minor units: 30 becomes 0 yen and 300 fils.
    """
    return (amount * basis_points + 5_000) // 10_000 + rescale(fixed, 2, currency)


def card_fee(ctx: Ctx, amount: int, currency: str = "usd") -> int:
    """The processing fee for a card payment, from the account's pricing (2.9% + 30 by default)."""
    settings = ctx.account_settings
    return card_fee_for(
        amount, currency, int(settings["card_fee_basis_points"]), int(settings["card_fee_fixed"])
    )


def settlement_time(ctx: Ctx, immediate: bool = False) -> int:
    if immediate:
        return ctx.now
    return ctx.now + int(ctx.account_settings["settlement_days"]) * DAY


def record(
    ctx: Ctx,
    *,
    amount: int,
    currency: str,
    type: str,
    source: str | None,
    fee: int = 0,
    fee_description: str = "Stripe processing fees",
    available_on: int | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    fee_details = (
        [{"amount": fee, "application": None, "currency": currency, "description": fee_description,
          "type": "stripe_fee"}]
        if fee
        else []
    )
    transaction: dict[str, Any] = {
        "id": ids.new_id("balance_transaction"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": ctx.now if available_on is None else available_on,
        "balance_type": "payments",
        "created": ctx.now,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": REPORTING_CATEGORIES.get(type, type),
        "source": source,
        "status": "pending",
        "type": type,
    }
    ctx.objects.insert(transaction)
    ctx.tx.execute(
        "INSERT INTO ledger_entries (id, account, livemode, currency, amount, fee, net, type, source, "
        "available_on, created) VALUES (:id, :account, :livemode, :currency, :amount, :fee, :net, "
        ":type, :source, :available_on, :created)",
        id=transaction["id"],
        account=ctx.scope.account,
        livemode=ctx.livemode,
        currency=currency,
        amount=amount,
        fee=fee,
        net=amount - fee,
        type=type,
        source=source,
        available_on=transaction["available_on"],
        created=ctx.now,
    )
    add_to_total(ctx.tx, ctx.scope.account, ctx.livemode, currency, amount - fee)
    return transaction


def add_to_total(tx: Tx, account: str, livemode: bool, currency: str, net: int) -> None:
    """Keep ``ledger_totals`` equal to the sum of the account's ledger rows (``billfold check``
    compares the two): every change to them adds here, in the same transaction.

    The totals rows are written just before COMMIT, every account's in one sorted order. A
    money movement thus holds an account's hot totals row only for the commit itself, and two
    transactions touching the same two accounts cannot lock their rows in opposite orders."""
    if _write_totals not in tx.before_commit:
        tx.before_commit.append(_write_totals)
    key = (account, livemode, currency)
    tx.pending_totals[key] = tx.pending_totals.get(key, 0) + net


def _write_totals(tx: Tx) -> None:
    for (account, livemode, currency), net in sorted(tx.pending_totals.items()):
        tx.execute(
            "INSERT INTO ledger_totals (account, livemode, currency, net) "
            "VALUES (:account, :livemode, :currency, :net) "
            "ON CONFLICT (account, livemode, currency) DO UPDATE SET net = ledger_totals.net + excluded.net",
            account=account,
            livemode=livemode,
            currency=currency,
            net=net,
        )
    tx.pending_totals = {}


def balances(tx: Tx, scope: Scope, now: int) -> dict[str, dict[str, int]]:
    """Net amounts per currency, split into available and pending at ``now``.

    The running total less what is still pending: both reads cost the same with ten balance
    transactions or ten million (only pending entries are summed, through their index)."""
    where = "account = :account AND livemode = :livemode"
    totals = tx.all(
        f"SELECT currency, net FROM ledger_totals WHERE {where}",
        account=scope.account,
        livemode=scope.livemode,
    )
    pending = {
        row.currency: int(row.pending)
        for row in tx.all(
            f"SELECT currency, SUM(net) AS pending FROM ledger_entries WHERE {where} "
            "AND available_on > :now GROUP BY currency",
            now=now,
            account=scope.account,
            livemode=scope.livemode,
        )
    }
    net = {row.currency: int(row.net) for row in totals}
    # This transaction's own movements, not yet in ledger_totals (written just before COMMIT).
    for (account, livemode, currency), delta in tx.pending_totals.items():
        if account == scope.account and livemode == scope.livemode:
            net[currency] = net.get(currency, 0) + delta
    found: dict[str, dict[str, int]] = {}
    for currency, total in net.items():
        waiting = pending.get(currency, 0)
        found[currency] = {"available": total - waiting, "pending": waiting}
    return found


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    data["status"] = "available" if data["available_on"] <= ctx.now else "pending"
    return data


register("balance_transaction", expandable=("source",), render=_render)
