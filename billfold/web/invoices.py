"""The hosted invoice page and the invoice PDF: ``/billfold/invoices/{id}?secret=...``.

An invoice's ``hosted_invoice_url`` and ``invoice_pdf`` point here. The page has no API key:
the invoice is found by its id and the secret in its URL (``invoices.find_by_secret``). GET
shows the invoice; while it can be paid, a form takes a test card, and POST makes a card
PaymentMethod from it and pays through ``invoices.attempt_payment`` in one write transaction.
A decline is shown on the page (the invoice stays open, its failed attempt recorded); a card
that needs 3D Secure goes through the challenge page, which comes back here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from billfold.context import Ctx
from billfold.errors import StripeError
from billfold.resources.billing import invoices
from billfold.resources.billing.invoice_numbering import INVOICE_PATH
from billfold.resources.payments import payment_methods
from billfold.resources.payments.authentication import challenge_url
from billfold.store.objects import ObjectStore, Scope
from billfold.web import invoice_pdf, invoice_view
from billfold.web.three_d_secure import TEMPLATES

if TYPE_CHECKING:
    from billfold.app import Billfold
    from billfold.store.db import Tx

PDF_PATH = INVOICE_PATH + "/pdf"
RECEIPT_PATH = INVOICE_PATH + "/receipt"
MAX_FORM = 16_384
NOT_FOUND = (
    "This invoice link is not valid. Check that you copied the whole link, or ask the sender "
    "for a new one."
)
AUTHENTICATION_FAILED = (
    "We are unable to authenticate your payment method. Please choose a different payment "
    "method and try again."
)
_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/?\s*(\d{2}|\d{4})\s*$")


class CardFormError(Exception):
    """The card form was filled in wrongly; nothing is sent on."""


def _html(status: int = 200, **values: Any) -> HTMLResponse:
    html = TEMPLATES.get_template("invoice.html").render(**values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _not_found() -> HTMLResponse:
    return _html(404, view=None, title="Invoice not found", message=NOT_FOUND)


def _query(secret: str) -> str:
    return "?" + urlencode({"secret": secret})


def page_url(app: Billfold, invoice_id: str, secret: str) -> str:
    return app.settings.public_url + INVOICE_PATH.format(invoice=invoice_id) + _query(secret)


def _merchant(tx: Tx, account: str, invoice: dict[str, Any]) -> str:
    from billfold.accounts import account_settings

    if invoice.get("account_name"):
        return str(invoice["account_name"])
    settings = account_settings(tx, account)
    return str(settings.get("business_name") or settings.get("display_name") or account)


def _render(
    tx: Tx,
    scope: Scope,
    invoice: dict[str, Any],
    secret: str,
    *,
    status: int = 200,
    notice: str | None = None,
    notice_kind: str = "error",
    name: str | None = None,
) -> HTMLResponse:
    view = invoice_view.build(ObjectStore(tx, scope), _merchant(tx, scope.account, invoice), invoice)
    base = INVOICE_PATH.format(invoice=invoice["id"])
    return _html(
        status,
        view=view,
        title=f"Invoice {view.number or ''}".strip(),
        test_mode=not scope.livemode,
        secret=secret,
        action=base + _query(secret),
        pdf_url=PDF_PATH.format(invoice=invoice["id"]) + _query(secret),
        receipt_url=RECEIPT_PATH.format(invoice=invoice["id"]) + _query(secret),
        notice=notice,
        notice_kind=notice_kind,
        name=name,
    )


def _payment_intent_id(invoice: dict[str, Any]) -> str | None:
    """The PaymentIntent of the invoice's latest attempt, in whichever shape it is stored."""
    for key in ("_payment_intent", "payment_intent"):
        if isinstance(invoice.get(key), str):
            return str(invoice[key])
    payments = invoice.get("payments")
    entries = payments.get("data") if isinstance(payments, dict) else payments
    for entry in reversed(entries or []):
        payment = (entry or {}).get("payment") or {}
        if isinstance(payment.get("payment_intent"), str):
            return str(payment["payment_intent"])
    return None


def _returned_notice(store: ObjectStore, returned: dict[str, str]) -> tuple[str, str] | None:
    """What to say when the 3D Secure page sends the person back here."""
    status = returned.get("redirect_status")
    intent_id = returned.get("payment_intent")
    if not status or not intent_id:
        return None
    intent = store.get(intent_id, "payment_intent")
    if intent is None or intent.get("client_secret") != returned.get("payment_intent_client_secret"):
        return None
    if intent.get("status") in ("succeeded", "processing"):
        return "Your payment is complete.", "success"
    error = intent.get("last_payment_error") or {}
    if error.get("code") == "payment_intent_authentication_failure" or not error.get("message"):
        # The API's message speaks to developers; Stripe's pages tell the customer this.
        return AUTHENTICATION_FAILED, "error"
    return str(error["message"]), "error"


def _show(app: Billfold, invoice_id: str, secret: str, returned: dict[str, str]) -> Response:
    with app.db.transaction(write=False) as tx:
        found = invoices.find_by_secret(tx, invoice_id, secret) if secret else None
        if found is None:
            return _not_found()
        scope, invoice = found
        notice = _returned_notice(ObjectStore(tx, scope), returned)
        if notice is None:
            return _render(tx, scope, invoice, secret)
        return _render(tx, scope, invoice, secret, notice=notice[0], notice_kind=notice[1])


def _unpayable(invoice: dict[str, Any]) -> str:
    status = invoice.get("status")
    if status == "paid":
        return "This invoice has already been paid."
    if status == "void":
        return "This invoice is void and can no longer be paid."
    if status == "draft":
        return "This invoice is a draft: it cannot be paid until it is finalized."
    return "Nothing is left to pay on this invoice."


def card_data(form: dict[str, str]) -> dict[str, Any]:
    """The form's card as ``payment_method_data``, or CardFormError with Stripe.js's wording."""
    number = "".join(form.get("card_number", "").split())
    if not number:
        raise CardFormError("Your card number is incomplete.")
    expiry = _EXPIRY.match(form.get("exp", ""))
    if expiry is None:
        raise CardFormError("Your card's expiration date is incomplete.")
    cvc = form.get("cvc", "").strip()
    if not cvc:
        raise CardFormError("Your card's security code is incomplete.")
    year = int(expiry.group(2))
    card = {"number": number, "exp_month": int(expiry.group(1)), "exp_year": year, "cvc": cvc}
    data: dict[str, Any] = {"type": "card", "card": card}
    name = form.get("name", "").strip()
    if name:
        data["billing_details"] = {"name": name[:200]}
    return data


def _now(app: Billfold, store: ObjectStore, invoice: dict[str, Any]) -> int:
    """The invoice's present: its test clock's frozen time, if its customer has one."""
    clock_id = invoice.get("test_clock")
    clock = store.get(clock_id, "test_helpers.test_clock") if isinstance(clock_id, str) else None
    if clock is not None and isinstance(clock.get("frozen_time"), int):
        return int(clock["frozen_time"])
    return app.clock.now()


def _pay(app: Billfold, invoice_id: str, form: dict[str, str]) -> Response:
    secret = form.get("secret", "")
    name = form.get("name")
    try:
        with app.db.transaction() as tx:
            found = invoices.find_by_secret(tx, invoice_id, secret) if secret else None
            if found is None:
                return _not_found()
            scope, stored = found
            now = _now(app, ObjectStore(tx, scope), stored)
            ctx = Ctx(app, tx, scope, app.default_version(scope.account), now)
            # Locked, so a second press of Pay waits for the first and then sees it paid.
            invoice = ctx.objects.get(invoice_id, "invoice", for_update=True)
            if invoice is None:
                return _not_found()
            if not invoice_view.payable(invoice):
                return _render(tx, scope, invoice, secret, status=409, notice=_unpayable(invoice))
            method = payment_methods.create_from_data(ctx, card_data(form), param="payment_method_data")
            invoice = invoices.attempt_payment(
                ctx, invoice, off_session=False, payment_method=method["id"]
            )
            if invoice.get("status") == "paid":
                return RedirectResponse(page_url(app, invoice_id, secret), status_code=303)
            intent_id = _payment_intent_id(invoice)
            intent = ctx.objects.get(intent_id, "payment_intent", for_update=True) if intent_id else None
            if intent is not None and intent.get("status") == "requires_action":
                # The challenge page sends the person back to this invoice when it is done.
                intent["_return_url"] = page_url(app, invoice_id, secret)
                ctx.objects.save(intent)
                return RedirectResponse(challenge_url(ctx, intent), status_code=303)
            error = (intent or {}).get("last_payment_error") or {}
            message = str(error.get("message") or "Your card was declined.")
            return _render(tx, scope, invoice, secret, status=402, notice=message, name=name)
    except CardFormError as exc:
        return _refused(app, invoice_id, secret, 400, str(exc), name)
    except StripeError as exc:
        # Refused before any attempt (a mistyped number, an expired card): nothing was kept.
        status = exc.status if 400 <= exc.status < 500 else 400
        return _refused(app, invoice_id, secret, status, exc.message, name)


def _refused(
    app: Billfold, invoice_id: str, secret: str, status: int, message: str, name: str | None
) -> Response:
    """The page again, saying why the card form was refused (its transaction rolled back)."""
    with app.db.transaction(write=False) as tx:
        found = invoices.find_by_secret(tx, invoice_id, secret)
        if found is None:
            return _not_found()
        scope, invoice = found
        return _render(tx, scope, invoice, secret, status=status, notice=message, name=name)


def _payment_method_text(store: ObjectStore, invoice: dict[str, Any]) -> str | None:
    intent_id = _payment_intent_id(invoice)
    intent = store.get(intent_id, "payment_intent") if intent_id else None
    charge_id = (intent or {}).get("latest_charge")
    charge = store.get(str(charge_id), "charge") if charge_id else None
    card = ((charge or {}).get("payment_method_details") or {}).get("card") or {}
    if not card.get("last4"):
        return None
    return f"{str(card.get('brand') or 'card').title()} - {card['last4']}"


def _pdf(app: Billfold, invoice_id: str, secret: str, receipt: bool) -> Response:
    with app.db.transaction(write=False) as tx:
        found = invoices.find_by_secret(tx, invoice_id, secret) if secret else None
        if found is None:
            return _not_found()
        scope, invoice = found
        if receipt and invoice.get("status") != "paid":
            return _render(
                tx, scope, invoice, secret, status=404,
                notice="A receipt is available once the invoice is paid.",
            )
        store = ObjectStore(tx, scope)
        view = invoice_view.build(store, _merchant(tx, scope.account, invoice), invoice)
        size = ((invoice.get("rendering") or {}).get("pdf") or {}).get("page_size")
        paid_with = _payment_method_text(store, invoice) if receipt else None
    created = (invoice.get("status_transitions") or {}).get("finalized_at") or invoice.get("created")
    body = invoice_pdf.render(
        view, receipt=receipt, payment_method=paid_with, page_size=size, created=created
    )
    kind = "Receipt" if receipt else "Invoice"
    filename = re.sub(r"[^A-Za-z0-9._-]", "-", f"{kind}-{view.number or invoice_id}") + ".pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def routes(app: Billfold) -> list[BaseRoute]:
    async def invoice_page(request: Request) -> Response:
        invoice_id = request.path_params["invoice"]
        if request.method == "GET":
            query = dict(request.query_params)
            secret = query.pop("secret", "")
            return await run_in_threadpool(_show, app, invoice_id, secret, query)
        # A plain urlencoded form, parsed here so the page needs no multipart library.
        body = (await request.body())[:MAX_FORM].decode("utf-8", errors="replace")
        form = dict(parse_qsl(body, keep_blank_values=True))
        form.setdefault("secret", request.query_params.get("secret", ""))
        return await run_in_threadpool(_pay, app, invoice_id, form)

    async def pdf(request: Request) -> Response:
        secret = request.query_params.get("secret", "")
        return await run_in_threadpool(_pdf, app, request.path_params["invoice"], secret, False)

    async def receipt(request: Request) -> Response:
        secret = request.query_params.get("secret", "")
        return await run_in_threadpool(_pdf, app, request.path_params["invoice"], secret, True)

    return [
        Route(INVOICE_PATH, invoice_page, methods=["GET", "POST"]),
        Route(PDF_PATH, pdf, methods=["GET"]),
        Route(RECEIPT_PATH, receipt, methods=["GET"]),
    ]
