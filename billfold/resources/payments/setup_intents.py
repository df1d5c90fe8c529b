"""SetupIntents: ``/v1/setup_intents``, saving a payment method for later payments.

Confirming runs the card's test behaviour: cards that need 3D Secure on setup wait in
``requires_action`` until Billfold's challenge page calls :func:`finish_authentication`;
cards that decline leave the intent in ``requires_payment_method`` with ``last_setup_error``.
"""

from __future__ import annotations

import copy
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, StateConflict
from billfold.resources.base import list_params, load, page
from billfold.resources.payments import authentication, setup_attempts
from billfold.resources.payments import payment_methods as pms
from billfold.wire.params import Bool, Dict, Int, List, Metadata, Spec, Str, apply_metadata
from billfold.wire.present import register
from billfold.wire.router import Routes

routes = Routes("setup_intents")

UNFINISHED = ("requires_payment_method", "requires_confirmation", "requires_action")

MANDATE_DATA = Dict(
    fields={
        "customer_acceptance": Dict(
            required=True,
            fields={
                "accepted_at": Int(min=0),
                "offline": Dict(),
                "online": Dict(
                    fields={"ip_address": Str(required=True), "user_agent": Str(required=True)}
                ),
                "type": Str(required=True, enum=("offline", "online")),
            },
        )
    },
    emptyable=True,
)
PAYMENT_METHOD_OPTIONS = Dict(
    fields={
        "card": Dict(
            fields={
                "network": Str(
                    enum=(
                        "amex", "cartes_bancaires", "diners", "discover", "eftpos_au", "interac",
                        "jcb", "mastercard", "unionpay", "unknown", "visa",
                    )
                ),
                "request_three_d_secure": Str(enum=("any", "automatic", "challenge")),
            }
        ),
        "sepa_debit": Dict(fields={"mandate_options": Dict()}),
    }
)
_SHARED: dict[str, Spec] = {
    "attach_to_self": Bool(),
    "customer": Str(),
    "description": Str(max_length=1000),
    "flow_directions": List(item=Str(enum=("inbound", "outbound"))),
    "metadata": Metadata(),
    "payment_method": Str(),
    "payment_method_configuration": Str(max_length=100),
    "payment_method_data": pms.PAYMENT_METHOD_DATA,
    "payment_method_options": PAYMENT_METHOD_OPTIONS,
    "payment_method_types": List(item=Str(enum=pms.ALL_TYPES)),
}
CREATE: dict[str, Spec] = {
    **_SHARED,
    "automatic_payment_methods": Dict(
        fields={"allow_redirects": Str(enum=("always", "never")), "enabled": Bool(required=True)}
    ),
    "confirm": Bool(),
    "mandate_data": MANDATE_DATA,
    "on_behalf_of": Str(),
    "return_url": Str(),
    "usage": Str(enum=("off_session", "on_session")),
    "use_stripe_sdk": Bool(),
}
CONFIRM: dict[str, Spec] = {
    "client_secret": Str(),
    "mandate_data": MANDATE_DATA,
    "payment_method": Str(),
    "payment_method_data": pms.PAYMENT_METHOD_DATA,
    "payment_method_options": PAYMENT_METHOD_OPTIONS,
    "return_url": Str(),
    "use_stripe_sdk": Bool(),
}
CANCEL: dict[str, Spec] = {
    "cancellation_reason": Str(enum=("abandoned", "duplicate", "requested_by_customer"))
}
LIST = list_params(customer=Str(), payment_method=Str(), attach_to_self=Bool())


def _unexpected(message: str) -> StateConflict:
    return StateConflict(message, code="setup_intent_unexpected_state")


def _only_one(params: dict[str, Any], *names: str) -> None:
    if sum(1 for name in names if name in params) > 1:
        raise InvalidRequestError(
            f"You may only specify one of these parameters: {', '.join(names)}.", param=names[0]
        )


def _payment_method_options(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    options = copy.deepcopy(current)
    if "card" in changes:
        card = options.get("card") or {
            "mandate_options": None, "network": None, "request_three_d_secure": "automatic"
        }
        card.update(changes["card"])
        options["card"] = card
    if "sepa_debit" in changes:
        options["sepa_debit"] = {}
    return options


def _customer(ctx: Ctx, customer_id: str) -> str:
    load(ctx, "customer", customer_id, param="customer")
    return customer_id


def _take_payment_method(ctx: Ctx, intent: dict[str, Any], params: dict[str, Any]) -> None:
    """Set ``payment_method`` from an id, a test id or ``payment_method_data``."""
    _only_one(params, "payment_method", "payment_method_data")
    if params.get("payment_method"):
        method = pms.resolve(ctx, params["payment_method"], param="payment_method")
    elif "payment_method_data" in params:
        method = pms.create_from_data(ctx, params["payment_method_data"], param="payment_method_data")
    else:
        return
    if method["type"] not in intent["payment_method_types"]:
        allowed = ", ".join(intent["payment_method_types"])
        raise InvalidRequestError(
            f"The PaymentMethod provided ({method['type']}) is not allowed for this SetupIntent. "
            f"Please attach a PaymentMethod of one of the following types: {allowed}. "
            "Alternatively update the allowed payment_method_types for this SetupIntent to "
            f'include "{method["type"]}".',
            param="payment_method",
        )
    intent["payment_method"] = method["id"]
    intent["next_action"] = None
    intent["status"] = "requires_confirmation"


def _apply(ctx: Ctx, intent: dict[str, Any], params: dict[str, Any]) -> None:
    for name in ("description", "flow_directions"):
        if name in params:
            intent[name] = params[name]
    if "attach_to_self" in params:
        intent["_attach_to_self"] = params["attach_to_self"]
    if "metadata" in params:
        intent["metadata"] = apply_metadata(intent.get("metadata", {}), params["metadata"])
    if params.get("customer"):
        intent["customer"] = _customer(ctx, params["customer"])
    if "payment_method_types" in params:
        intent["payment_method_types"] = params["payment_method_types"] or ["card"]
    if "payment_method_options" in params:
        intent["payment_method_options"] = _payment_method_options(
            intent["payment_method_options"], params["payment_method_options"]
        )
    _take_payment_method(ctx, intent, params)


@routes.post("/v1/setup_intents", CREATE)
def create_setup_intent(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    _only_one(params, "automatic_payment_methods", "payment_method_types")
    automatic = params.get("automatic_payment_methods")
    intent_id = ids.new_id("setup_intent")
    intent: dict[str, Any] = {
        "id": intent_id,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": (
            {"allow_redirects": automatic.get("allow_redirects") or "always", "enabled": True}
            if automatic and automatic["enabled"]
            else None
        ),
        "cancellation_reason": None,
        "client_secret": f"{intent_id}_secret_{ids.random_part(25)}",
        "created": ctx.now,
        "customer": None,
        "description": None,
        "excluded_payment_method_types": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": ctx.livemode,
        "mandate": None,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": params.get("on_behalf_of"),
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": params.get("usage") or "off_session",
    }
    if not params.get("confirm"):
        for name in ("return_url", "mandate_data"):
            if name in params:
                raise InvalidRequestError(
                    f"You can only pass {name} when confirming the SetupIntent (confirm=true).",
                    param=name,
                )
    _apply(ctx, intent, params)
    ctx.objects.insert(intent)
    ctx.emit("setup_intent.created", intent)
    if params.get("confirm"):
        return _confirm(ctx, intent, params, fresh=True)
    return intent


def _check_client_secret(ctx: Ctx, intent: dict[str, Any], secret: str | None) -> None:
    """A publishable key must prove it holds the intent's client secret."""
    publishable = ctx.key is not None and ctx.key.kind == "publishable"
    if secret is None:
        if publishable:
            raise InvalidRequestError(
                "Missing required param: client_secret.", param="client_secret",
                code="parameter_missing",
            )
        return
    if secret != intent["client_secret"]:
        raise InvalidRequestError(
            "The client_secret provided does not match the client_secret associated with the "
            "SetupIntent.",
            param="client_secret",
            code="setup_intent_invalid_parameter",
        )


@routes.get("/v1/setup_intents/{intent}", {"client_secret": Str()}, publishable=True)
def retrieve_setup_intent(ctx: Ctx, params: dict[str, Any], intent: str) -> dict[str, Any]:
    found = load(ctx, "setup_intent", intent, param="intent")
    _check_client_secret(ctx, found, params.get("client_secret"))
    return found


@routes.post("/v1/setup_intents/{intent}", _SHARED)
def update_setup_intent(ctx: Ctx, params: dict[str, Any], intent: str) -> dict[str, Any]:
    found = load(ctx, "setup_intent", intent, param="intent", for_update=True)
    if found["status"] not in UNFINISHED and set(params) - {"metadata", "description"}:
        raise _unexpected(
            f"You cannot update this SetupIntent because it has a status of {found['status']}. "
            "Only its metadata and description may change now."
        )
    _apply(ctx, found, params)
    ctx.objects.save(found)
    return found


@routes.get("/v1/setup_intents", LIST)
def list_setup_intents(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    filters = {"customer": params.get("customer"), "payment_method": params.get("payment_method")}
    return page(ctx, "setup_intent", "/v1/setup_intents", params, filters)


@routes.post("/v1/setup_intents/{intent}/confirm", CONFIRM, publishable=True)
def confirm_setup_intent(ctx: Ctx, params: dict[str, Any], intent: str) -> dict[str, Any]:
    found = load(ctx, "setup_intent", intent, param="intent", for_update=True)
    _check_client_secret(ctx, found, params.get("client_secret"))
    return _confirm(ctx, found, params)


@routes.post("/v1/setup_intents/{intent}/cancel", CANCEL)
def cancel_setup_intent(ctx: Ctx, params: dict[str, Any], intent: str) -> dict[str, Any]:
    found = load(ctx, "setup_intent", intent, param="intent", for_update=True)
    if found["status"] not in UNFINISHED:
        raise _unexpected(
            f"You cannot cancel this SetupIntent because it has a status of {found['status']}. "
            "Only a SetupIntent with one of the following statuses may be canceled: "
            f"{', '.join(UNFINISHED)}."
        )
    found["status"] = "canceled"
    found["cancellation_reason"] = params.get("cancellation_reason")
    found["next_action"] = None
    ctx.objects.save(found)
    ctx.emit("setup_intent.canceled", found)
    return found


def _needs_authentication(intent: dict[str, Any], method: dict[str, Any]) -> bool:
    if method["type"] != "card":
        return False
    behaviour = pms.test_card(method).three_d_secure
    if behaviour in ("required", "required_unless_setup"):
        return True
    requested = (intent["payment_method_options"].get("card") or {}).get("request_three_d_secure")
    return requested in ("any", "challenge") and behaviour is not None


def _confirm(
    ctx: Ctx, intent: dict[str, Any], params: dict[str, Any], *, fresh: bool = False
) -> dict[str, Any]:
    """Confirm ``intent``; ``fresh`` when create (confirm=true) already applied ``params``."""
    if intent["status"] not in UNFINISHED:
        if intent["status"] == "succeeded":
            raise _unexpected("You cannot confirm this SetupIntent because it has already succeeded.")
        raise _unexpected(
            f"You cannot confirm this SetupIntent because it has a status of {intent['status']}."
        )
    if not fresh:
        if "payment_method_options" in params:
            intent["payment_method_options"] = _payment_method_options(
                intent["payment_method_options"], params["payment_method_options"]
            )
        _take_payment_method(ctx, intent, params)
    if not intent.get("payment_method"):
        raise _unexpected(
            "You cannot confirm this SetupIntent because it's missing a payment method. You can "
            "either update the SetupIntent with a payment method and then confirm it again, or "
            "confirm it again directly with a payment method."
        )
    method = load(ctx, "payment_method", intent["payment_method"], param="payment_method")
    customer = intent.get("customer")
    if method.get("customer") not in (None, customer):
        raise InvalidRequestError(
            "The provided PaymentMethod is attached to another Customer. Use a PaymentMethod "
            "attached to this SetupIntent's customer, or one not attached to any Customer.",
            param="payment_method",
        )
    if method.get("customer") is None and (method.get("_detached") or method.get("_consumed")):
        raise StateConflict(pms.REUSED, param="payment_method", code="payment_method_unexpected_state")
    if "return_url" in params:
        intent["_return_url"] = params["return_url"]
    intent["last_setup_error"] = None
    if _needs_authentication(intent, method):
        setup_attempts.record(ctx, intent, method, "requires_action")
        intent["status"] = "requires_action"
        intent["next_action"] = authentication.next_action(ctx, intent, intent.get("_return_url"))
        ctx.objects.save(intent)
        ctx.emit("setup_intent.requires_action", intent)
        return intent
    setup_attempts.record(ctx, intent, method, "processing")
    error = setup_attempts.complete(ctx, intent, method, authentication=None)
    if error is not None:
        raise error
    return intent


def finish_authentication(ctx: Ctx, intent: dict[str, Any], success: bool) -> dict[str, Any]:
    """The 3D Secure challenge page's verdict, inside its transaction: on success the setup
    completes (attaching the method); on failure the intent needs a new payment method."""
    if intent.get("status") != "requires_action":
        raise _unexpected(
            f"This SetupIntent is not waiting for authentication (status: {intent.get('status')})."
        )
    method = load(ctx, "payment_method", intent["payment_method"], param="payment_method")
    if success:
        setup_attempts.complete(ctx, intent, method, authentication="authenticated")
    else:
        setup_attempts.fail_authentication(ctx, intent, method)
    return intent


register(
    "setup_intent",
    expandable=(
        "application", "customer", "latest_attempt", "mandate", "on_behalf_of", "payment_method",
        "single_use_mandate",
    ),
)
