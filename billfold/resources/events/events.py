"""Events: ``/v1/events``, the record of what happened, each as it was at the time."""

from __future__ import annotations

from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.events import deliveries
from billfold.resources.base import list_params, load
from billfold.wire.params import Bool, List, Str
from billfold.wire.present import list_object, register
from billfold.wire.router import Routes

routes = Routes("events")

LIST = list_params(
    type=Str(),
    types=List(item=Str(), max_items=20),
    delivery_success=Bool(),
)


def _type_pattern(pattern: str) -> tuple[str, dict[str, Any]]:
    """``customer.*`` as a LIKE condition on the event type (``_`` and ``%`` taken literally)."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
    return "kind LIKE :type_pattern ESCAPE '\\'", {"type_pattern": escaped}


def _and(
    first: tuple[str, dict[str, Any]] | None, second: tuple[str, dict[str, Any]] | None
) -> tuple[str, dict[str, Any]] | None:
    if first is None or second is None:
        return first or second
    return f"({first[0]}) AND ({second[0]})", {**first[1], **second[1]}


@routes.get("/v1/events", LIST)
def list_events(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if "type" in params and "types" in params:
        raise InvalidRequestError(
            "You may only specify one of these parameters: type, types.", param="types"
        )
    kinds: list[str] | None = None
    where: tuple[str, dict[str, Any]] | None = None
    if "type" in params:
        if "*" in params["type"]:
            where = _type_pattern(params["type"])
        else:
            kinds = [params["type"]]
    elif params.get("types"):
        kinds = params["types"]
    if "delivery_success" in params:
        where = _and(where, deliveries.delivery_filter(params["delivery_success"]))
    found = ctx.objects.page(
        "event",
        created=params.get("created"),
        limit=params.get("limit") or 10,
        starting_after=params.get("starting_after"),
        ending_before=params.get("ending_before"),
        kinds=kinds,
        where=where,
    )
    ctx.memo["pending_webhooks"] = deliveries.pending_counts(ctx.tx, [e["id"] for e in found.data])
    return list_object("/v1/events", found.data, found.has_more)


@routes.get("/v1/events/{id}")
def retrieve_event(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return load(ctx, "event", id)


def _render(ctx: Ctx, event: dict[str, Any]) -> dict[str, Any]:
    counts: dict[str, int] = ctx.memo.get("pending_webhooks", {})
    if event["id"] not in counts:
        counts = deliveries.pending_counts(ctx.tx, [event["id"]])
    event["pending_webhooks"] = counts[event["id"]]
    return event


register("event", render=_render)
