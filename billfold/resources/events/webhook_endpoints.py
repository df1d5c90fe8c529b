"""Webhook endpoints: ``/v1/webhook_endpoints``, where events are sent and how they are signed.

The signing secret is kept privately on the stored object (``_secret``) and shown only in the
create response, as Stripe does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.events import deliveries
from billfold.events.types import ENABLED_EVENTS
from billfold.resources.base import load, page
from billfold.wire import versions
from billfold.wire.params import LIST_PARAMS, Bool, List, Metadata, Spec, Str, apply_metadata
from billfold.wire.present import register
from billfold.wire.router import Routes

routes = Routes("webhook_endpoints")



def _enabled_events(required: bool = False) -> List:
    return List(item=Str(enum=ENABLED_EVENTS), required=required, max_items=len(ENABLED_EVENTS))


CREATE: dict[str, Spec] = {
    "url": Str(required=True),
    "enabled_events": _enabled_events(required=True),
    "api_version": Str(max_length=100),
    "connect": Bool(),
    "description": Str(emptyable=True),
    "metadata": Metadata(),
}
UPDATE: dict[str, Spec] = {
    "url": Str(),
    "enabled_events": _enabled_events(),
    "description": Str(emptyable=True),
    "disabled": Bool(),
    "metadata": Metadata(),
}


def _url(value: str) -> str:
    parts = urlsplit(value.strip())
    if not parts.scheme:
        raise InvalidRequestError(
            "Invalid URL: An explicit scheme (such as https) must be provided.", param="url"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequestError(f"Invalid URL: {value}", param="url")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise InvalidRequestError(f"Invalid URL: {value}", param="url") from exc
    return value.strip()


def _api_version(value: str) -> str:
    try:
        return versions.validate(value)
    except InvalidRequestError as exc:
        raise InvalidRequestError(exc.message, param="api_version") from exc


def _events(value: list[str]) -> list[str]:
    if not value:
        raise InvalidRequestError(
            "Invalid enabled_events: must contain at least one event type", param="enabled_events"
        )
    return list(dict.fromkeys(value))


@routes.post("/v1/webhook_endpoints", CREATE)
def create_webhook_endpoint(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    secret = ids.new_id("webhook_secret", 32)
    endpoint: dict[str, Any] = {
        "id": ids.new_id("webhook_endpoint"),
        "object": "webhook_endpoint",
        "api_version": _api_version(params["api_version"]) if "api_version" in params else None,
        "application": None,
        "created": ctx.now,
        "description": params.get("description"),
        "enabled_events": _events(params["enabled_events"]),
        "livemode": ctx.livemode,
        "metadata": apply_metadata({}, params.get("metadata") or {}),
        "status": "enabled",
        "url": _url(params["url"]),
        "_secret": secret,
        "_connect": bool(params.get("connect", False)),
    }
    ctx.objects.insert(endpoint)
    return {**endpoint, "secret": secret}


@routes.get("/v1/webhook_endpoints/{webhook_endpoint}")
def retrieve_webhook_endpoint(ctx: Ctx, params: dict[str, Any], webhook_endpoint: str) -> dict[str, Any]:
    return load(ctx, "webhook_endpoint", webhook_endpoint)


@routes.post("/v1/webhook_endpoints/{webhook_endpoint}", UPDATE)
def update_webhook_endpoint(ctx: Ctx, params: dict[str, Any], webhook_endpoint: str) -> dict[str, Any]:
    endpoint = load(ctx, "webhook_endpoint", webhook_endpoint, for_update=True)
    if "url" in params:
        endpoint["url"] = _url(params["url"])
    wanted_before = (endpoint.get("status"), endpoint.get("enabled_events"))
    if "enabled_events" in params:
        endpoint["enabled_events"] = _events(params["enabled_events"])
    if "description" in params:
        endpoint["description"] = params["description"]
    if "metadata" in params:
        endpoint["metadata"] = apply_metadata(endpoint.get("metadata", {}), params["metadata"])
    if "disabled" in params:
        endpoint["status"] = "disabled" if params["disabled"] else "enabled"
        if params["disabled"]:
            # A disabled endpoint is sent nothing, including retries already scheduled.
            deliveries.cancel_for_endpoint(ctx.tx, endpoint["id"], float(ctx.now))
    if (endpoint.get("status"), endpoint.get("enabled_events")) != wanted_before:
        # Events up to now were chosen by the old settings; `billfold check` must not expect
        # deliveries of them by the new ones.
        endpoint["_subscribed_since"] = ctx.now
    ctx.objects.save(endpoint)
    return endpoint


@routes.delete("/v1/webhook_endpoints/{webhook_endpoint}")
def delete_webhook_endpoint(ctx: Ctx, params: dict[str, Any], webhook_endpoint: str) -> dict[str, Any]:
    endpoint = load(ctx, "webhook_endpoint", webhook_endpoint, for_update=True)
    ctx.objects.save({**endpoint, "deleted": True}, deleted=True)
    deliveries.cancel_for_endpoint(ctx.tx, endpoint["id"], float(ctx.now))
    return {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}


@routes.get("/v1/webhook_endpoints", LIST_PARAMS)
def list_webhook_endpoints(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return page(ctx, "webhook_endpoint", "/v1/webhook_endpoints", params)


register("webhook_endpoint")
