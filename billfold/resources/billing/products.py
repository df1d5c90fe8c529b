"""Products: ``/v1/products``, what a business sells; prices say how much and how often."""

from __future__ import annotations

import copy
import re
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.events.record import diff
from billfold.resources.base import list_params, load, page
from billfold.resources.billing import price_build, price_params
from billfold.resources.billing.catalog import Number, Where, no_such
from billfold.wire.params import Bool, Dict, List, Metadata, Spec, Str, apply_metadata
from billfold.wire.present import register
from billfold.wire.router import Routes
from billfold.wire.versions import at_least

routes = Routes("products")

# ``features`` became ``marketing_features`` in this version.
MARKETING_FEATURES_SINCE = "2024-04-10"

PACKAGE_DIMENSIONS = Dict(
    fields={name: Number(required=True) for name in ("height", "length", "weight", "width")}
)
MARKETING_FEATURE = Dict(fields={"name": Str(required=True, max_length=80)})
FIELDS: dict[str, Spec] = {
    "active": Bool(),
    "metadata": Metadata(),
    "shippable": Bool(),
}
CREATE: dict[str, Spec] = {
    **FIELDS,
    "default_price_data": price_params.DEFAULT_PRICE_DATA,
    "description": Str(max_length=40000),
    "id": Str(max_length=255),
    "images": List(item=Str(max_length=2048), max_items=8),
    "marketing_features": List(item=MARKETING_FEATURE, max_items=15),
    "name": Str(required=True),
    "package_dimensions": PACKAGE_DIMENSIONS,
    "statement_descriptor": Str(max_length=22),
    "tax_code": Str(),
    "type": Str(enum=("good", "service")),
    "unit_label": Str(max_length=12),
    "url": Str(max_length=2048),
}
UPDATE: dict[str, Spec] = {
    **FIELDS,
    "default_price": Str(),
    "description": Str(max_length=40000, emptyable=True),
    "images": List(item=Str(max_length=2048), max_items=8, emptyable=True),
    "marketing_features": List(item=MARKETING_FEATURE, max_items=15, emptyable=True),
    "name": Str(),
    "package_dimensions": Dict(fields=PACKAGE_DIMENSIONS.fields, emptyable=True),
    "statement_descriptor": Str(max_length=22, emptyable=True),
    "tax_code": Str(emptyable=True),
    "unit_label": Str(max_length=12, emptyable=True),
    "url": Str(max_length=2048, emptyable=True),
}
LIST = list_params(
    active=Bool(),
    ids=List(item=Str()),
    shippable=Bool(),
    type=Str(enum=("good", "service")),
    url=Str(max_length=2048),
)

_DESCRIPTOR_FORBIDDEN = re.compile(r"[<>\\\"']")


def _check_descriptor(value: str, name: str) -> None:
    if _DESCRIPTOR_FORBIDDEN.search(value) or not re.search(r"[A-Za-z]", value):
        raise InvalidRequestError(
            "The statement descriptor must contain at least one letter and may not contain any of "
            "these characters: < > \\ \" '.",
            param=name,
        )


def _apply(product: dict[str, Any], params: dict[str, Any], at: str) -> None:
    """The fields create and update share (``at`` prefixes error params, e.g. ``product_data``)."""
    for name in ("active", "description", "name", "shippable", "tax_code", "unit_label", "url"):
        if name in params:
            product[name] = params[name]
    if params.get("statement_descriptor"):
        _check_descriptor(params["statement_descriptor"], price_build.param(at, "statement_descriptor"))
    if "statement_descriptor" in params:
        product["statement_descriptor"] = params["statement_descriptor"]
    if "images" in params:
        product["images"] = params["images"] or []
    if "marketing_features" in params:
        product["marketing_features"] = [{"name": f["name"]} for f in params["marketing_features"] or []]
    if "package_dimensions" in params:
        product["package_dimensions"] = params["package_dimensions"]
    if "metadata" in params:
        product["metadata"] = apply_metadata(product.get("metadata", {}), params["metadata"])


def _check_id(ctx: Ctx, product_id: str, name: str) -> None:
    if not product_id.strip():
        raise InvalidRequestError("Invalid id: an id may not be empty.", param=name)
    # Ids are unique across the whole store, so a taken id is refused whoever holds it.
    if ctx.tx.one("SELECT 1 AS taken FROM objects WHERE id = :id", id=product_id) is not None:
        raise InvalidRequestError(
            "Product already exists.", param=name, code="resource_already_exists"
        )


def build(ctx: Ctx, params: dict[str, Any], at: str = "") -> dict[str, Any]:
    """A new product document (not yet stored), from create's or ``product_data``'s parameters."""
    if "id" in params:
        _check_id(ctx, params["id"], price_build.param(at, "id") if at else "id")
    product: dict[str, Any] = {
        "id": params.get("id") or ids.new_id("product", 14),
        "object": "product",
        "active": True,
        "created": ctx.now,
        "default_price": None,
        "description": None,
        "images": [],
        "livemode": ctx.livemode,
        "marketing_features": [],
        "metadata": {},
        "name": params["name"],
        "package_dimensions": None,
        "shippable": None,
        "statement_descriptor": None,
        "tax_code": None,
        "type": params.get("type") or "service",
        "unit_label": None,
        "updated": ctx.now,
        "url": None,
    }
    _apply(product, params, at)
    return product


def insert(ctx: Ctx, product: dict[str, Any]) -> dict[str, Any]:
    ctx.objects.insert(product)
    ctx.emit("product.created", product)
    return product


@routes.post("/v1/products", CREATE)
def create_product(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    from billfold.resources.billing import prices

    product = build(ctx, params)
    price: dict[str, Any] | None = None
    if "default_price_data" in params:
        price = price_build.build(ctx, params["default_price_data"], product["id"], at="default_price_data")
        product["default_price"] = price["id"]
    insert(ctx, product)
    if price is not None:
        prices.insert(ctx, price)
    return product


@routes.get("/v1/products/{id}")
def retrieve_product(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    return load(ctx, "product", id)


def _default_price(ctx: Ctx, product: dict[str, Any], price_id: str) -> None:
    price = ctx.objects.get(price_id, "price")
    if price is None:
        raise no_such("price", price_id, "default_price")
    if price["product"] != product["id"]:
        raise InvalidRequestError(
            f"The price `{price_id}` belongs to product `{price['product']}`, not to "
            f"`{product['id']}`: a product's default price must be one of its own prices.",
            param="default_price",
        )
    if not price["active"]:
        raise InvalidRequestError(
            f"The price `{price_id}` is archived (active=false) and cannot be a product's default price.",
            param="default_price",
        )
    product["default_price"] = price_id


@routes.post("/v1/products/{id}", UPDATE)
def update_product(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    current = load(ctx, "product", id, for_update=True)
    before = copy.deepcopy(current)
    if "name" in params and not params["name"].strip():
        raise InvalidRequestError("You must provide a name for the product.", param="name")
    _apply(current, params, "")
    if "default_price" in params:
        _default_price(ctx, current, params["default_price"])
    previous = diff(before, current)
    if previous:
        current["updated"] = ctx.now
        previous = diff(before, current)
        ctx.objects.save(current)
        ctx.emit("product.updated", current, previous)
    return current


@routes.delete("/v1/products/{id}")
def delete_product(ctx: Ctx, params: dict[str, Any], id: str) -> dict[str, Any]:
    current = load(ctx, "product", id, for_update=True)
    if ctx.objects.page("price", filters={"product": id}, limit=1).data:
        raise InvalidRequestError(
            "This product cannot be deleted because it has one or more user-created prices."
        )
    ctx.objects.save({**current, "deleted": True}, deleted=True)
    ctx.emit("product.deleted", current)
    return {"id": id, "object": "product", "deleted": True}


@routes.get("/v1/products", LIST)
def list_products(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    where = Where(ctx)
    if "ids" in params:
        where.column_in("id", params["ids"])
    for name in ("active", "shippable"):
        if name in params:
            where.flag(params[name], name)
    if "url" in params:
        where.equals(params["url"], "url")
    kinds = [params["type"]] if "type" in params else None
    return page(ctx, "product", "/v1/products", params, kinds=kinds, where=where.build())


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    if not at_least(ctx.api_version, MARKETING_FEATURES_SINCE) and "marketing_features" in data:
        data["features"] = data.pop("marketing_features")
    return data


register(
    "product",
    expandable=("default_price", "marketing_features", "package_dimensions", "tax_code"),
    render=_render,
)
