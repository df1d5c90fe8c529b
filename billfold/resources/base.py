"""Helpers every resource module shares: loading by id, lists, metadata, address shapes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from billfold.errors import ResourceMissing
from billfold.wire.params import CREATED, LIST_PARAMS, Dict, Spec, Str
from billfold.wire.present import list_object

if TYPE_CHECKING:
    from billfold.context import Ctx

# Stripe calls objects by these names in "No such ..." messages.
NAMES = {
    "payment_intent": "PaymentIntent",
    "setup_intent": "SetupIntent",
    "payment_method": "PaymentMethod",
    "webhook_endpoint": "webhook endpoint",
    "balance_transaction": "balance transaction",
}


def load(
    ctx: Ctx, object_type: str, object_id: str, *, param: str = "id", for_update: bool = False
) -> dict[str, Any]:
    data = ctx.objects.get(object_id, object_type, for_update=for_update)
    if data is None:
        raise ResourceMissing(NAMES.get(object_type, object_type), object_id, param=param)
    return data


def list_params(**extra: Spec) -> dict[str, Spec]:
    return {**LIST_PARAMS, "created": CREATED, **extra}


def page(
    ctx: Ctx,
    object_type: str,
    url: str,
    params: dict[str, Any],
    filters: dict[str, Any] | None = None,
    kinds: list[str] | None = None,
    where: tuple[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    found = ctx.objects.page(
        object_type,
        filters={k: v for k, v in (filters or {}).items() if v is not None},
        created=params.get("created"),
        limit=params.get("limit") or 10,
        starting_after=params.get("starting_after"),
        ending_before=params.get("ending_before"),
        kinds=kinds,
        where=where,
    )
    return list_object(url, found.data, found.has_more)


def page_computed(items: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
    """A page of objects computed (not stored) in list order, paged by their ids."""
    limit = params.get("limit") or 10
    position = {item["id"]: index for index, item in enumerate(items)}
    for name in ("starting_after", "ending_before"):
        if name in params and params[name] not in position:
            raise ResourceMissing("object", params[name], param=name)
    if "starting_after" in params:
        rest = items[position[params["starting_after"]] + 1 :]
        return list_object(url, rest[:limit], len(rest) > limit)
    if "ending_before" in params:
        before = items[: position[params["ending_before"]]]
        return list_object(url, before[-limit:], len(before) > limit)
    return list_object(url, items[:limit], len(items) > limit)


ADDRESS = Dict(
    fields={
        name: Str(max_length=200)
        for name in ("city", "country", "line1", "line2", "postal_code", "state")
    },
    emptyable=True,
)


def address(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {name: value.get(name) for name in ("city", "country", "line1", "line2", "postal_code", "state")}


BILLING_DETAILS = Dict(
    fields={
        "address": ADDRESS,
        "email": Str(max_length=800, emptyable=True),
        "name": Str(max_length=500, emptyable=True),
        "phone": Str(max_length=100, emptyable=True),
    }
)


def billing_details(value: dict[str, Any] | None) -> dict[str, Any]:
    value = value or {}
    return {
        "address": address(value.get("address"))
        or {k: None for k in ("city", "country", "line1", "line2", "postal_code", "state")},
        "email": value.get("email"),
        "name": value.get("name"),
        "phone": value.get("phone"),
    }
