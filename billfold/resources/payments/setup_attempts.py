"""SetupAttempts: one per SetupIntent confirmation, and how an attempt ends (the card
verification's outcome); listed by ``GET /v1/setup_attempts``.

A SetupIntent keeps its attempts' ids (newest last, privately), so the list for one
SetupIntent is read by id rather than by scanning attempts.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import CardError, ResourceMissing, StripeError
from billfold.resources.base import load
from billfold.resources.payments import payment_methods as pms
from billfold.wire.params import CREATED, LIST_PARAMS, Spec, Str
from billfold.wire.present import list_object, register, render
from billfold.wire.router import Routes

routes = Routes("setup_intents")

LIST: dict[str, Spec] = {**LIST_PARAMS, "created": CREATED, "setup_intent": Str(required=True)}
AUTHENTICATION_FAILED = (
    "The latest attempt to set up the payment method has failed because authentication failed."
)
DOC_BASE = "https://stripe.com/docs/error-codes/"


def _card_details(method: dict[str, Any], three_d_secure: dict[str, Any] | None) -> dict[str, Any]:
    card = method["card"]
    return {
        "brand": card["brand"],
        "checks": dict(card["checks"]),
        "country": card["country"],
        "exp_month": card["exp_month"],
        "exp_year": card["exp_year"],
        "fingerprint": card["fingerprint"],
        "funding": card["funding"],
        "last4": card["last4"],
        "network": card["networks"]["preferred"] or card["brand"],
        "three_d_secure": three_d_secure,
        "wallet": None,
    }


def three_d_secure(result: str) -> dict[str, Any]:
    """The outcome of a 3D Secure challenge, as a SetupAttempt reports it."""
    return {
        "authentication_flow": "challenge",
        "electronic_commerce_indicator": "05" if result == "authenticated" else None,
        "result": result,
        "result_reason": None if result == "authenticated" else "rejected",
        "transaction_id": str(uuid.uuid4()),
        "version": "2.2.0",
    }


def record(ctx: Ctx, intent: dict[str, Any], method: dict[str, Any], status: str) -> dict[str, Any]:
    """A new attempt for ``intent``'s confirmation with ``method``; it becomes latest_attempt."""
    kind = method["type"]
    type_details: dict[str, Any] = {}
    if kind == "card":
        type_details = _card_details(method, None)
    attempt: dict[str, Any] = {
        "id": ids.new_id("setup_attempt"),
        "object": "setup_attempt",
        "application": None,
        "created": ctx.now,
        "customer": intent.get("customer"),
        "customer_account": None,
        "flow_directions": intent.get("flow_directions"),
        "livemode": ctx.livemode,
        "on_behalf_of": intent.get("on_behalf_of"),
        "payment_method": method["id"],
        "payment_method_details": {kind: type_details, "type": kind},
        "setup_error": None,
        "setup_intent": intent["id"],
        "status": status,
        "usage": intent["usage"],
    }
    ctx.objects.insert(attempt)
    intent["latest_attempt"] = attempt["id"]
    intent["_attempts"] = [*intent.get("_attempts", []), attempt["id"]]
    return attempt


def finish(
    ctx: Ctx,
    intent: dict[str, Any],
    status: str,
    *,
    error: dict[str, Any] | None = None,
    authentication: str | None = None,
) -> None:
    """Settle the intent's latest attempt: ``succeeded`` or ``failed`` (with its error)."""
    attempt_id = intent.get("latest_attempt")
    attempt = ctx.objects.get(attempt_id, "setup_attempt") if attempt_id else None
    if attempt is None:
        return
    attempt["status"] = status
    attempt["setup_error"] = error
    card = attempt["payment_method_details"].get("card")
    if authentication is not None and card is not None:
        card["three_d_secure"] = three_d_secure(authentication)
    ctx.objects.save(attempt)


def _public(ctx: Ctx, obj: dict[str, Any]) -> dict[str, Any]:
    return render(ctx, copy.deepcopy(obj))


def _fail(
    ctx: Ctx,
    intent: dict[str, Any],
    method: dict[str, Any],
    error: dict[str, Any],
    authentication: str | None,
) -> None:
    error = {k: v for k, v in error.items() if v is not None}
    error["doc_url"] = DOC_BASE + error["code"].replace("_", "-")
    error["payment_method"] = _public(ctx, method)
    error["payment_method_type"] = method["type"]
    finish(ctx, intent, "failed", error=error, authentication=authentication)
    intent["status"] = "requires_payment_method"
    intent["payment_method"] = None
    intent["next_action"] = None
    intent["last_setup_error"] = error
    ctx.objects.save(intent)
    ctx.emit("setup_intent.setup_failed", intent)


def complete(
    ctx: Ctx, intent: dict[str, Any], method: dict[str, Any], *, authentication: str | None
) -> StripeError | None:
    """Run the card verification: succeed (saving the method to the intent's customer) or fail
    with the card's decline, returning the card error the API answers with."""
    card = pms.test_card(method)
    if card.attach_fails:
        code, decline_code, message = pms.decline_error(card)
        error = {"code": code, "decline_code": decline_code, "message": message, "type": "card_error"}
        _fail(ctx, intent, method, error, authentication)
        return CardError(
            message,
            code=code,
            decline_code=decline_code,
            payment_method=_public(ctx, method),
            setup_intent=_public(ctx, intent),
        )
    if intent.get("customer") and method.get("customer") != intent["customer"]:
        method = pms.attach(ctx, method["id"], intent["customer"], param="payment_method")
    if intent["usage"] == "off_session":
        # Read by PaymentIntents: a "required_unless_setup" card no longer challenges off-session.
        method["_setup_for_off_session"] = True
        ctx.objects.save(method)
    finish(ctx, intent, "succeeded", authentication=authentication)
    intent["status"] = "succeeded"
    intent["next_action"] = None
    ctx.objects.save(intent)
    ctx.emit("setup_intent.succeeded", intent)
    return None


def fail_authentication(ctx: Ctx, intent: dict[str, Any], method: dict[str, Any]) -> None:
    error = {
        "code": "setup_intent_authentication_failure",
        "message": AUTHENTICATION_FAILED,
        "type": "invalid_request_error",
    }
    _fail(ctx, intent, method, error, "failed")


@routes.get("/v1/setup_attempts", LIST)
def list_setup_attempts(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    intent = load(ctx, "setup_intent", params["setup_intent"], param="setup_intent")
    newest_first: list[str] = list(reversed(intent.get("_attempts", [])))
    limit = params.get("limit") or 10
    start, stop = 0, len(newest_first)
    for name in ("starting_after", "ending_before"):
        cursor = params.get(name)
        if cursor is not None and cursor not in newest_first:
            raise ResourceMissing("setup_attempt", cursor, param=name)
    if params.get("starting_after"):
        start = newest_first.index(params["starting_after"]) + 1
    elif params.get("ending_before"):
        stop = newest_first.index(params["ending_before"])
        start = max(stop - limit, 0)
    window = [a for a in (ctx.objects.get(i, "setup_attempt") for i in newest_first[start:stop]) if a]
    created = params.get("created")
    if isinstance(created, int):
        window = [a for a in window if a["created"] == created]
    elif isinstance(created, dict):
        checks = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
        window = [
            a for a in window if all(checks[op](a["created"], bound) for op, bound in created.items())
        ]
    if params.get("ending_before"):
        return list_object("/v1/setup_attempts", window[-limit:], start > 0)
    return list_object("/v1/setup_attempts", window[:limit], len(window) > limit)


register("setup_attempt", expandable=("application", "customer", "on_behalf_of", "payment_method", "setup_intent"))
