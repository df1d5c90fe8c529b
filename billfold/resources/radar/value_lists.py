"""Radar value lists: ``/v1/radar/value_lists`` and ``/v1/radar/value_list_items``.

A list's ``alias`` is what rules name (``:email: in @trusted_emails``). Items keep their
normalized value in ``_lookup_key`` (lower-cased unless the list is case sensitive) and their
list in the indexed ``value_list`` column, so membership is one indexed lookup.
"""

from __future__ import annotations

from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceExists, ResourceMissing
from billfold.resources.base import list_params, page, page_computed
from billfold.wire.params import Metadata, Spec, Str, apply_metadata
from billfold.wire.present import list_object, register
from billfold.wire.router import Routes

routes = Routes("radar_value_lists")

ITEM_TYPES = (
    "card_bin", "card_fingerprint", "case_sensitive_string", "country", "customer_id", "email",
    "ip_address", "sepa_debit_fingerprint", "string", "us_bank_account_fingerprint",
)
CREATE: dict[str, Spec] = {
    "alias": Str(required=True, max_length=100),
    "item_type": Str(enum=ITEM_TYPES),
    "metadata": Metadata(),
    "name": Str(required=True, max_length=100),
}
UPDATE: dict[str, Spec] = {
    "alias": Str(max_length=100),
    "metadata": Metadata(),
    "name": Str(max_length=100),
}
ITEM_CREATE: dict[str, Spec] = {
    "value": Str(required=True, max_length=800),
    "value_list": Str(required=True),
}
LIST = list_params(alias=Str(max_length=100), contains=Str(max_length=800))
ITEM_LIST = list_params(value=Str(max_length=800), value_list=Str(required=True))


def load(ctx: Ctx, object_type: str, object_id: str, *, param: str, for_update: bool = False) -> dict[str, Any]:
    found = ctx.objects.get(object_id, object_type, for_update=for_update)
    if found is None:
        kind = "value list item" if object_type.endswith("_item") else "value list"
        raise ResourceMissing(kind, object_id, param=param)
    return found


def normalize(item_type: str, value: str) -> str:
    """How a value is compared: case-insensitively, except in case-sensitive lists."""
    value = value.strip()
    return value if item_type == "case_sensitive_string" else value.casefold()


def _created_by(ctx: Ctx) -> str:
    name = getattr(ctx.key, "name", None) if ctx.key is not None else None
    return str(name) if name else "API"


def _check_alias(alias: str) -> None:
    if not alias or not all(c.isascii() and (c.isalnum() or c == "_") for c in alias):
        raise InvalidRequestError(
            f"Invalid alias: {alias!r}. A value list's alias may contain only letters, digits "
            "and underscores, as rules name it (@alias).",
            param="alias",
        )


def by_alias(ctx: Ctx, alias: str) -> dict[str, Any] | None:
    found = ctx.objects.page("radar.value_list", filters={"lookup_key": alias}, limit=1)
    return found.data[0] if found.data else None


def _unique_alias(ctx: Ctx, alias: str, own_id: str | None = None) -> None:
    existing = by_alias(ctx, alias)
    if existing is not None and existing["id"] != own_id:
        raise ResourceExists(f"A value list with the alias '{alias}' already exists.", param="alias")


def contains(ctx: Ctx, value_list: dict[str, Any], value: Any) -> bool:
    key = normalize(str(value_list["item_type"]), str(value))
    found = ctx.objects.page(
        "radar.value_list_item",
        filters={"value_list": value_list["id"], "lookup_key": key},
        limit=1,
    )
    return bool(found.data)


@routes.post("/v1/radar/value_lists", CREATE)
def create_value_list(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    alias = params["alias"]
    _check_alias(alias)
    _unique_alias(ctx, alias)
    value_list: dict[str, Any] = {
        "id": ids.new_id("radar.value_list"),
        "object": "radar.value_list",
        "alias": alias,
        "created": ctx.now,
        "created_by": _created_by(ctx),
        "item_type": params.get("item_type") or "string",
        "livemode": ctx.livemode,
        "metadata": apply_metadata({}, params.get("metadata") or {}),
        "name": params["name"],
        "_lookup_key": alias,
    }
    return ctx.objects.insert(value_list)


@routes.get("/v1/radar/value_lists/{value_list}")
def retrieve_value_list(ctx: Ctx, params: dict[str, Any], value_list: str) -> dict[str, Any]:
    return load(ctx, "radar.value_list", value_list, param="value_list")


@routes.post("/v1/radar/value_lists/{value_list}", UPDATE)
def update_value_list(ctx: Ctx, params: dict[str, Any], value_list: str) -> dict[str, Any]:
    current = load(ctx, "radar.value_list", value_list, param="value_list", for_update=True)
    if "alias" in params and params["alias"] != current["alias"]:
        _check_alias(params["alias"])
        _unique_alias(ctx, params["alias"], current["id"])
        _refuse_if_used(ctx, current, "renamed")
        current["alias"] = current["_lookup_key"] = params["alias"]
    if "name" in params:
        current["name"] = params["name"]
    if "metadata" in params:
        current["metadata"] = apply_metadata(current.get("metadata") or {}, params["metadata"])
    return ctx.objects.save(current)


@routes.delete("/v1/radar/value_lists/{value_list}")
def delete_value_list(ctx: Ctx, params: dict[str, Any], value_list: str) -> dict[str, Any]:
    current = load(ctx, "radar.value_list", value_list, param="value_list", for_update=True)
    _refuse_if_used(ctx, current, "deleted")
    ctx.objects.save({**current, "deleted": True}, deleted=True)
    return {"id": value_list, "object": "radar.value_list", "deleted": True}


def _refuse_if_used(ctx: Ctx, value_list: dict[str, Any], change: str) -> None:
    from billfold.resources.radar.rule_store import rules_using

    using = rules_using(ctx, str(value_list["alias"]))
    if using:
        raise InvalidRequestError(
            f"The value list @{value_list['alias']} cannot be {change} while rules use it "
            f"({', '.join(rule['id'] for rule in using)}). Remove those rules first.",
            param="value_list",
        )


@routes.get("/v1/radar/value_lists", LIST)
def list_value_lists(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("contains") is not None:
        return _lists_containing(ctx, params)
    return page(ctx, "radar.value_list", "/v1/radar/value_lists", params, {"lookup_key": params.get("alias")})


def _lists_containing(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Lists holding ``contains``: found through the items with that value (few, indexed)."""
    value = str(params["contains"])
    keys = {value.strip(), value.strip().casefold()}
    owners: dict[str, dict[str, Any]] = {}
    for key in keys:
        items = ctx.objects.page("radar.value_list_item", filters={"lookup_key": key}, limit=100)
        for item in items.data:
            owner = ctx.objects.get(item["value_list"], "radar.value_list")
            if owner is not None and normalize(owner["item_type"], value) == item["_lookup_key"]:
                if params.get("alias") in (None, owner["alias"]):
                    owners[owner["id"]] = owner
    ordered = sorted(owners.values(), key=lambda v: -int(v["created"]))
    return page_computed(ordered, params, "/v1/radar/value_lists")


def _render_list(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    items = ctx.objects.page("radar.value_list_item", filters={"value_list": data["id"]}, limit=10)
    url = f"/v1/radar/value_list_items?value_list={data['id']}"
    data["list_items"] = list_object(url, [_strip(item) for item in items.data], items.has_more)
    return data


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


# Items -----------------------------------------------------------------------------------------


@routes.post("/v1/radar/value_list_items", ITEM_CREATE)
def create_value_list_item(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    owner = load(ctx, "radar.value_list", params["value_list"], param="value_list")
    value = params["value"].strip()
    if not value:
        raise InvalidRequestError("A value list item's value cannot be empty.", param="value")
    _check_value(owner["item_type"], value)
    if contains(ctx, owner, value):
        raise ResourceExists(
            f"The value '{value}' is already in the value list {owner['id']}.", param="value"
        )
    item = {
        "id": ids.new_id("radar.value_list_item"),
        "object": "radar.value_list_item",
        "created": ctx.now,
        "created_by": _created_by(ctx),
        "livemode": ctx.livemode,
        "value": value,
        "value_list": owner["id"],
        "_lookup_key": normalize(owner["item_type"], value),
    }
    return ctx.objects.insert(item)


def _check_value(item_type: str, value: str) -> None:
    problems = {
        "country": len(value) != 2 or not value.isalpha(),
        "email": "@" not in value,
        "card_bin": not (value.isdigit() and 6 <= len(value) <= 8),
        "customer_id": not value.startswith("cus_"),
    }
    if problems.get(item_type):
        raise InvalidRequestError(
            f"Invalid value for a value list of item_type {item_type}: {value!r}.", param="value"
        )


@routes.get("/v1/radar/value_list_items/{item}")
def retrieve_value_list_item(ctx: Ctx, params: dict[str, Any], item: str) -> dict[str, Any]:
    return load(ctx, "radar.value_list_item", item, param="item")


@routes.delete("/v1/radar/value_list_items/{item}")
def delete_value_list_item(ctx: Ctx, params: dict[str, Any], item: str) -> dict[str, Any]:
    current = load(ctx, "radar.value_list_item", item, param="item", for_update=True)
    ctx.objects.save({**current, "deleted": True}, deleted=True)
    return {"id": item, "object": "radar.value_list_item", "deleted": True}


@routes.get("/v1/radar/value_list_items", ITEM_LIST)
def list_value_list_items(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    owner = load(ctx, "radar.value_list", params["value_list"], param="value_list")
    value = params.get("value")
    filters = {
        "value_list": owner["id"],
        "lookup_key": normalize(owner["item_type"], value) if value is not None else None,
    }
    url = "/v1/radar/value_list_items"
    return page(ctx, "radar.value_list_item", url, params, filters)


register("radar.value_list", render=_render_list)
register("radar.value_list_item")
