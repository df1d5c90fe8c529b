"""Recording events and queueing their webhook deliveries, inside the caller's transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from billfold import ids
from billfold.events import deliveries
from billfold.store.objects import dumps_bytes, loads
from billfold.wire.present import render

if TYPE_CHECKING:
    from billfold.context import Ctx


def _platform(ctx: Ctx) -> str | None:
    """The platform of the account the event happens on, when that is a connected account."""
    if "platform" not in ctx.memo:
        row = ctx.tx.one("SELECT platform FROM accounts WHERE id = :id", id=ctx.scope.account)
        ctx.memo["platform"] = row.platform if row is not None else None
    platform: str | None = ctx.memo["platform"]
    return platform


def _load_endpoints(ctx: Ctx, account: str) -> list[dict[str, Any]]:
    rows = ctx.tx.all(
        "SELECT data FROM objects WHERE account = :account AND livemode = :livemode "
        "AND object = 'webhook_endpoint' AND deleted = :deleted",
        account=account,
        livemode=ctx.scope.livemode,
        deleted=False,
    )
    return [loads(row.data) for row in rows]


def _endpoints(ctx: Ctx) -> list[dict[str, Any]]:
    """The account's own endpoints, and its platform's Connect endpoints if it has a platform."""
    if ctx._endpoints is None:
        found = [e for e in _load_endpoints(ctx, ctx.scope.account) if not e.get("_connect")]
        platform = _platform(ctx)
        if platform is not None:
            found += [e for e in _load_endpoints(ctx, platform) if e.get("_connect")]
        ctx._endpoints = found
    return ctx._endpoints


def endpoint_wants(endpoint: dict[str, Any], event_type: str) -> bool:
    if endpoint.get("status") != "enabled":
        return False
    enabled = endpoint.get("enabled_events") or []
    return "*" in enabled or event_type in enabled


def record_event(
    ctx: Ctx, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    # An event carries the whole object even when a publishable key (Stripe.js) caused it:
    # webhook handlers need the fields the client-side view leaves out (metadata, amounts).
    key, ctx.key = ctx.key, None
    try:
        # A JSON round trip copies these plain documents several times faster than deepcopy.
        snapshot = render(ctx, loads(dumps_bytes(obj)))
    finally:
        ctx.key = key
    data: dict[str, Any] = {"object": snapshot}
    if previous:
        data["previous_attributes"] = previous
    event: dict[str, Any] = {"id": ids.new_id("event"), "object": "event"}
    platform = _platform(ctx)
    if platform is not None:
        event["account"] = ctx.scope.account
    event.update(
        {
            "api_version": ctx.account_settings["default_api_version"],
            "created": ctx.now,
            "data": data,
            "livemode": ctx.livemode,
            "pending_webhooks": 0,
            "request": {"id": ctx.request_id, "idempotency_key": ctx.idempotency_key},
            "type": event_type,
        }
    )
    wanted = [e for e in _endpoints(ctx) if endpoint_wants(e, event_type)]
    # The stored count is the number queued; responses recount what is still undelivered.
    event["pending_webhooks"] = len(wanted)
    ctx.objects.insert(event)
    ctx.events.append(event["id"])
    for endpoint in wanted:
        deliveries.queue(ctx.tx, ctx.scope.account, ctx.livemode, event["id"], endpoint["id"], ctx.now)
    if wanted and ctx.app.wake_deliveries not in ctx.tx.after_commit:
        ctx.tx.after_commit.append(ctx.app.wake_deliveries)
    return event


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Stripe's ``previous_attributes``: the old values of the top-level fields that changed."""
    return {key: before.get(key) for key in after if key in before and before.get(key) != after.get(key)}
