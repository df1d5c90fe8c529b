"""What the dashboard's buttons do, through the same code the API and the CLI run.

Each action is one write transaction on the dashboard's scope; a refusal is the StripeError the
API would answer, and its message is shown on the page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.events import deliveries
from billfold.resources.billing.test_clocks import advance_test_clock
from billfold.resources.radar.rule_store import MAX_RULES, add_rule, remove_rule
from billfold.web.dashboard.queries import reading

if TYPE_CHECKING:
    from billfold.app import Billfold
    from billfold.store.objects import Scope


def resend(app: Billfold, scope: Scope, event_id: str, endpoint_id: str) -> str:
    """Queue the event once more for one of the endpoints it was sent to; the worker wakes."""
    with reading(app, scope, write=True) as ctx:
        event = ctx.objects.get(event_id, "event")
        if event is None:
            raise ResourceMissing("event", event_id, param="event")
        sent = ctx.tx.one(
            "SELECT account, livemode FROM webhook_deliveries WHERE event = :event "
            "AND endpoint = :endpoint ORDER BY seq LIMIT 1",
            event=event_id, endpoint=endpoint_id,
        )
        if sent is None:
            raise ResourceMissing("webhook_endpoint", endpoint_id, param="endpoint")
        endpoint = ctx.tx.one(
            "SELECT deleted, data FROM objects WHERE id = :id AND object = 'webhook_endpoint'",
            id=endpoint_id,
        )
        if endpoint is None or endpoint.deleted:
            raise ResourceMissing("webhook_endpoint", endpoint_id, param="endpoint")
        deliveries.queue(ctx.tx, sent.account, bool(sent.livemode), event_id, endpoint_id, ctx.now)
        ctx.tx.after_commit.append(app.wake_deliveries)
    return event_id


def add_radar_rule(app: Billfold, scope: Scope, text: str, position: str) -> dict[str, Any]:
    where: int | None = None
    if position.strip():
        try:
            where = int(position)
        except ValueError:
            raise InvalidRequestError("Invalid integer: " + position.strip(), param="position") from None
        if not 1 <= where <= MAX_RULES:
            raise InvalidRequestError(
                f"The position must be between 1 and {MAX_RULES}.", param="position"
            )
    if not text.strip():
        raise InvalidRequestError("Missing required param: rule.", param="rule")
    with reading(app, scope, write=True) as ctx:
        return add_rule(ctx, text, where)


def remove_radar_rule(app: Billfold, scope: Scope, rule_id: str) -> dict[str, Any]:
    with reading(app, scope, write=True) as ctx:
        return remove_rule(ctx, rule_id)


def parse_time(raw: str) -> int:
    """Seconds since the epoch, or a date and time (``2026-12-01T09:30``) taken as UTC."""
    raw = raw.strip()
    if raw.isdigit():
        return int(raw)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidRequestError(
            f"Invalid frozen_time: {raw!r} is neither a Unix timestamp nor a date and time.",
            param="frozen_time",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def advance_clock(app: Billfold, scope: Scope, clock_id: str, frozen_time: str) -> dict[str, Any]:
    target = parse_time(frozen_time)
    with reading(app, scope, write=True) as ctx:
        return advance_test_clock(ctx, {"frozen_time": target}, clock_id)
