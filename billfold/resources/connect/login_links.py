"""Login links: ``/v1/accounts/{account}/login_links``, for Express accounts only.

The URL opens Billfold's stand-in for the Express Dashboard (``billfold.web.onboarding``).
"""

from __future__ import annotations

from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.resources.connect.scope import load_account
from billfold.wire.router import Routes

routes = Routes("accounts")

LOGIN_OBJECT = "billfold.login_link"
LOGIN_SECONDS = 300
EXPRESS_PATH = "/billfold/connect/express/{token}"


@routes.post("/v1/accounts/{account}/login_links")
def create_login_link(ctx: Ctx, params: dict[str, Any], account: str) -> dict[str, Any]:
    doc = load_account(ctx, account)
    if doc.get("type") != "express":
        raise InvalidRequestError(
            f"Cannot create a login link for the account {account}, which is not an Express account.",
            param="account",
        )
    if not doc.get("details_submitted"):
        raise InvalidRequestError(
            f"Cannot create a login link for the account {account}, which has not completed "
            "onboarding.",
            param="account",
        )
    token = ids.random_part(32)
    ctx.objects.insert(
        {
            "id": token,
            "object": LOGIN_OBJECT,
            "created": ctx.now,
            "account": account,
            "expires_at": ctx.now + LOGIN_SECONDS,
        }
    )
    return {
        "object": "login_link",
        "created": ctx.now,
        "url": ctx.public_url + EXPRESS_PATH.format(token=token),
    }
