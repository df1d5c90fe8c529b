"""3D Secure for PaymentIntents and SetupIntents: the ``next_action`` that sends a person to
Billfold's challenge page (``billfold/web/three_d_secure.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from billfold.context import Ctx

CHALLENGE_PATH = "/billfold/3ds/{intent}"


def challenge_url(ctx: Ctx, intent: dict[str, Any]) -> str:
    query = urlencode({"client_secret": intent["client_secret"]})
    return ctx.public_url + CHALLENGE_PATH.format(intent=intent["id"]) + "?" + query


def next_action(ctx: Ctx, intent: dict[str, Any], return_url: str | None) -> dict[str, Any]:
    """Stripe's shape: a redirect when the integration gave a return_url, otherwise a
    ``use_stripe_sdk`` action that Stripe.js (or Billfold's /v3 script) opens in place."""
    url = challenge_url(ctx, intent)
    if return_url:
        return {"type": "redirect_to_url", "redirect_to_url": {"return_url": return_url, "url": url}}
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": url, "source": intent["id"]},
    }
