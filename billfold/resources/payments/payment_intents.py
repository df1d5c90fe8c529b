"""PaymentIntents: ``/v1/payment_intents``, a payment from creation to success.

The parameters are declared in ``payment_intent_params``; the payment attempt (3D Secure,
declines, charges) lives in ``payment_intent_confirm`` and capture/cancel in
``payment_intent_capture``. This module holds the routes and the object's shape.
"""

from __future__ import annotations

import hashlib
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.resources.base import list_params, load, page
from billfold.resources.connect import destination_charges
from billfold.resources.payments import charges
from billfold.resources.payments import payment_intent_capture as capturing
from billfold.resources.payments import payment_intent_confirm as flow
from billfold.resources.payments import payment_intent_params as spec
from billfold.wire.params import Str, apply_metadata
from billfold.wire.present import register, render
from billfold.wire.router import Routes
from billfold.wire.versions import at_least

routes = Routes("payment_intents")

# Since this version, PaymentIntents accept the Dashboard's payment methods unless told otherwise.
AUTOMATIC_BY_DEFAULT = "2023-08-16"
# What a publishable key sees of a PaymentIntent (Stripe's client-side object).
PUBLIC_FIELDS = (
    "id", "object", "amount", "amount_details", "automatic_payment_methods", "canceled_at",
    "cancellation_reason", "capture_method", "client_secret", "confirmation_method", "created",
    "currency", "description", "excluded_payment_method_types", "last_payment_error", "livemode",
    "next_action", "payment_method", "payment_method_configuration_details",
    "payment_method_types", "processing", "receipt_email", "setup_future_usage", "shipping",
    "source", "status",
)
# Fields that stay editable after the payment finished.
ALWAYS_EDITABLE = frozenset(
    {"description", "metadata", "receipt_email", "shipping", "statement_descriptor",
     "statement_descriptor_suffix", "transfer_group"}
)


def _card_options(current: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    options = dict(current.get("card") or {})
    for name, value in (changes or {}).items():
        if value is None and name in ("capture_method", "setup_future_usage"):
            options.pop(name, None)
        else:
            options[name] = value
    return {**current, "card": options}


def _apply(ctx: Ctx, intent: dict[str, Any], params: dict[str, Any]) -> None:
    """Apply the fields that create, update and confirm share (the payment method last)."""
    if "amount" in params or "currency" in params:
        amount = params.get("amount", intent["amount"])
        currency = params.get("currency", intent["currency"])
        spec.check_amount(amount, currency)
        intent["amount"], intent["currency"] = amount, currency
    for name in (
        "application_fee_amount", "capture_method", "description", "receipt_email",
        "setup_future_usage", "statement_descriptor", "statement_descriptor_suffix",
        "transfer_group",
    ):
        if name in params:
            intent[name] = params[name]
    if params.get("customer"):
        intent["customer"] = load(ctx, "customer", params["customer"], param="customer")["id"]
    if "metadata" in params:
        intent["metadata"] = apply_metadata(intent.get("metadata") or {}, params["metadata"])
    if "shipping" in params:
        intent["shipping"] = charges.shipping(params["shipping"])
    if "transfer_data" in params or "on_behalf_of" in params or "application_fee_amount" in params:
        destination_charges.apply(ctx, intent, params)
    if "payment_method_types" in params:
        intent["payment_method_types"] = spec.payment_method_types(params["payment_method_types"])
    if "payment_method_options" in params:
        changes = params["payment_method_options"] or {}
        intent["payment_method_options"] = _card_options(
            intent["payment_method_options"], changes.get("card")
        )
    if flow.take_payment_method(ctx, intent, params) or (
        intent["status"] == "requires_payment_method" and intent.get("payment_method")
    ):
        intent["status"] = "requires_confirmation"


def _automatic(given: dict[str, Any] | None) -> dict[str, Any]:
    """Stripe shows ``allow_redirects`` only when the integration chose it."""
    redirects = (given or {}).get("allow_redirects")
    return {"allow_redirects": redirects, "enabled": True} if redirects else {"enabled": True}


def _configuration(ctx: Ctx) -> dict[str, Any]:
    """The account's (one) payment method configuration, as automatic payment methods use it."""
    digest = hashlib.sha256(ctx.scope.account.encode()).hexdigest()
    return {"id": f"pmc_{digest[:24]}", "parent": None}


def load_intent(ctx: Ctx, intent_id: str, *, for_update: bool = False) -> dict[str, Any]:
    if "_secret_" in intent_id:
        raise InvalidRequestError(
            "You passed a string that looks like a client secret as the PaymentIntent ID, but you "
            "must provide a valid PaymentIntent ID. Please use the value in the `id` field of the "
            "PaymentIntent.",
            param="intent",
        )
    found = ctx.objects.get(intent_id, "payment_intent", for_update=for_update)
    if found is None:
        raise ResourceMissing("payment_intent", intent_id, param="intent")
    return found


def _check_client_secret(ctx: Ctx, intent: dict[str, Any], secret: str | None) -> None:
    """A publishable key must prove it holds the intent's client secret."""
    if secret is None:
        if ctx.key is not None and ctx.key.kind == "publishable":
            raise InvalidRequestError(
                "Missing required param: client_secret.",
                param="client_secret",
                code="parameter_missing",
            )
        return
    if secret != intent["client_secret"]:
        raise InvalidRequestError(
            "The client_secret provided does not match the client_secret associated with the "
            "PaymentIntent.",
            param="client_secret",
            code="payment_intent_invalid_parameter",
        )


@routes.post("/v1/payment_intents", spec.CREATE)
def create_payment_intent(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    spec.only_one(params, "automatic_payment_methods", "payment_method_types")
    if not params.get("confirm"):
        for name in spec.CONFIRM_ONLY:
            if name in params:
                raise InvalidRequestError(
                    f"You can only pass {name} when confirming the PaymentIntent (confirm=true).",
                    param=name,
                )
    spec.check_amount(params["amount"], params["currency"])
    automatic = params.get("automatic_payment_methods")
    if automatic is None and "payment_method_types" not in params:
        if at_least(ctx.api_version, AUTOMATIC_BY_DEFAULT):
            automatic = {"enabled": True}
    enabled = bool(automatic and automatic["enabled"])
    intent_id = ids.new_id("payment_intent")
    intent: dict[str, Any] = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": params["amount"],
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": _automatic(automatic) if enabled else None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_{ids.random_part(25)}",
        "confirmation_method": params.get("confirmation_method") or "automatic",
        "created": ctx.now,
        "currency": params["currency"],
        "customer": None,
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": ctx.livemode,
        "managed_payments": None,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": _configuration(ctx) if enabled else None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }
    _apply(ctx, intent, params)
    ctx.objects.insert(intent)
    ctx.emit("payment_intent.created", intent)
    if params.get("confirm"):
        return flow.confirm(ctx, intent, params)
    return intent


@routes.get("/v1/payment_intents/{intent}", {"client_secret": Str(max_length=5000)}, publishable=True)
def retrieve_payment_intent(ctx: Ctx, params: dict[str, Any], intent: str) -> dict[str, Any]:
    found = load_intent(ctx, intent)
    _check_client_secret(ctx, found, params.get("client_secret"))
    return found


@routes.post("/v1/payment_intents/{intent}", spec.UPDATE)
def update_payment_intent(ctx: Ctx, params: dict[str, Any], intent: str) -> dict[str, Any]:
    found = load_intent(ctx, intent, for_update=True)
    status = found["status"]
    locked = sorted(set(params) - ALWAYS_EDITABLE - {"expand"})
    if locked and status not in flow.UNFINISHED:
        field = locked[0]
        raise flow.unexpected_state(
            f"This PaymentIntent's {field} could not be updated because it has a status of "
            f"{status}. You may only update the {field} of a PaymentIntent with one of the "
            f"following statuses: {', '.join(flow.UNFINISHED)}.",
            param=field,
        )
    _apply(ctx, found, params)
    ctx.objects.save(found)
    return found


@routes.get("/v1/payment_intents", list_params(customer=Str()))
def list_payment_intents(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return page(ctx, "payment_intent", "/v1/payment_intents", params, {"customer": params.get("customer")})


@routes.post("/v1/payment_intents/{intent}/confirm", spec.CONFIRM, publishable=True)
def confirm_payment_intent(ctx: Ctx, params: dict[str, Any], intent: str) -> dict[str, Any]:
    found = load_intent(ctx, intent, for_update=True)
    _check_client_secret(ctx, found, params.get("client_secret"))
    status = found["status"]
    if status not in flow.UNFINISHED:
        if "payment_method" in params or "payment_method_data" in params:
            raise flow.unexpected_state(
                "This PaymentIntent's payment_method could not be updated because it has a status "
                f"of {status}. You may only update the payment_method of a PaymentIntent with one "
                f"of the following statuses: {', '.join(flow.UNFINISHED)}.",
                param="payment_method",
            )
        if status == "succeeded":
            raise flow.unexpected_state(
                "You cannot confirm this PaymentIntent because it has already succeeded after "
                "being previously confirmed."
            )
        raise flow.unexpected_state(
            f"You cannot confirm this PaymentIntent because it has a status of {status}. Only a "
            "PaymentIntent with one of the following statuses may be confirmed: "
            f"{', '.join(flow.UNFINISHED)}."
        )
    if (
        found["confirmation_method"] == "manual"
        and ctx.key is not None
        and ctx.key.kind == "publishable"
    ):
        raise InvalidRequestError(
            "This PaymentIntent has confirmation_method manual, so it can only be confirmed with "
            "your secret key. Confirm it on your server, or create PaymentIntents with "
            "confirmation_method automatic to confirm them client-side."
        )
    _apply(ctx, found, params)
    return flow.confirm(ctx, found, params)


def capture_intent(
    ctx: Ctx, intent: dict[str, Any], params: dict[str, Any], amount_param: str = "amount_to_capture"
) -> dict[str, Any]:
    """Capture an authorized PaymentIntent (also behind ``POST /v1/charges/{id}/capture``)."""
    return capturing.capture(ctx, intent, params, amount_param)


@routes.post("/v1/payment_intents/{intent}/capture", spec.CAPTURE)
def capture_payment_intent(ctx: Ctx, params: dict[str, Any], intent: str) -> dict[str, Any]:
    found = load_intent(ctx, intent, for_update=True)
    return capturing.capture(ctx, found, params)


@routes.post("/v1/payment_intents/{intent}/cancel", spec.CANCEL)
def cancel_payment_intent(ctx: Ctx, params: dict[str, Any], intent: str) -> dict[str, Any]:
    found = load_intent(ctx, intent, for_update=True)
    return capturing.cancel(ctx, found, params.get("cancellation_reason"))


def finish_authentication(ctx: Ctx, intent: dict[str, Any], success: bool) -> dict[str, Any]:
    """Complete (``success``) or fail a 3D Secure challenge; called by the challenge page."""
    return flow.finish_authentication(ctx, intent, success)


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    if ctx.key is not None and ctx.key.kind == "publishable":
        return {name: data.get(name) for name in PUBLIC_FIELDS}
    if not at_least(ctx.api_version, charges.EMBEDDED_LISTS_UNTIL):
        found = ctx.objects.page("charge", filters={"payment_intent": data["id"]}, limit=10)
        data["charges"] = {
            "object": "list",
            "data": [render(ctx, charge) for charge in found.data],
            "has_more": found.has_more,
            "url": f"/v1/charges?payment_intent={data['id']}",
        }
    return data


register(
    "payment_intent",
    expandable=(
        "application", "customer", "invoice", "latest_charge", "on_behalf_of", "payment_method",
        "review",
    ),
    render=_render,
)
