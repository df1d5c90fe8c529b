"""Reviews: ``/v1/reviews``, payments a Review rule let through but flagged for a person.

A review opens (``review.opened``) when a Review rule matches a payment that succeeds, and
closes (``review.closed``) when approved, or when its charge is refunded (``refunded``, or
``refunded_as_fraud`` for a refund with reason ``fraudulent``), as Stripe's do.
"""

from __future__ import annotations

from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import ResourceMissing, StateConflict
from billfold.events.record import diff
from billfold.resources.base import list_params, page
from billfold.wire.present import register
from billfold.wire.router import Routes

routes = Routes("reviews")


def _load(ctx: Ctx, review_id: str, *, for_update: bool = False) -> dict[str, Any]:
    found = ctx.objects.get(review_id, "review", for_update=for_update)
    if found is None:
        raise ResourceMissing("review", review_id, param="review")
    return found


def open_review(ctx: Ctx, intent: dict[str, Any], charge: dict[str, Any], reason: str = "rule") -> dict[str, Any]:
    """Open a review of ``charge``; the charge and its PaymentIntent point at it."""
    billing = (charge.get("billing_details") or {}).get("address") or {}
    review = {
        "id": ids.new_id("review"),
        "object": "review",
        "billing_zip": billing.get("postal_code"),
        "charge": charge["id"],
        "closed_reason": None,
        "created": ctx.now,
        "ip_address": (intent.get("metadata") or {}).get("ip_address"),
        "ip_address_location": None,
        "livemode": ctx.livemode,
        "open": True,
        "opened_reason": reason,
        "payment_intent": intent["id"],
        "reason": reason,
        "session": None,
        "_status": "open",
    }
    ctx.objects.insert(review)
    charge["review"] = review["id"]
    intent["review"] = review["id"]
    ctx.emit("review.opened", review)
    return review


def close(ctx: Ctx, review: dict[str, Any], reason: str) -> dict[str, Any]:
    before = dict(review)
    review.update(open=False, closed_reason=reason, reason=reason, _status="closed")
    ctx.objects.save(review)
    ctx.emit("review.closed", review, diff(before, review))
    return review


def close_for_refund(ctx: Ctx, charge: dict[str, Any], refund_reason: str | None) -> None:
    """A refund closes its charge's open review (Stripe: ``refunded`` / ``refunded_as_fraud``)."""
    review_id = charge.get("review")
    if not review_id:
        return
    review = ctx.objects.get(str(review_id), "review", for_update=True)
    if review is not None and review.get("open"):
        close(ctx, review, "refunded_as_fraud" if refund_reason == "fraudulent" else "refunded")


@routes.get("/v1/reviews/{review}")
def retrieve_review(ctx: Ctx, params: dict[str, Any], review: str) -> dict[str, Any]:
    return _load(ctx, review)


@routes.get("/v1/reviews", list_params())
def list_reviews(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    # Stripe lists the reviews that are still open.
    return page(ctx, "review", "/v1/reviews", params, {"status": "open"})


@routes.post("/v1/reviews/{review}/approve")
def approve_review(ctx: Ctx, params: dict[str, Any], review: str) -> dict[str, Any]:
    current = _load(ctx, review, for_update=True)
    if not current.get("open"):
        raise StateConflict(
            f"This review ({review}) is already closed ({current.get('closed_reason')}); only "
            "an open review can be approved.",
            param="review",
        )
    return close(ctx, current, "approved")


register("review", expandable=("charge", "payment_intent"))
