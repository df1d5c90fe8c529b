"""A PaymentIntent's payment attempt: 3D Secure, declines and charges.

``confirm`` runs the card's test behaviour (``payment_methods.test_card``): it may ask for
3D Secure (``requires_action``, finished later by the challenge page through
:func:`finish_authentication`), decline (a failed charge, ``requires_payment_method`` and a
402 whose state change is kept) or succeed (a charge, captured now or later).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from billfold.context import Ctx
from billfold.errors import CardError, InvalidRequestError, StateConflict
from billfold.resources.base import load
from billfold.resources.connect import destination_charges
from billfold.resources.payments import authentication, bank_payments, charges
from billfold.resources.payments import payment_methods as pms
from billfold.resources.payments.test_cards import TestCard
from billfold.resources.radar import evaluate as radar
from billfold.wire.present import render

UNFINISHED = ("requires_payment_method", "requires_confirmation", "requires_action")
DOC_BASE = "https://stripe.com/docs/error-codes/"
AUTHENTICATION_FAILURE = (
    "The provided PaymentMethod has failed authentication. You can provide payment_method_data "
    "or a new PaymentMethod to attempt to fulfill this PaymentIntent again."
)
AUTHENTICATION_REQUIRED = "Your card was declined. This transaction requires authentication."
LIVE_MODE_TEST_CARD = (
    "Your card was declined. Your request was in live mode, but used a known test card."
)
# Electronic commerce indicators of a fully authenticated 3D Secure payment, by network.
_ECI = {"mastercard": "02"}


@dataclass
class Failure:
    """A payment attempt that did not go through, as the 402 response describes it."""

    message: str
    code: str
    decline_code: str | None
    charge: str | None


def public(ctx: Ctx, obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` as the API shows it (private fields dropped), leaving the stored one intact."""
    return render(ctx, copy.deepcopy(obj))


def unexpected_state(message: str, param: str | None = None) -> StateConflict:
    return StateConflict(message, code="payment_intent_unexpected_state", param=param)


def card_options(intent: dict[str, Any]) -> dict[str, Any]:
    return dict((intent.get("payment_method_options") or {}).get("card") or {})


def _manual_capture(intent: dict[str, Any]) -> bool:
    return intent["capture_method"] == "manual" or card_options(intent).get("capture_method") == "manual"


def _future_usage(intent: dict[str, Any]) -> str | None:
    usage = card_options(intent).get("setup_future_usage") or intent.get("setup_future_usage")
    return None if usage in (None, "none") else str(usage)


def check_payment_method(ctx: Ctx, intent: dict[str, Any], method: dict[str, Any]) -> None:
    """Refuse a PaymentMethod this PaymentIntent may not use."""
    if method["type"] not in intent["payment_method_types"]:
        allowed = ", ".join(intent["payment_method_types"])
        raise InvalidRequestError(
            f"The PaymentMethod provided ({method['type']}) is not allowed for this PaymentIntent. "
            f"Please attach a PaymentMethod of one of the following types: {allowed}. "
            "Alternatively update the allowed payment_method_types for this PaymentIntent to "
            f'include "{method["type"]}".',
            param="payment_method",
        )
    owner = method.get("customer")
    if owner is not None and owner != intent.get("customer"):
        if intent.get("customer") is None:
            raise InvalidRequestError(
                f"The provided PaymentMethod belongs to a Customer ({owner}), but this "
                "PaymentIntent has no Customer. Pass customer with the PaymentMethod's Customer "
                "ID, or use a PaymentMethod that does not belong to a Customer.",
                param="payment_method",
            )
        raise InvalidRequestError(
            "The provided PaymentMethod is attached to another Customer. Use a PaymentMethod "
            "attached to this PaymentIntent's customer, or one not attached to any Customer.",
            param="payment_method",
        )
    if owner is None and (method.get("_detached") or method.get("_consumed")):
        raise StateConflict(pms.REUSED, param="payment_method", code="payment_method_unexpected_state")


def take_payment_method(ctx: Ctx, intent: dict[str, Any], params: dict[str, Any]) -> bool:
    """Set ``payment_method`` from an id, a test id or ``payment_method_data``; True if set."""
    if "payment_method" in params and "payment_method_data" in params:
        raise InvalidRequestError(
            "You may only specify one of these parameters: payment_method, payment_method_data.",
            param="payment_method_data",
        )
    if params.get("payment_method"):
        method = pms.resolve(ctx, params["payment_method"], param="payment_method")
    elif "payment_method_data" in params:
        method = pms.create_from_data(ctx, params["payment_method_data"], param="payment_method_data")
    else:
        return False
    check_payment_method(ctx, intent, method)
    intent["payment_method"] = method["id"]
    intent["next_action"] = None
    # A new payment method has not been through 3D Secure yet.
    intent.pop("_authenticated", None)
    intent.pop("_three_d_secure", None)
    return True


def confirm(ctx: Ctx, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Attempt the payment (``params`` already applied); a decline raises a state-keeping 402."""
    if not intent.get("payment_method"):
        customer = intent.get("customer")
        detail = (
            f"To confirm the PaymentIntent with {customer}, specify a payment method attached to "
            "this customer along with the customer ID."
            if customer
            else "You can either update the PaymentIntent with a payment method and then confirm "
            "it again, or confirm it again directly with a payment method."
        )
        raise unexpected_state(
            f"You cannot confirm this PaymentIntent because it's missing a payment method. {detail}"
        )
    method = load(ctx, "payment_method", intent["payment_method"], param="payment_method")
    check_payment_method(ctx, intent, method)
    intent["_off_session"] = params.get("off_session") not in (None, False)
    intent["_error_on_requires_action"] = bool(params.get("error_on_requires_action"))
    failure = attempt(ctx, intent, method, params.get("return_url"))
    if failure is not None:
        raise CardError(
            failure.message,
            code=failure.code,
            decline_code=failure.decline_code,
            charge=failure.charge,
            payment_intent=public(ctx, intent),
            payment_method=public(ctx, method),
        )
    return intent


def needs_authentication(intent: dict[str, Any], method: dict[str, Any], card: TestCard) -> bool:
    behaviour = card.three_d_secure
    off_session = bool(intent.get("_off_session"))
    if behaviour == "required":
        return True
    if behaviour == "required_unless_setup":
        return not (off_session and method.get("_setup_for_off_session"))
    if behaviour == "required_on_session":
        return not off_session
    if off_session:
        return False
    requested = card_options(intent).get("request_three_d_secure")
    supported = bool(((method.get("card") or {}).get("three_d_secure_usage") or {}).get("supported"))
    if requested == "challenge":
        return supported
    return requested == "any" and supported and behaviour is not None


def attempt(
    ctx: Ctx, intent: dict[str, Any], method: dict[str, Any], return_url: str | None
) -> Failure | None:
    """One try at the payment; the intent ends in requires_action, a failure or a charge."""
    if method["type"] in bank_payments.TYPES:
        bank_payments.attempt(ctx, intent, method, return_url)
        return None
    card = pms.test_card(method)
    intent["last_payment_error"] = None
    seed = f"{intent['id']}:{(method.get('card') or {}).get('fingerprint')}"
    if ctx.livemode:
        result = charges.outcome(
            card, seed, kind="invalid", reason="live_mode_test_card",
            network_status="not_sent_to_network",
        )
        return decline(ctx, intent, method, ("card_declined", "live_mode_test_card", LIVE_MODE_TEST_CARD), result)
    if not intent.get("_authenticated") and (
        needs_authentication(intent, method, card) or radar.wants_three_d_secure(ctx, intent, method, card)
    ):
        if intent.get("_off_session") or intent.get("_error_on_requires_action"):
            result = charges.outcome(
                card, seed, kind="issuer_declined", reason="authentication_required",
                network_status="declined_by_network",
            )
            reason = ("authentication_required", "authentication_required", AUTHENTICATION_REQUIRED)
            return decline(ctx, intent, method, reason, radar.stamp(result, card))
        intent["status"] = "requires_action"
        intent["next_action"] = authentication.next_action(ctx, intent, return_url)
        ctx.objects.save(intent)
        ctx.emit("payment_intent.requires_action", intent)
        return None
    # Radar's rules: an Allow rule also lifts the default block of the highest-risk test card.
    verdict = radar.decide(ctx, intent, method, card)
    if verdict.blocks:
        result = radar.stamp(charges.outcome(card, seed), card, verdict)
        return decline(ctx, intent, method, radar.BLOCKED, result)
    if card.decline_code and not (card.radar_blocked and verdict.allows):
        code, decline_code, message = pms.decline_error(card)
        if card.radar_blocked:
            result = charges.outcome(
                card, seed, kind="blocked", reason="highest_risk_level",
                network_status="not_sent_to_network",
            )
        else:
            result = charges.outcome(
                card, seed, kind="issuer_declined", reason=decline_code,
                network_status="declined_by_network",
            )
        return decline(ctx, intent, method, (code, decline_code, message), radar.stamp(result, card))
    succeed(ctx, intent, method, card, radar.stamp(charges.outcome(card, seed), card, verdict))
    if verdict.reviews:
        _open_review(ctx, intent)
    return None


def _open_review(ctx: Ctx, intent: dict[str, Any]) -> None:
    """A Review rule matched: the payment went through and a review of its charge opens."""
    from billfold.resources.radar.reviews import open_review

    charge = load(ctx, "charge", str(intent["latest_charge"]))
    open_review(ctx, intent, charge)
    ctx.objects.save(charge)
    ctx.objects.save(intent)


def decline(
    ctx: Ctx,
    intent: dict[str, Any],
    method: dict[str, Any],
    reason: tuple[str, str, str],
    result: dict[str, Any],
) -> Failure:
    code, decline_code, message = reason
    charge = charges.new_charge(
        ctx, intent, method, status="failed", outcome=result,
        three_d_secure=intent.get("_three_d_secure"), failure=(code, message),
    )
    destination_charges.describe(intent, charge)
    ctx.objects.insert(charge)
    ctx.emit("charge.failed", charge)
    intent["latest_charge"] = charge["id"]
    fail(ctx, intent, method, {
        "charge": charge["id"],
        "code": code,
        "decline_code": decline_code,
        "message": message,
        "type": "card_error",
    })
    return Failure(message, code, decline_code, charge["id"])


def fail(ctx: Ctx, intent: dict[str, Any], method: dict[str, Any], error: dict[str, Any]) -> None:
    """The intent goes back to waiting for a payment method, carrying the error."""
    error["doc_url"] = DOC_BASE + error["code"].replace("_", "-")
    error["payment_method"] = public(ctx, method)
    intent["last_payment_error"] = dict(sorted(error.items()))
    intent["status"] = "requires_payment_method"
    intent["payment_method"] = None
    intent["next_action"] = None
    for private in ("_authenticated", "_three_d_secure"):
        intent.pop(private, None)
    ctx.objects.save(intent)
    ctx.emit("payment_intent.payment_failed", intent)
    _tell_invoice(ctx, intent)


def succeed(
    ctx: Ctx, intent: dict[str, Any], method: dict[str, Any], card: TestCard, result: dict[str, Any]
) -> None:
    charge = charges.new_charge(
        ctx, intent, method, status="succeeded", outcome=result,
        three_d_secure=intent.pop("_three_d_secure", None),
    )
    manual = _manual_capture(intent)
    destination_charges.describe(intent, charge)
    if not manual:
        charges.capture(ctx, charge, intent["amount"], card)
        destination_charges.settle(ctx, intent, charge)
    ctx.objects.insert(charge)
    ctx.emit("charge.succeeded", charge)
    intent.pop("_authenticated", None)
    intent["latest_charge"] = charge["id"]
    intent["next_action"] = None
    if manual:
        intent["status"] = "requires_capture"
        intent["amount_capturable"] = intent["amount"]
    else:
        intent["status"] = "succeeded"
        intent["amount_received"] = intent["amount"]
    _save_for_later(ctx, intent, method)
    ctx.objects.save(intent)
    ctx.emit("payment_intent.amount_capturable_updated" if manual else "payment_intent.succeeded", intent)
    if not manual:
        _after_payment(ctx, charge, card)
    _tell_invoice(ctx, intent)


def _after_payment(ctx: Ctx, charge: dict[str, Any], card: TestCard) -> None:
    """Test cards that are disputed or warned about after a captured payment (Stripe's test mode)."""
    if card.dispute or card.early_fraud_warning:
        from billfold.resources.disputes.lifecycle import after_payment

        after_payment(ctx, charge, card)


def _tell_invoice(ctx: Ctx, intent: dict[str, Any]) -> None:
    """An invoice's PaymentIntent (however it was confirmed) pays or fails its invoice."""
    if intent.get("_invoice"):
        from billfold.resources.billing.invoice_payments import intent_settled

        intent_settled(ctx, intent)


def _save_for_later(ctx: Ctx, intent: dict[str, Any], method: dict[str, Any]) -> None:
    """``setup_future_usage``: the method is saved to the customer (and set up for off-session
    use); a method used once, with no customer and no future usage, is spent, as Stripe's are."""
    usage = _future_usage(intent)
    customer = intent.get("customer")
    if usage and customer and method.get("customer") != customer:
        method = pms.attach(ctx, method["id"], customer, param="payment_method")
    if usage == "off_session" and not method.get("_setup_for_off_session"):
        method["_setup_for_off_session"] = True
        ctx.objects.save(method)
    elif not usage and method.get("customer") is None and not method.get("_consumed"):
        method["_consumed"] = True
        ctx.objects.save(method)


def three_d_secure(method: dict[str, Any]) -> dict[str, Any]:
    """The charge's ``three_d_secure`` after a successful challenge."""
    brand = (method.get("card") or {}).get("brand")
    return {
        "authentication_flow": "challenge",
        "electronic_commerce_indicator": _ECI.get(str(brand), "05"),
        "exemption_indicator": None,
        "exemption_indicator_applied": False,
        "result": "authenticated",
        "result_reason": None,
        "transaction_id": str(uuid.uuid4()),
        "version": "2.2.0",
    }


def finish_authentication(ctx: Ctx, intent: dict[str, Any], success: bool) -> dict[str, Any]:
    """The challenge page's verdict, inside its transaction. On success the payment goes
    ahead (and may still decline) unless the integration confirms manually; on failure the
    intent needs a new payment method."""
    if intent.get("status") != "requires_action":
        raise unexpected_state(
            f"This PaymentIntent is not waiting for authentication (status: {intent.get('status')})."
        )
    method = load(ctx, "payment_method", intent["payment_method"], param="payment_method")
    if method["type"] in bank_payments.TYPES:
        return bank_payments.finish_redirect(ctx, intent, method, success)
    if not success:
        fail(ctx, intent, method, {
            "code": "payment_intent_authentication_failure",
            "message": AUTHENTICATION_FAILURE,
            "type": "invalid_request_error",
        })
        return intent
    intent["_authenticated"] = True
    intent["_three_d_secure"] = three_d_secure(method)
    intent["next_action"] = None
    if intent["confirmation_method"] == "manual":
        intent["status"] = "requires_confirmation"
        ctx.objects.save(intent)
        return intent
    attempt(ctx, intent, method, None)
    return intent
