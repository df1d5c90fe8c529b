"""The 3D Secure challenge page: ``/billfold/3ds/{intent}?client_secret=...``.

It stands in for the bank's page. GET shows the payment (or card setup) and two buttons;
POST finishes the authentication of a PaymentIntent or SetupIntent in one write transaction,
then sends the customer back to the intent's ``return_url`` (or says the window may close).
The page has no API key: the intent's account is found from its id, and the client secret
proves the visitor may act on it.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from billfold.context import Ctx
from billfold.errors import StripeError
from billfold.ledger.money import format_amount
from billfold.resources.payments import payment_intents, setup_intents
from billfold.resources.payments.authentication import CHALLENGE_PATH
from billfold.store.objects import Scope

if TYPE_CHECKING:
    from billfold.app import Billfold
    from billfold.store.db import Tx

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
KINDS = {"payment_intent": "pi_", "setup_intent": "seti_"}
MAX_FORM = 16_384


class PageError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Found:
    kind: str  # payment_intent or setup_intent
    scope: Scope
    intent: dict[str, Any]


def _page(status: int = 200, **values: Any) -> HTMLResponse:
    html = TEMPLATES.get_template("three_d_secure.html").render(**values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _error(status: int, message: str) -> HTMLResponse:
    return _page(status, mode="error", title="Authentication unavailable", message=message)


def _find(tx: Tx, intent_id: str, secret: str, *, for_update: bool = False) -> Found:
    """The intent by id alone (the page has no key), checked against its client secret."""
    kind = next((name for name, prefix in KINDS.items() if intent_id.startswith(prefix)), None)
    row = tx.one(
        "SELECT account, livemode, object, data FROM objects WHERE id = :id AND deleted = :deleted"
        + (tx.for_update if for_update else ""),
        id=intent_id,
        deleted=False,
    )
    if kind is None or row is None or row.object != kind:
        raise PageError(404, "There is no payment waiting for authentication here.")
    intent: dict[str, Any] = json.loads(row.data)
    expected = str(intent.get("client_secret") or "")
    if not secret or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise PageError(403, "This authentication link is not valid: its client secret is missing or wrong.")
    if intent.get("status") != "requires_action":
        raise PageError(
            409,
            f"This {'payment' if kind == 'payment_intent' else 'card setup'} is not waiting for "
            f"authentication (its status is {intent.get('status')}).",
        )
    return Found(kind, Scope(row.account, bool(row.livemode)), intent)


def _method_type(tx: Tx, found: Found) -> tuple[str, str | None]:
    """The payment method's type, and how the page names it (a card's brand and last 4)."""
    method_id = found.intent.get("payment_method")
    row = tx.one(
        "SELECT data FROM objects WHERE id = :id AND account = :account AND livemode = :livemode",
        id=str(method_id),
        account=found.scope.account,
        livemode=found.scope.livemode,
    )
    if row is None:
        return "card", None
    data = json.loads(row.data)
    if data.get("type") != "card":
        return str(data.get("type")), None
    card = data.get("card") or {}
    return "card", f"{str(card.get('brand', 'card')).title()} ending in {card.get('last4')}"


def _merchant(app: Billfold, tx: Tx, account: str) -> str:
    from billfold.accounts import account_settings

    settings = account_settings(tx, account)
    return str(settings.get("business_name") or settings.get("display_name") or account)


def _show(app: Billfold, intent_id: str, secret: str) -> Response:
    try:
        with app.db.transaction(write=False) as tx:
            found = _find(tx, intent_id, secret)
            intent = found.intent
            is_payment = found.kind == "payment_intent"
            method_type, card = _method_type(tx, found)
            return _page(
                mode="challenge",
                title="Confirm your payment" if is_payment else "Confirm your card",
                merchant=_merchant(app, tx, found.scope.account),
                amount=format_amount(int(intent["amount"]), str(intent["currency"])) if is_payment else None,
                card=card,
                # A redirect payment method (iDEAL) gets Stripe's test authorization page.
                redirect_method={"ideal": "iDEAL"}.get(method_type),
                description=intent.get("description"),
                client_secret=secret,
                action=CHALLENGE_PATH.format(intent=intent_id),
            )
    except PageError as exc:
        return _error(exc.status, exc.message)


def _return_url(intent: dict[str, Any]) -> str | None:
    action = intent.get("next_action") or {}
    url = (action.get("redirect_to_url") or {}).get("return_url")
    return str(url) if url else intent.get("_return_url")


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(extra.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _redirect_status(kind: str, status: str) -> str:
    if kind == "setup_intent":
        return "succeeded" if status == "succeeded" else "failed"
    if status in ("succeeded", "requires_capture", "requires_confirmation"):
        return "succeeded"
    return "processing" if status == "processing" else "failed"


def _finish(app: Billfold, intent_id: str, secret: str, outcome: str) -> Response:
    if outcome not in ("complete", "fail"):
        return _error(400, "Choose Complete authentication or Fail authentication.")
    try:
        with app.db.transaction() as tx:
            found = _find(tx, intent_id, secret, for_update=True)
            account = found.scope.account
            ctx = Ctx(app, tx, found.scope, app.default_version(account), app.clock.now())
            return_url = _return_url(found.intent)
            finish = (
                payment_intents.finish_authentication
                if found.kind == "payment_intent"
                else setup_intents.finish_authentication
            )
            intent = finish(ctx, found.intent, outcome == "complete")
    except PageError as exc:
        return _error(exc.status, exc.message)
    except StripeError as exc:
        return _error(exc.status if 400 <= exc.status < 500 else 409, exc.message)
    redirect_status = _redirect_status(found.kind, str(intent["status"]))
    if return_url:
        return RedirectResponse(
            _with_query(return_url, {
                found.kind: intent_id,
                f"{found.kind}_client_secret": secret,
                "redirect_status": redirect_status,
            }),
            status_code=303,
        )
    message = (
        "Authentication complete." if outcome == "complete" else "Authentication failed."
    )
    return _page(mode="done", title="Authentication finished", message=message)


def routes(app: Billfold) -> list[BaseRoute]:
    async def challenge(request: Request) -> Response:
        intent_id = request.path_params["intent"]
        if request.method == "GET":
            secret = request.query_params.get("client_secret", "")
            return await run_in_threadpool(_show, app, intent_id, secret)
        # A plain urlencoded form; parsed here so the page needs no multipart library.
        body = (await request.body())[:MAX_FORM].decode("utf-8", errors="replace")
        form = dict(parse_qsl(body, keep_blank_values=True))
        secret = form.get("client_secret") or request.query_params.get("client_secret", "")
        outcome = form.get("outcome", "")
        return await run_in_threadpool(_finish, app, intent_id, secret, outcome)

    return [Route(CHALLENGE_PATH, challenge, methods=["GET", "POST"])]
