"""``billfold check``: prove from the database alone that money and webhooks are accounted for.

Billfold keeps every movement of money twice: as a row of ``ledger_entries`` (what balances
are summed from) and as the ``balance_transaction`` object the API lists. Each names its source
(a charge, refund, payout, transfer, dispute ...), and each source names its balance
transactions back. Every event records how many webhook deliveries it queued. This module
reads all of that directly, without the API, and reports each place where the pieces disagree:

* per account, mode and currency, the balance Billfold reports (available and pending, split
  by ``available_on`` against now) equals the sum of the balance transactions' ``net``;
* every ledger row has its balance transaction object with the same figures, and the reverse;
  ``net`` is ``amount - fee`` and ``fee`` is the sum of ``fee_details``;
* every balance transaction's ``source`` exists and its amount matches the source's (a charge's
  captured amount, a refund's amount negated, a payout's amount negated, ...), and every
  balance transaction a source names exists;
* every event has as many delivery rows as it queued, including one for every endpoint that is
  enabled and subscribed to its type and was created before it; no delivery row lacks its
  event; no delivery or job is left claimed or overdue for longer than ``stuck_after``.

It only reads, from one snapshot, so it is safe to run against a live database. It reads whole
tables into memory: a tool for operators, not something for a request path.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from billfold.events.record import endpoint_wants
from billfold.ledger.balance_transactions import balances
from billfold.store.db import Database, Tx
from billfold.store.objects import Scope

# A delivery or job held or overdue this long means no worker is making progress on it.
STUCK_AFTER = 3600.0
_CHUNK = 500

# type -> (the source's object kind, the sign its amount takes in the balance transaction).
# A sign of 0 means either sign is right (disputes: withdrawal out, reinstatement back in).
_SOURCES: dict[str, tuple[str, int]] = {
    "charge": ("charge", 1),
    "payment": ("charge", 1),
    "refund": ("refund", -1),
    "payment_refund": ("refund", -1),
    "refund_failure": ("refund", 1),
    "application_fee": ("application_fee", 1),
    "application_fee_refund": ("fee_refund", 0),
    "payout": ("payout", -1),
    "payout_cancel": ("payout", 1),
    "payout_failure": ("payout", 1),
    "transfer": ("transfer", -1),
    "transfer_refund": ("transfer_reversal", 1),
    "adjustment": ("dispute", 0),
    "stripe_fee": ("dispute", -1),
}
# Object kinds that name balance transactions of their own.
_HOLDERS = ("charge", "refund", "payout", "transfer", "transfer_reversal", "application_fee",
            "fee_refund", "dispute")
_LEDGER_FIELDS = ("amount", "fee", "net", "currency", "type", "source", "available_on")


@dataclass
class Difference:
    check: str
    detail: str
    account: str | None = None
    id: str | None = None


@dataclass
class Report:
    differences: list[Difference] = field(default_factory=list)
    counted: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.differences

    def add(self, check: str, detail: str, account: str | None = None, id: str | None = None) -> None:
        self.differences.append(Difference(check, detail, account, id))

    def as_dict(self) -> dict[str, Any]:
        return {"clean": self.clean, "counted": self.counted,
                "differences": [asdict(d) for d in self.differences]}

    def text(self) -> str:
        counted = ", ".join(f"{n} {what}" for what, n in self.counted.items())
        if self.clean:
            return f"billfold check: clean ({counted})."
        lines = [f"billfold check: {len(self.differences)} difference(s) ({counted}):"]
        for d in self.differences:
            where = " ".join(part for part in (d.account, d.id) if part)
            lines.append(f"  [{d.check}] {where + ': ' if where else ''}{d.detail}")
        return "\n".join(lines)


def run_checks(db: Database, now: float | None = None, stuck_after: float = STUCK_AFTER) -> Report:
    """Every check, in one read transaction: one snapshot of the whole database, so writes
    committing meanwhile cannot make its queries disagree (SQLite's read transactions are
    snapshots already; PostgreSQL's need REPEATABLE READ)."""
    at = time.time() if now is None else now
    report = Report()
    with db.transaction(write=False, snapshot=True) as tx:
        if db.is_postgres:
            tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        ledger = _ledger(tx)
        transactions = _objects(tx, ["balance_transaction"])
        report.counted["balance transactions"] = len(ledger)
        _check_ledger_matches_objects(report, ledger, transactions)
        _check_balances(report, tx, ledger, transactions, int(at))
        _check_sources(report, tx, ledger)
        _check_named_transactions(report, tx, ledger)
        _check_deliveries(report, tx, at, stuck_after)
        _check_jobs(report, tx, at, stuck_after)
    return report


def check_command(database: str, as_json: bool = False) -> int:
    db = Database(database)
    try:
        report = run_checks(db)
    finally:
        db.dispose()
    print(json.dumps(report.as_dict(), indent=2) if as_json else report.text())
    sys.stdout.flush()
    return 0 if report.clean else 1


# Reading


def _ledger(tx: Tx) -> dict[str, Any]:
    rows = tx.all(
        "SELECT id, account, livemode, currency, amount, fee, net, type, source, available_on "
        "FROM ledger_entries"
    )
    return {row.id: row for row in rows}


def _objects(tx: Tx, kinds: list[str], ids: Iterable[str] | None = None) -> dict[str, list[Any]]:
    """Objects by id (an id may repeat across accounts), with their documents parsed."""
    found: dict[str, list[Any]] = defaultdict(list)
    kind_names = {f"k{i}": kind for i, kind in enumerate(kinds)}
    kind_sql = ", ".join(f":{name}" for name in kind_names)
    for batch in _batches(ids):
        where = f"object IN ({kind_sql})"
        params: dict[str, Any] = dict(kind_names)
        if batch is not None:
            params.update({f"i{i}": value for i, value in enumerate(batch)})
            where += " AND id IN (" + ", ".join(f":i{i}" for i in range(len(batch))) + ")"
        rows = tx.all(
            f"SELECT seq, id, account, livemode, object, deleted, data FROM objects WHERE {where}",
            **params,
        )
        for row in rows:
            found[row.id].append(_Doc(row.seq, row.account, bool(row.livemode), row.object,
                                      bool(row.deleted), json.loads(row.data)))
    return found


@dataclass
class _Doc:
    seq: int
    account: str
    livemode: bool
    object: str
    deleted: bool
    data: dict[str, Any]


def _batches(ids: Iterable[str] | None) -> Iterator[list[str] | None]:
    if ids is None:
        yield None
        return
    items = sorted(set(ids))
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _one(docs: list[_Doc], account: str, livemode: bool) -> _Doc | None:
    """The document in the row's own account, else the one in the same mode elsewhere (a
    platform's fee refund is the source of the connected account's row too)."""
    same_mode = [doc for doc in docs if doc.livemode == livemode]
    for doc in same_mode:
        if doc.account == account:
            return doc
    return same_mode[0] if same_mode else None


# The ledger


def _check_ledger_matches_objects(
    report: Report, ledger: dict[str, Any], transactions: dict[str, list[_Doc]]
) -> None:
    for txn_id, row in ledger.items():
        doc = _one(transactions.get(txn_id, []), row.account, bool(row.livemode))
        if doc is None or doc.account != row.account:
            report.add("ledger", "ledger row has no balance_transaction object", row.account, txn_id)
            continue
        data = doc.data
        for name in _LEDGER_FIELDS:
            if data.get(name) != getattr(row, name):
                report.add("ledger", f"{name} is {data.get(name)!r} on the object but "
                           f"{getattr(row, name)!r} in the ledger", row.account, txn_id)
        if int(row.net) != int(row.amount) - int(row.fee):
            report.add("fees", f"net {row.net} != amount {row.amount} - fee {row.fee}", row.account, txn_id)
        if isinstance(data.get("net"), int) and isinstance(data.get("amount"), int) \
                and isinstance(data.get("fee"), int) and data["net"] != data["amount"] - data["fee"]:
            report.add("fees", f"object's net {data['net']} != amount {data['amount']} - fee "
                       f"{data['fee']}", row.account, txn_id)
        details = sum(int(d.get("amount") or 0) for d in data.get("fee_details") or [])
        if details != data.get("fee"):
            report.add("fees", f"fee {data.get('fee')} != sum of fee_details {details}", row.account, txn_id)
    for txn_id, docs in transactions.items():
        for doc in docs:
            row = ledger.get(txn_id)
            if row is None or row.account != doc.account:
                report.add("ledger", "balance_transaction object has no ledger row", doc.account, txn_id)


def _check_balances(
    report: Report, tx: Tx, ledger: dict[str, Any], transactions: dict[str, list[_Doc]], now: int
) -> None:
    """What ``/v1/balance`` reports against the balance transactions ``/v1/balance_transactions``
    lists, per account, mode and currency."""
    listed: dict[tuple[str, bool], dict[str, dict[str, int]]] = defaultdict(dict)
    for docs in transactions.values():
        for doc in docs:
            data = doc.data
            sums = listed[(doc.account, doc.livemode)].setdefault(
                str(data.get("currency")), {"available": 0, "pending": 0}
            )
            which = "available" if int(data.get("available_on") or 0) <= now else "pending"
            sums[which] += int(data.get("net") or 0)
    scopes = set(listed) | {(row.account, bool(row.livemode)) for row in ledger.values()}
    report.counted["balances"] = 0
    for account, livemode in sorted(scopes):
        reported = balances(tx, Scope(account, livemode), now)
        expected = listed.get((account, livemode), {})
        for currency in sorted(set(reported) | set(expected)):
            report.counted["balances"] += 1
            got = reported.get(currency, {"available": 0, "pending": 0})
            want = expected.get(currency, {"available": 0, "pending": 0})
            for which in ("available", "pending"):
                if got[which] != want[which]:
                    mode = "live" if livemode else "test"
                    report.add(
                        "balance",
                        f"{mode} {currency} {which} is {got[which]} but its balance transactions "
                        f"add up to {want[which]} (difference {got[which] - want[which]})",
                        account,
                    )


def _check_sources(report: Report, tx: Tx, ledger: dict[str, Any]) -> None:
    sources = _objects(tx, sorted({kind for kind, _ in _SOURCES.values()}),
                       [row.source for row in ledger.values() if row.source])
    for txn_id, row in ledger.items():
        if not row.source:
            report.add("source", f"{row.type} balance transaction names no source", row.account, txn_id)
            continue
        doc = _one(sources.get(row.source, []), row.account, bool(row.livemode))
        if doc is None:
            report.add("source", f"source {row.source} of this {row.type} does not exist",
                       row.account, txn_id)
            continue
        rule = _SOURCES.get(row.type)
        if rule is None:
            continue
        kind, sign = rule
        if doc.object != kind:
            report.add("source", f"source {row.source} is a {doc.object}, not a {kind}", row.account, txn_id)
            continue
        expected = _source_amount(row.type, doc)
        amount = int(row.amount)
        if expected is None:
            continue
        if row.type == "application_fee_refund":
            # The platform gives the fee back (-), the account that paid it receives it (+).
            sign = -1 if doc.account == row.account else 1
        if (abs(amount) if sign == 0 else amount) != (expected if sign == 0 else sign * expected):
            shown = f"±{expected}" if sign == 0 else str(sign * expected)
            report.add("source", f"{row.type} amount {amount} does not match its source "
                       f"{row.source} ({shown})", row.account, txn_id)
        if row.currency != doc.data.get("currency"):
            report.add("source", f"currency {row.currency} differs from its source's "
                       f"{doc.data.get('currency')}", row.account, txn_id)


def _source_amount(kind: str, doc: _Doc) -> int | None:
    data = doc.data
    if kind == "charge":
        return int(data.get("amount_captured") or 0)
    if kind == "stripe_fee":
        fee = data.get("_countered_fee")
        return int(fee) if fee is not None else None
    amount = data.get("amount")
    return int(amount) if amount is not None else None


def _check_named_transactions(report: Report, tx: Tx, ledger: dict[str, Any]) -> None:
    """The other direction: every balance transaction a source names is in the ledger."""
    holders = _objects(tx, list(_HOLDERS))
    named = 0
    for docs in holders.values():
        for doc in docs:
            for txn_id in _named(doc.data):
                named += 1
                if txn_id not in ledger:
                    report.add("source", f"{doc.object} {doc.data.get('id')} names balance "
                               f"transaction {txn_id}, which is not in the ledger", doc.account, txn_id)
    report.counted["sources"] = sum(len(docs) for docs in holders.values())


def _named(data: dict[str, Any]) -> list[str]:
    found = [data.get("balance_transaction"), data.get("failure_balance_transaction")]
    found.extend(data.get("balance_transactions") or [])
    return [value for value in found if isinstance(value, str) and value.startswith("txn_")]


# Webhooks and jobs


def _check_deliveries(report: Report, tx: Tx, now: float, stuck_after: float) -> None:
    events = _objects(tx, ["event"])
    endpoints = [doc for docs in _objects(tx, ["webhook_endpoint"]).values() for doc in docs]
    platforms = {row.id: row.platform for row in tx.all("SELECT id, platform FROM accounts")}
    rows = tx.all(
        "SELECT id, event, endpoint, status, next_attempt_at, claimed_until FROM webhook_deliveries"
    )
    by_event: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_event[row.event].append(row)
    report.counted["events"] = sum(len(docs) for docs in events.values())
    report.counted["deliveries"] = len(rows)
    for event_id, docs in events.items():
        for doc in docs:
            queued = by_event.get(event_id, [])
            wanted = int(doc.data.get("pending_webhooks") or 0)
            if len(queued) != wanted:
                report.add("webhooks", f"event was queued for {wanted} endpoint(s) but has "
                           f"{len(queued)} delivery row(s)", doc.account, event_id)
            have = {row.endpoint for row in queued}
            for endpoint in _endpoints_for(doc, endpoints, platforms):
                if endpoint.data.get("id") not in have:
                    report.add("webhooks", f"no delivery to {endpoint.data.get('id')}, enabled for "
                               f"{doc.data.get('type')} since before the event", doc.account, event_id)
    for row in rows:
        if row.event not in events:
            report.add("webhooks", f"delivery {row.id} is for a missing event", None, row.event)
        if row.status != "pending":
            continue
        if row.claimed_until is not None and row.claimed_until > now + stuck_after:
            report.add("webhooks", f"delivery {row.id} is claimed until {row.claimed_until:.0f}, "
                       "far in the future", None, row.event)
        elif row.next_attempt_at is not None and row.next_attempt_at < now - stuck_after:
            report.add("webhooks", f"delivery {row.id} has been due since {row.next_attempt_at:.0f}: "
                       "is a worker running?", None, row.event)


def _endpoints_for(event: _Doc, endpoints: list[_Doc], platforms: dict[str, str | None]) -> list[_Doc]:
    """Endpoints that take the event now and took it, unchanged, since before it (record.py's
    choice, replayed)."""
    platform = platforms.get(event.account)
    chosen = []
    for endpoint in endpoints:
        if endpoint.deleted or endpoint.livemode != event.livemode or endpoint.seq > event.seq:
            continue
        # An endpoint whose events or status changed chose nothing before that change.
        if int(event.data.get("created") or 0) <= int(endpoint.data.get("_subscribed_since") or -1):
            continue
        own = endpoint.account == event.account and not endpoint.data.get("_connect")
        connect = platform is not None and endpoint.account == platform and endpoint.data.get("_connect")
        if (own or connect) and endpoint_wants(endpoint.data, str(event.data.get("type"))):
            chosen.append(endpoint)
    return chosen


def _check_jobs(report: Report, tx: Tx, now: float, stuck_after: float) -> None:
    rows = tx.all(
        "SELECT id, account, kind, target, run_at, claimed_until FROM jobs "
        "WHERE status = 'pending' AND test_clock IS NULL"
    )
    report.counted["pending jobs"] = len(rows)
    for row in rows:
        if row.claimed_until is not None and row.claimed_until > now + stuck_after:
            report.add("jobs", f"{row.kind} job for {row.target} is claimed until "
                       f"{row.claimed_until:.0f}, far in the future", row.account, row.id)
        elif row.run_at < now - stuck_after:
            report.add("jobs", f"{row.kind} job for {row.target} has been due since "
                       f"{row.run_at:.0f}: is a worker running?", row.account, row.id)
