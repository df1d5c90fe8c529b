"""Recording events and queueing their webhook deliveries, inside the caller's transaction."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from billfold import ids
from billfold.wire.present import render

if TYPE_CHECKING:
    from billfold.context import Ctx


def _endpoints(ctx: Ctx) -> list[dict[str, Any]]:
    if ctx._endpoints is None:
        rows = ctx.tx.all(
            "SELECT data FROM objects WHERE account = :account AND livemode = :livemode "
            "AND object = 'webhook_endpoint' AND deleted = :deleted",
            account=ctx.scope.account,
            livemode=ctx.scope.livemode,
            deleted=False,
        )
        ctx._endpoints = [json.loads(row.data) for row in rows]
    return ctx._endpoints


def endpoint_wants(endpoint: dict[str, Any], event_type: str) -> bool:
    if endpoint.get("status") != "enabled":
        return False
    enabled = endpoint.get("enabled_events") or []
    return "*" in enabled or event_type in enabled


def record_event(
    ctx: Ctx, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    snapshot = render(ctx, copy.deepcopy(obj))
    data: dict[str, Any] = {"object": snapshot}
    if previous:
        data["previous_attributes"] = previous
    event: dict[str, Any] = {
        "id": ids.new_id("event"),
        "object": "event",
        "api_version": ctx.account_settings["default_api_version"],
        "created": ctx.now,
        "data": data,
        "livemode": ctx.livemode,
        "pending_webhooks": 0,
        "request": {"id": ctx.request_id, "idempotency_key": ctx.idempotency_key},
        "type": event_type,
    }
    ctx.objects.insert(event)
    ctx.events.append(event["id"])
    queued = 0
    for endpoint in _endpoints(ctx):
        if not endpoint_wants(endpoint, event_type):
            continue
        queued += 1
        ctx.tx.execute(
            "INSERT INTO webhook_deliveries (id, account, livemode, event, endpoint, status, attempts, "
            "next_attempt_at, created, updated) VALUES (:id, :account, :livemode, :event, :endpoint, "
            "'pending', 0, :due, :created, :updated)",
            id=ids.new_id("delivery"),
            account=ctx.scope.account,
            livemode=ctx.livemode,
            event=event["id"],
            endpoint=endpoint["id"],
            due=float(ctx.now),
            created=ctx.now,
            updated=float(ctx.now),
        )
    if queued:
        ctx.tx.after_commit.append(ctx.app.wake_deliveries)
    return event


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Stripe's ``previous_attributes``: the old values of the top-level fields that changed."""
    return {key: before.get(key) for key in after if key in before and before.get(key) != after.get(key)}
