"""What the dashboard pages show, read straight from Billfold's store.

Objects go through the API's own renderers (``billfold.wire.present.render``), so a page shows
them as ``/v1`` would. Each page costs a handful of queries: lists are one indexed page of
objects, and what a list row needs from elsewhere (customers, balances, delivery counts) is
fetched for the whole page at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billfold.context import Ctx
from billfold.events import deliveries
from billfold.ledger.balance_transactions import balances
from billfold.ledger.money import format_amount
from billfold.resources.billing.clock import CLOCK
from billfold.store.objects import Scope
from billfold.wire.present import render

if TYPE_CHECKING:
    from billfold.app import Billfold
    from billfold.store.db import Tx

PAGE_SIZE = 25
# How much of a payment's history its page shows at most (events and balance transactions).
HISTORY_LIMIT = 100


@contextmanager
def reading(app: Billfold, scope: Scope, *, write: bool = False) -> Iterator[Ctx]:
    """A request context on one transaction, as the API pipeline would build it."""
    with app.db.transaction(write=write) as tx:
        yield Ctx(app, tx, scope, app.default_version(scope.account), app.clock.now())


@dataclass
class Listing:
    """One page of a list, with the cursors of its neighbours."""

    items: list[dict[str, Any]]
    newer: str | None = None  # ending_before for the previous page
    older: str | None = None  # starting_after for the next page
    extra: dict[str, Any] = field(default_factory=dict)


def _names(prefix: str, values: list[str]) -> tuple[str, dict[str, Any]]:
    params = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return ", ".join(f":{name}" for name in params) or "NULL", params


def _page(
    ctx: Ctx,
    object_type: str,
    cursor: dict[str, str],
    *,
    filters: dict[str, Any] | None = None,
    kinds: list[str] | None = None,
) -> Listing:
    after, before = cursor.get("starting_after"), cursor.get("ending_before")
    found = ctx.objects.page(
        object_type, filters=filters, kinds=kinds, limit=PAGE_SIZE,
        starting_after=after, ending_before=None if after else before,
    )
    items = [render(ctx, item) for item in found.data]
    listing = Listing(items)
    if items:
        paging_back = bool(before) and not after
        # Going forward there are newer items exactly when we came from a cursor.
        has_newer = found.has_more if paging_back else bool(after)
        has_older = True if paging_back else found.has_more
        listing.newer = items[0]["id"] if has_newer else None
        listing.older = items[-1]["id"] if has_older else None
    return listing


def objects_by_id(ctx: Ctx, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Several objects of this scope in one query (deleted ones included, as names for rows)."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    names, params = _names("id", wanted)
    rows = ctx.tx.all(
        f"SELECT data FROM objects WHERE account = :account AND livemode = :livemode "
        f"AND id IN ({names})",
        account=ctx.scope.account, livemode=ctx.livemode, **params,
    )
    found = [json.loads(row.data) for row in rows]
    return {item["id"]: item for item in found}


def _with_customers(ctx: Ctx, listing: Listing) -> Listing:
    listing.extra["customers"] = objects_by_id(
        ctx, [str(item.get("customer")) for item in listing.items if isinstance(item.get("customer"), str)]
    )
    return listing


def payments(ctx: Ctx, cursor: dict[str, str]) -> Listing:
    return _with_customers(ctx, _page(ctx, "payment_intent", cursor))


def customers(ctx: Ctx, cursor: dict[str, str]) -> Listing:
    return _page(ctx, "customer", cursor)


def subscriptions(ctx: Ctx, cursor: dict[str, str]) -> Listing:
    return _with_customers(ctx, _page(ctx, "subscription", cursor))


def invoices(ctx: Ctx, cursor: dict[str, str]) -> Listing:
    return _with_customers(ctx, _page(ctx, "invoice", cursor))


def test_clocks(ctx: Ctx, cursor: dict[str, str]) -> Listing:
    return _page(ctx, CLOCK, cursor)


def events(ctx: Ctx, cursor: dict[str, str], event_type: str | None) -> Listing:
    listing = _page(ctx, "event", cursor, kinds=[event_type] if event_type else None)
    listing.extra["pending"] = deliveries.pending_counts(ctx.tx, [e["id"] for e in listing.items])
    return listing


def balance_of(tx: Tx, scope: Scope, now: int) -> list[dict[str, Any]]:
    return [
        {"currency": currency, **amounts} for currency, amounts in sorted(balances(tx, scope, now).items())
    ]


def connected_accounts(ctx: Ctx, cursor: dict[str, str]) -> Listing:
    listing = _page(ctx, "account", cursor)
    ids = [item["id"] for item in listing.items]
    per_account: dict[str, list[dict[str, Any]]] = {account: [] for account in ids}
    if ids:
        names, params = _names("acct", ids)
        rows = ctx.tx.all(
            "SELECT account, currency, "
            "SUM(CASE WHEN available_on <= :now THEN net ELSE 0 END) AS available, "
            "SUM(CASE WHEN available_on > :now THEN net ELSE 0 END) AS pending "
            f"FROM ledger_entries WHERE livemode = :livemode AND account IN ({names}) "
            "GROUP BY account, currency ORDER BY account, currency",
            now=ctx.now, livemode=ctx.livemode, **params,
        )
        for row in rows:
            per_account[row.account].append(
                {"currency": row.currency, "available": int(row.available), "pending": int(row.pending)}
            )
    listing.extra["balances"] = per_account
    listing.extra["platform_balance"] = balance_of(ctx.tx, ctx.scope, ctx.now)
    return listing


def _load(ctx: Ctx, object_type: str, object_id: str) -> dict[str, Any] | None:
    found = ctx.objects.get(object_id, object_type)
    return render(ctx, found) if found is not None else None


def _related(ctx: Ctx, object_type: str, column: str, value: str) -> list[dict[str, Any]]:
    found = ctx.objects.page(object_type, filters={column: value}, limit=HISTORY_LIMIT).data
    return [render(ctx, item) for item in reversed(found)]  # oldest first


def events_mentioning(ctx: Ctx, object_id: str, since: int) -> list[dict[str, Any]]:
    """Events whose object is, or names, ``object_id`` (oldest first).

    Events keep no index of the objects they mention, so this matches the quoted id in the
    stored JSON, over this scope's events since the object was made.
    """
    rows = ctx.tx.all(
        "SELECT data FROM objects WHERE account = :account AND livemode = :livemode "
        "AND object = 'event' AND created >= :since AND data LIKE :pattern "
        "ORDER BY created, seq LIMIT :limit",
        account=ctx.scope.account, livemode=ctx.livemode, since=since,
        pattern=f'%"{object_id}"%', limit=HISTORY_LIMIT,
    )
    found = [json.loads(row.data) for row in rows]
    ctx.memo["pending_webhooks"] = deliveries.pending_counts(ctx.tx, [e["id"] for e in found])
    return [render(ctx, event) for event in found]


def deliveries_of(ctx: Ctx, event_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every webhook delivery of these events, each with its endpoint and its attempts."""
    by_event: dict[str, list[dict[str, Any]]] = {event: [] for event in event_ids}
    if not event_ids:
        return by_event
    names, params = _names("ev", event_ids)
    rows = ctx.tx.all(
        "SELECT id, event, endpoint, status, attempts, next_attempt_at, last_status_code, "
        f"last_error, created FROM webhook_deliveries WHERE event IN ({names}) ORDER BY seq",
        **params,
    )
    found = [row._asdict() for row in rows]
    if not found:
        return by_event
    attempt_names, attempt_params = _names("d", [d["id"] for d in found])
    attempts: dict[str, list[dict[str, Any]]] = {d["id"]: [] for d in found}
    for row in ctx.tx.all(
        "SELECT delivery, attempted_at, status_code, error, duration_ms FROM webhook_attempts "
        f"WHERE delivery IN ({attempt_names}) ORDER BY seq",
        **attempt_params,
    ):
        attempts[row.delivery].append(row._asdict())
    endpoint_names, endpoint_params = _names("we", sorted({d["endpoint"] for d in found}))
    # An endpoint may be the platform's (Connect endpoints), so look it up by id alone.
    endpoints = {
        row.id: json.loads(row.data)
        for row in ctx.tx.all(
            "SELECT id, data FROM objects WHERE object = 'webhook_endpoint' "
            f"AND id IN ({endpoint_names})",
            **endpoint_params,
        )
    }
    for delivery in found:
        delivery["attempt_list"] = attempts[delivery["id"]]
        delivery["endpoint_object"] = endpoints.get(delivery["endpoint"]) or {}
        by_event.setdefault(delivery["event"], []).append(delivery)
    return by_event


def balance_transactions_for(ctx: Ctx, sources: list[str]) -> list[dict[str, Any]]:
    if not sources:
        return []
    names, params = _names("src", sources)
    rows = ctx.tx.all(
        "SELECT data FROM objects WHERE account = :account AND livemode = :livemode "
        "AND object = 'balance_transaction' AND id IN (SELECT id FROM ledger_entries "
        f"WHERE account = :account AND livemode = :livemode AND source IN ({names})) "
        "ORDER BY created, seq",
        account=ctx.scope.account, livemode=ctx.livemode, **params,
    )
    return [render(ctx, json.loads(row.data)) for row in rows]


@dataclass
class Moment:
    """One line of a payment's timeline."""

    at: int
    title: str
    detail: str = ""
    href: str = ""
    kind: str = "object"  # object or event
    status: str = ""
    amount: str = ""


def _money(item: dict[str, Any]) -> str:
    amount, currency = item.get("amount"), item.get("currency")
    return format_amount(amount, str(currency)) if isinstance(amount, int) and currency else ""


def _stage(moment: Moment) -> int:
    name = moment.title if moment.kind == "event" else moment.detail
    for stage, prefixes in enumerate((
        ("payment_intent.", "pi_"), ("charge.dispute.", "dp_", "du_"),
        ("charge.refund", "refund.", "re_", "pyr_"), ("charge.", "ch_", "py_"),
    )):
        if name.startswith(prefixes):
            return (0, 3, 2, 1)[stage]
    return 4


def payment(ctx: Ctx, intent_id: str) -> dict[str, Any] | None:
    intent = _load(ctx, "payment_intent", intent_id)
    if intent is None:
        return None
    charges = _related(ctx, "charge", "payment_intent", intent_id)
    refunds = _related(ctx, "refund", "payment_intent", intent_id)
    disputes = _related(ctx, "dispute", "payment_intent", intent_id)
    found_events = events_mentioning(ctx, intent_id, int(intent["created"]))
    sources = [c["id"] for c in charges] + [r["id"] for r in refunds] + [d["id"] for d in disputes]
    ledger = balance_transactions_for(ctx, sources)
    customer = _load(ctx, "customer", intent["customer"]) if isinstance(intent.get("customer"), str) else None
    moments = [Moment(int(intent["created"]), "Payment intent created", intent["id"],
                      amount=_money(intent))]
    for label, objects in (("Charge", charges), ("Refund", refunds), ("Dispute", disputes)):
        for item in objects:
            moments.append(Moment(int(item["created"]), f"{label} {item['status']}", item["id"],
                                  status=str(item["status"]), amount=_money(item)))
    for event in found_events:
        moments.append(Moment(int(event["created"]), event["type"], event["id"],
                              href=f"/dashboard/events/{event['id']}", kind="event"))
    # Within one second, the intent's story reads in order: intent, charge, refunds, disputes,
    # each object before the events about it.
    moments.sort(key=lambda m: (m.at, _stage(m), m.kind != "object"))
    return {
        "intent": intent, "charges": charges, "refunds": refunds, "disputes": disputes,
        "events": found_events, "deliveries": deliveries_of(ctx, [e["id"] for e in found_events]),
        "balance_transactions": ledger, "customer": customer, "timeline": moments,
    }


def customer(ctx: Ctx, customer_id: str) -> dict[str, Any] | None:
    found = _load(ctx, "customer", customer_id)
    if found is None:
        return None
    return {
        "customer": found,
        "payments": list(reversed(_related(ctx, "payment_intent", "customer", customer_id))),
        "subscriptions": list(reversed(_related(ctx, "subscription", "customer", customer_id))),
        "invoices": list(reversed(_related(ctx, "invoice", "customer", customer_id))),
    }


def event(ctx: Ctx, event_id: str) -> dict[str, Any] | None:
    found = _load(ctx, "event", event_id)
    if found is None:
        return None
    return {"event": found, "deliveries": deliveries_of(ctx, [event_id])[event_id]}
