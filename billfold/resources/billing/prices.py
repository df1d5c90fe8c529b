"""Prices: ``/v1/prices``. A price's amounts never change once created; only its labels do.

``tiers`` and ``currency_options`` are stored on the price but shown only when expanded, as
Stripe does. ``amount_for_quantity`` (from ``price_math``) prices a quantity for invoices.
"""

from __future__ import annotations

import copy
from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.events.record import diff
from billfold.resources.base import load, page
from billfold.resources.billing import price_build, price_params, products
from billfold.resources.billing.catalog import Where, no_such
from billfold.resources.billing.price_math import amount_for_quantity, exact_amount_for_quantity
from billfold.wire.params import apply_metadata
from billfold.wire.present import register
from billfold.wire.router import Routes
from billfold.wire.versions import at_least

__all__ = ["amount_for_quantity", "exact_amount_for_quantity", "insert", "routes"]

routes = Routes("prices")


def _lock_lookup_key(ctx: Ctx, key: str) -> None:
    """On PostgreSQL, concurrent requests claiming one lookup key take turns (SQLite already does)."""
    if ctx.tx.db.is_postgres:
        ctx.tx.one(
            "SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))",
            k=f"lookup_key:{ctx.scope.account}:{ctx.scope.livemode}:{key}",
        )


def claim_lookup_key(ctx: Ctx, key: str, transfer: bool, owner: str | None) -> None:
    """Make ``key`` free for ``owner``: refused if another price holds it (even an inactive one),
    unless ``transfer``, which takes it from the holder (its ``price.updated`` comes first)."""
    _lock_lookup_key(ctx, key)
    holders = ctx.objects.page("price", filters={"lookup_key": key}, limit=5).data
    for holder in holders:
        if holder["id"] == owner:
            continue
        if not transfer:
            raise InvalidRequestError(
                f"A price (`{holder['id']}`) already uses that lookup key.", param="lookup_key"
            )
        holder["lookup_key"] = None
        ctx.objects.save(holder)
        ctx.emit("price.updated", holder, {"lookup_key": key})


def insert(ctx: Ctx, price: dict[str, Any], transfer_lookup_key: bool = False) -> dict[str, Any]:
    """Store a built price and announce it, claiming its lookup key first."""
    if price.get("lookup_key") is not None:
        claim_lookup_key(ctx, price["lookup_key"], transfer_lookup_key, None)
    ctx.objects.insert(price)
    ctx.emit("price.created", price)
    return price


@routes.post("/v1/prices", price_params.CREATE)
def create_price(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    product_id: str | None = params.get("product")
    product_data: dict[str, Any] | None = params.get("product_data")
    if product_id is None and product_data is None:
        raise InvalidRequestError(
            "You must specify either `product` or `product_data` when creating a price."
        )
    if product_id is not None and product_data is not None:
        raise InvalidRequestError(
            "You may only specify one of these parameters: product, product_data.", param="product"
        )
    if product_id is not None:
        if ctx.objects.get(product_id, "product") is None:
            raise no_such("product", product_id, "product")
        price = price_build.build(ctx, params, product_id)
    else:
        assert product_data is not None
        product = products.build(ctx, product_data, at="product_data")
        price = price_build.build(ctx, params, product["id"])
        if price["lookup_key"] is not None:
            # A taken key refuses the price before its inline product is stored.
            claim_lookup_key(ctx, price["lookup_key"], bool(params.get("transfer_lookup_key")), None)
        products.insert(ctx, product)
    return insert(ctx, price, bool(params.get("transfer_lookup_key")))


@routes.get("/v1/prices/{price}")
def retrieve_price(ctx: Ctx, params: dict[str, Any], price: str) -> dict[str, Any]:
    return load(ctx, "price", price, param="price")


def _tax_behavior(current: dict[str, Any], value: str) -> None:
    fixed = current["tax_behavior"]
    if fixed in ("inclusive", "exclusive") and value != fixed:
        raise InvalidRequestError(
            f"The tax_behavior of a price cannot be changed once it is `{fixed}`.", param="tax_behavior"
        )
    current["tax_behavior"] = value


def _archive(ctx: Ctx, current: dict[str, Any]) -> None:
    product = ctx.objects.get(current["product"], "product")
    if product is not None and product.get("default_price") == current["id"]:
        raise InvalidRequestError(
            "This price cannot be archived because it is the default price of its product.",
            param="active",
        )
    current["active"] = False


@routes.post("/v1/prices/{price}", price_params.UPDATE)
def update_price(ctx: Ctx, params: dict[str, Any], price: str) -> dict[str, Any]:
    current = load(ctx, "price", price, param="price", for_update=True)
    before = copy.deepcopy(current)
    if "active" in params:
        if params["active"]:
            current["active"] = True
        elif current["active"]:
            _archive(ctx, current)
    if "nickname" in params:
        current["nickname"] = params["nickname"]
    if "metadata" in params:
        current["metadata"] = apply_metadata(current.get("metadata", {}), params["metadata"])
    if "tax_behavior" in params:
        _tax_behavior(current, params["tax_behavior"])
    if "currency_options" in params:
        # Each currency given replaces that currency's option; "" removes them all.
        options = params["currency_options"]
        if options:
            built = price_build.currency_options(options, current, "")
            current["currency_options"] = {**current.get("currency_options", {}), **built}
        else:
            current.pop("currency_options", None)
    if "lookup_key" in params:
        key = params["lookup_key"]
        if key is not None and key != current.get("lookup_key"):
            claim_lookup_key(ctx, key, bool(params.get("transfer_lookup_key")), current["id"])
        current["lookup_key"] = key
    previous = diff(before, current)
    if previous:
        ctx.objects.save(current)
        ctx.emit("price.updated", current, previous)
    return current


@routes.get("/v1/prices", price_params.LIST)
def list_prices(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if "product" in params and ctx.objects.get(params["product"], "product") is None:
        raise no_such("product", params["product"], "product")
    where = Where(ctx)
    if "lookup_keys" in params:
        where.column_in("lookup_key", params["lookup_keys"])
    if "active" in params:
        where.flag(params["active"], "active")
    if "currency" in params:
        where.equals(params["currency"], "currency")
    for name, value in (params.get("recurring") or {}).items():
        where.equals(value, "recurring", name)
    kinds = [params["type"]] if "type" in params else None
    return page(
        ctx, "price", "/v1/prices", params, {"product": params.get("product")}, kinds, where.build()
    )


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    data.pop("tiers", None)
    data.pop("currency_options", None)
    recurring = data.get("recurring")
    if isinstance(recurring, dict) and at_least(ctx.api_version, price_build.METERS_REQUIRED):
        data["recurring"] = {k: v for k, v in recurring.items() if k != "aggregate_usage"}
    return data


def _stored(ctx: Ctx, node: dict[str, Any]) -> dict[str, Any]:
    return ctx.objects.get(str(node["id"]), include_deleted=True) or {}


def tiers_of(ctx: Ctx, node: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A price's (or plan's) tiers, shown only when ``expand[]=tiers`` asks for them."""
    found: list[dict[str, Any]] | None = _stored(ctx, node).get("tiers")
    return found


def _currency_options(ctx: Ctx, node: dict[str, Any]) -> dict[str, Any]:
    stored = _stored(ctx, node)
    own: dict[str, Any] = {
        "custom_unit_amount": stored.get("custom_unit_amount"),
        "tax_behavior": stored.get("tax_behavior"),
        "unit_amount": stored.get("unit_amount"),
        "unit_amount_decimal": stored.get("unit_amount_decimal"),
    }
    if stored.get("billing_scheme") == "tiered":
        own["tiers"] = stored.get("tiers")
    return {str(stored.get("currency")): own, **(stored.get("currency_options") or {})}


register(
    "price",
    expandable=(
        "currency_options", "custom_unit_amount", "product", "recurring", "tiers", "transform_quantity",
    ),
    render=_render,
    includable={"tiers": tiers_of, "currency_options": _currency_options},
)
