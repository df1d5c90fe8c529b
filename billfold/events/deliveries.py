"""Webhook deliveries as rows: queueing, counting, claiming and settling them.

A delivery is ``pending`` until an attempt gets a 2xx (``succeeded``) or the retry schedule
runs out (``failed``). Deliveries to an endpoint that is deleted or disabled while they wait
become ``canceled``: they will never be sent, and no longer count as pending webhooks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from billfold import ids
from billfold.store.db import Database, Tx

# Deliveries that make an event's ``pending_webhooks``: not (yet) delivered successfully.
UNSETTLED = ("pending", "failed")
_UNSETTLED_SQL = "status IN ('pending', 'failed')"


@dataclass(frozen=True)
class Claim:
    """A due delivery this worker holds until ``until`` (its claim token)."""

    id: str
    account: str
    livemode: bool
    event: str
    endpoint: str
    attempts: int
    until: float


def queue(tx: Tx, account: str, livemode: bool, event_id: str, endpoint_id: str, now: int) -> None:
    tx.execute(
        "INSERT INTO webhook_deliveries (id, account, livemode, event, endpoint, status, attempts, "
        "next_attempt_at, created, updated) VALUES (:id, :account, :livemode, :event, :endpoint, "
        "'pending', 0, :due, :created, :updated)",
        id=ids.new_id("delivery"),
        account=account,
        livemode=livemode,
        event=event_id,
        endpoint=endpoint_id,
        due=float(now),
        created=now,
        updated=float(now),
    )


def _names(prefix: str, values: list[str]) -> tuple[str, dict[str, Any]]:
    params = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return ", ".join(f":{name}" for name in params), params


def pending_counts(tx: Tx, event_ids: list[str]) -> dict[str, int]:
    """Each event's deliveries not yet succeeded, for a whole page of events in one query."""
    if not event_ids:
        return {}
    names, params = _names("ev", event_ids)
    rows = tx.all(
        f"SELECT event, COUNT(*) AS n FROM webhook_deliveries WHERE event IN ({names}) "
        f"AND {_UNSETTLED_SQL} GROUP BY event",
        **params,
    )
    counts = dict.fromkeys(event_ids, 0)
    counts.update({row.event: int(row.n) for row in rows})
    return counts


def delivery_filter(success: bool) -> tuple[str, dict[str, Any]]:
    """A condition on ``objects`` rows (events): all deliveries succeeded, or not."""
    exists = (
        "EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event = objects.id "
        f"AND d.{_UNSETTLED_SQL})"
    )
    return (f"NOT {exists}" if success else exists), {}


def cancel_for_endpoint(tx: Tx, endpoint_id: str, now: float) -> None:
    tx.execute(
        "UPDATE webhook_deliveries SET status = 'canceled', next_attempt_at = NULL, "
        "claimed_until = NULL, updated = :now WHERE endpoint = :endpoint AND status = 'pending'",
        endpoint=endpoint_id,
        now=now,
    )


def _due_clause(busy: list[str]) -> tuple[str, dict[str, Any]]:
    clause = (
        "status = 'pending' AND next_attempt_at <= :now "
        "AND (claimed_until IS NULL OR claimed_until < :now)"
    )
    if not busy:
        return clause, {}
    names, params = _names("busy", busy)
    return f"{clause} AND endpoint NOT IN ({names})", params


def claim_due(db: Database, now: float, until: float, limit: int, busy: list[str]) -> list[Claim]:
    """Claim up to ``limit`` due deliveries; concurrent workers never claim the same row."""
    if limit <= 0:
        return []
    due, params = _due_clause(busy)
    columns = "id, account, livemode, event, endpoint, attempts"
    with db.transaction(write=True) as tx:
        if db.is_postgres:
            rows = tx.all(
                f"UPDATE webhook_deliveries SET claimed_until = :until WHERE id IN ("
                f"SELECT id FROM webhook_deliveries WHERE {due} ORDER BY next_attempt_at "
                f"LIMIT :limit FOR UPDATE SKIP LOCKED) RETURNING {columns}",
                now=now, until=until, limit=limit, **params,
            )
        else:
            # SQLite: this write transaction (BEGIN IMMEDIATE) already excludes other writers.
            rows = tx.all(
                f"SELECT {columns} FROM webhook_deliveries WHERE {due} "
                "ORDER BY next_attempt_at LIMIT :limit",
                now=now, limit=limit, **params,
            )
            if rows:
                names, id_params = _names("id", [row.id for row in rows])
                tx.execute(
                    f"UPDATE webhook_deliveries SET claimed_until = :until WHERE id IN ({names})",
                    until=until,
                    **id_params,
                )
    return [
        Claim(row.id, row.account, bool(row.livemode), row.event, row.endpoint, int(row.attempts), until)
        for row in rows
    ]


def next_due(db: Database, now: float, busy: list[str]) -> float | None:
    """When the earliest unclaimed pending delivery (of an endpoint not busy here) falls due."""
    clause = "status = 'pending' AND (claimed_until IS NULL OR claimed_until < :now)"
    params: dict[str, Any] = {}
    if busy:
        names, params = _names("busy", busy)
        clause += f" AND endpoint NOT IN ({names})"
    with db.transaction(write=False) as tx:
        row = tx.one(f"SELECT MIN(next_attempt_at) AS due FROM webhook_deliveries WHERE {clause}", now=now, **params)
    return None if row is None or row.due is None else float(row.due)


def release(db: Database, claim: Claim) -> None:
    """Give a claim back unattempted (the worker is stopping), so another worker may take it."""
    with db.transaction(write=True) as tx:
        tx.execute(
            "UPDATE webhook_deliveries SET claimed_until = NULL WHERE id = :id AND claimed_until = :until",
            id=claim.id,
            until=claim.until,
        )


def cancel(db: Database, claim: Claim, now: float, reason: str) -> None:
    with db.transaction(write=True) as tx:
        tx.execute(
            "UPDATE webhook_deliveries SET status = 'canceled', next_attempt_at = NULL, "
            "claimed_until = NULL, last_error = :reason, updated = :now "
            "WHERE id = :id AND claimed_until = :until",
            id=claim.id,
            until=claim.until,
            reason=reason,
            now=now,
        )


def settle(
    db: Database,
    claim: Claim,
    *,
    started: float,
    finished: float,
    status_code: int | None,
    error: str | None,
    retry_delays: tuple[float, ...],
) -> str:
    """Record one attempt and the delivery's next state; returns that state."""
    attempts = claim.attempts + 1
    next_attempt: float | None = None
    if status_code is not None and 200 <= status_code < 300:
        status = "succeeded"
    elif attempts <= len(retry_delays):
        status = "pending"
        next_attempt = finished + retry_delays[attempts - 1]
    else:
        status = "failed"
    with db.transaction(write=True) as tx:
        tx.execute(
            "INSERT INTO webhook_attempts (delivery, attempted_at, status_code, error, duration_ms) "
            "VALUES (:delivery, :at, :code, :error, :ms)",
            delivery=claim.id,
            at=started,
            code=status_code,
            error=error,
            ms=max(0, round((finished - started) * 1000)),
        )
        tx.execute(
            "UPDATE webhook_deliveries SET status = :status, attempts = :attempts, "
            "next_attempt_at = :next, claimed_until = NULL, last_status_code = :code, "
            "last_error = :error, updated = :now WHERE id = :id AND claimed_until = :until",
            status=status,
            attempts=attempts,
            next=next_attempt,
            code=status_code,
            error=error,
            now=finished,
            id=claim.id,
            until=claim.until,
        )
    return status


def purge_idempotency_keys(db: Database, older_than: int) -> int:
    with db.transaction(write=True) as tx:
        result = tx.execute("DELETE FROM idempotency_keys WHERE created < :cutoff", cutoff=older_than)
    return int(result.rowcount or 0)
