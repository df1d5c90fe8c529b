"""Account links: ``/v1/account_links``, a short-lived address of Billfold's onboarding page.

The link is kept privately among the platform's objects (object ``billfold.account_link``),
keyed by the random token in its URL. It works once, for ``LINK_SECONDS``; an expired or used
link sends the visitor to ``refresh_url``, as Stripe's do.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.wire.params import Dict, Spec, Str
from billfold.wire.router import Routes

routes = Routes("account_links")

LINK_SECONDS = 300
LINK_OBJECT = "billfold.account_link"
ONBOARDING_PATH = "/billfold/connect/onboarding/{token}"

CREATE: dict[str, Spec] = {
    "account": Str(required=True),
    "refresh_url": Str(required=True),
    "return_url": Str(required=True),
    "type": Str(required=True, enum=("account_onboarding", "account_update")),
    "collect": Str(enum=("currently_due", "eventually_due")),
    "collection_options": Dict(
        fields={
            "fields": Str(enum=("currently_due", "eventually_due")),
            "future_requirements": Str(enum=("include", "omit")),
        }
    ),
}


def _url(value: str, param: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequestError(f"Not a valid URL: {value}", param=param)
    return value


@routes.post("/v1/account_links", CREATE)
def create_account_link(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    account = ctx.objects.get(params["account"], "account")
    if account is None:
        raise InvalidRequestError(
            "You requested an account link for an account that is not connected to your "
            "platform or does not exist.",
            param="account",
        )
    if params["type"] == "account_update" and (account.get("controller") or {}).get(
        "requirement_collection"
    ) != "application":
        raise InvalidRequestError(
            "You cannot create `account_update` type Account Links for accounts where Stripe "
            "collects the requirements; use `account_onboarding`.",
            param="type",
        )
    token = ids.random_part(32)
    expires_at = ctx.now + LINK_SECONDS
    collect = params.get("collect") or (params.get("collection_options") or {}).get("fields")
    ctx.objects.insert(
        {
            "id": token,
            "object": LINK_OBJECT,
            "created": ctx.now,
            "account": account["id"],
            "expires_at": expires_at,
            "refresh_url": _url(params["refresh_url"], "refresh_url"),
            "return_url": _url(params["return_url"], "return_url"),
            "type": params["type"],
            "collect": collect or "currently_due",
            "used": False,
        }
    )
    return {
        "object": "account_link",
        "created": ctx.now,
        "expires_at": expires_at,
        "url": ctx.public_url + ONBOARDING_PATH.format(token=token),
    }
