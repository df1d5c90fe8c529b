"""Turning stored objects into responses: per-type renderers and ``expand[]``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from billfold.errors import InvalidRequestError

if TYPE_CHECKING:
    from billfold.context import Ctx

Renderer = Callable[["Ctx", dict[str, Any]], dict[str, Any]]

MAX_EXPAND_DEPTH = 4


# Builds a field that is left out unless expanded (Stripe's "includable" fields, e.g. charge.refunds).
Includer = Callable[["Ctx", dict[str, Any]], Any]


@dataclass(frozen=True)
class ObjectType:
    name: str
    expandable: frozenset[str]
    render: Renderer | None = None
    includable: Mapping[str, Includer] = dataclasses.field(default_factory=dict)


OBJECT_TYPES: dict[str, ObjectType] = {}


def register(
    name: str,
    expandable: Iterable[str] = (),
    render: Renderer | None = None,
    includable: Mapping[str, Includer] | None = None,
) -> None:
    """Declare a Stripe object type: which of its fields expand, and how it renders."""
    OBJECT_TYPES[name] = ObjectType(name, frozenset(expandable), render, dict(includable or {}))


def render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    # A deleted object shows only its id, unless it asks to be shown whole (``_full``).
    if data.get("deleted") is True and not data.get("_full"):
        return {"id": data["id"], "object": data["object"], "deleted": True}
    # Keys starting with "_" are Billfold's private bookkeeping, never shown.
    for private in [key for key in data if key.startswith("_")]:
        del data[private]
    kind = OBJECT_TYPES.get(str(data.get("object")))
    if kind is not None and kind.render is not None:
        return kind.render(ctx, data)
    return data


def present(ctx: Ctx, result: dict[str, Any], expand: list[str] | None) -> dict[str, Any]:
    if result.get("object") == "list" or result.get("object") == "search_result":
        result["data"] = [render(ctx, item) for item in result["data"]]
    else:
        result = render(ctx, result)
    for path in expand or ():
        parts = path.split(".")
        if len(parts) > MAX_EXPAND_DEPTH:
            raise InvalidRequestError(
                f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. "
                f"Property: {path}",
                param="expand",
            )
        _expand(ctx, result, parts, path)
    return result


def _expand(ctx: Ctx, node: dict[str, Any], parts: list[str], path: str) -> None:
    if node.get("object") in ("list", "search_result"):
        if parts[0] != "data":
            raise InvalidRequestError(
                f"This property cannot be expanded ({parts[0]}). You may want to try expanding "
                f"'data.{parts[0]}' instead.",
                param="expand",
            )
        for item in node.get("data", []):
            if len(parts) > 1:
                _expand(ctx, item, parts[1:], path)
        return
    field = parts[0]
    kind = OBJECT_TYPES.get(str(node.get("object")))
    # Plain nested hashes (e.g. ``invoice_settings``) were allowed by their parent's declaration.
    if "object" in node and (kind is None or field not in kind.expandable):
        raise InvalidRequestError(f"This property cannot be expanded ({field}).", param="expand")
    value = node.get(field)
    if value is None and kind is not None and field in kind.includable:
        value = node[field] = kind.includable[field](ctx, node)
    if isinstance(value, str):
        target = ctx.objects.get(value, include_deleted=True)
        if target is not None:
            value = render(ctx, target)
            node[field] = value
    if isinstance(value, dict) and len(parts) > 1:
        _expand(ctx, value, parts[1:], path)
    if isinstance(value, list):
        # A list of ids (e.g. ``discounts``) expands each id it holds.
        node[field] = [_expand_entry(ctx, entry, parts[1:], path) for entry in value]


def _expand_entry(ctx: Ctx, entry: Any, rest: list[str], path: str) -> Any:
    if isinstance(entry, str):
        target = ctx.objects.get(entry, include_deleted=True)
        if target is not None:
            entry = render(ctx, target)
    if isinstance(entry, dict) and rest:
        _expand(ctx, entry, rest, path)
    return entry


def list_object(url: str, data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
