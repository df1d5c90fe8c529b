"""Connect onboarding (``/billfold/connect/onboarding/{token}``) and the Express dashboard
stand-in (``/billfold/connect/express/{token}``).

An account link's token is the only credential: GET shows a form for what the account still
owes, prefilled with Stripe's test values; POST completes it in one write transaction (the
account's requirements, capabilities, events) and sends the person to ``return_url``. An
expired or used link sends them to ``refresh_url`` instead, as Stripe's links do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from billfold.context import Ctx
from billfold.errors import StripeError
from billfold.resources.connect.account_links import LINK_OBJECT, ONBOARDING_PATH
from billfold.resources.connect.account_params import UPDATE
from billfold.resources.connect.accounts import apply_params
from billfold.resources.connect.capabilities import publish, snapshot
from billfold.resources.connect.login_links import EXPRESS_PATH, LOGIN_OBJECT
from billfold.resources.connect.scope import load_account
from billfold.store.objects import ObjectStore, Scope
from billfold.wire.params import parse_fields

if TYPE_CHECKING:
    from billfold.app import Billfold
    from billfold.store.db import Tx

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
MAX_FORM = 16_384

# Stripe's test-mode values that verify at once (address_full_match, DOB 1901-01-01, SSN 0000).
_ADDRESS = {"line1": "address_full_match", "city": "San Francisco", "state": "CA", "postal_code": "94111"}
TEST_VALUES: dict[str, str] = {
    "individual.first_name": "Jenny",
    "individual.last_name": "Rosen",
    "individual.email": "jenny.rosen@example.com",
    "individual.phone": "0000000000",
    "individual.dob.day": "1",
    "individual.dob.month": "1",
    "individual.dob.year": "1901",
    "individual.ssn_last_4": "0000",
    **{f"individual.address.{k}": v for k, v in _ADDRESS.items()},
    "company.name": "Rosen Goods LLC",
    "company.phone": "0000000000",
    "company.tax_id": "000000000",
    **{f"company.address.{k}": v for k, v in _ADDRESS.items()},
    "business_profile.mcc": "5734",
    "business_profile.url": "https://accessible.stripe.com",
    "external_account.routing_number": "110000000",
    "external_account.account_number": "000123456789",
}
LABELS: dict[str, str] = {
    "first_name": "First name", "last_name": "Last name", "email": "Email", "phone": "Phone",
    "day": "Birth day", "month": "Birth month", "year": "Birth year", "ssn_last_4": "SSN (last 4)",
    "line1": "Address", "city": "City", "state": "State", "postal_code": "ZIP code",
    "name": "Legal business name", "tax_id": "EIN", "mcc": "Industry (MCC)", "url": "Website",
    "routing_number": "Routing number", "account_number": "Account number",
}


def _page(status: int = 200, **values: Any) -> HTMLResponse:
    html = TEMPLATES.get_template("connect_onboarding.html").render(**values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _find(tx: Tx, token: str, kind: str, *, for_update: bool = False) -> tuple[Scope, dict[str, Any]] | None:
    row = tx.one(
        "SELECT account, livemode, data FROM objects WHERE id = :id AND object = :object"
        + (tx.for_update if for_update else ""),
        id=token,
        object=kind,
    )
    if row is None:
        return None
    data: dict[str, Any] = json.loads(row.data)
    return Scope(row.account, bool(row.livemode)), data


def _fields(account: dict[str, Any]) -> list[dict[str, str]]:
    """The form's inputs: the account's business type's details, its profile, a bank account."""
    holder = "company" if account.get("business_type") not in (None, "individual") else "individual"
    names = [n for n in TEST_VALUES if n.startswith(f"{holder}.") or n.startswith("business_profile.")]
    if not account.get("_has_external_account"):
        names += ["external_account.routing_number", "external_account.account_number"]
    return [
        {"name": name, "label": LABELS.get(name.rsplit(".", 1)[1], name), "value": TEST_VALUES[name]}
        for name in names
    ]


def _nest(form: dict[str, str], account: dict[str, Any]) -> dict[str, Any]:
    """Form names such as ``individual.dob.day`` as the API's nested parameters."""
    params: dict[str, Any] = {}
    for name, value in form.items():
        if "." not in name or name.split(".", 1)[0] not in TEST_VALUES_ROOTS or value == "":
            continue
        node = params
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    if "external_account" in params:
        params["external_account"].update({"object": "bank_account", "country": account["country"]})
    if "individual" in params:
        params["business_type"] = account.get("business_type") or "individual"
    return params


TEST_VALUES_ROOTS = {"individual", "company", "business_profile", "external_account"}


def _usable(link: dict[str, Any], now: int) -> bool:
    return not link.get("used") and now <= int(link["expires_at"])


def _show(app: Billfold, token: str) -> Response:
    with app.db.transaction(write=False) as tx:
        found = _find(tx, token, LINK_OBJECT)
        if found is None:
            return _page(404, mode="error", title="Link not found", message="This onboarding link does not exist.")
        scope, link = found
        if not _usable(link, app.clock.now()):
            return RedirectResponse(link["refresh_url"], status_code=302)
        ctx = Ctx(app, tx, scope, app.default_version(scope.account), app.clock.now())
        account = load_account(ctx, link["account"])
    return _page(
        mode="form",
        title="Set up payments",
        account=account["id"],
        due=(account.get("requirements") or {}).get("currently_due") or [],
        fields=_fields(account),
        action=ONBOARDING_PATH.format(token=token),
        test_mode=not scope.livemode,
    )


def _submit(app: Billfold, token: str, form: dict[str, str], ip: str, agent: str) -> Response:
    try:
        with app.db.transaction() as tx:
            found = _find(tx, token, LINK_OBJECT, for_update=True)
            if found is None:
                return _page(404, mode="error", title="Link not found", message="This onboarding link does not exist.")
            scope, link = found
            now = app.clock.now()
            if not _usable(link, now):
                return RedirectResponse(link["refresh_url"], status_code=303)
            ctx = Ctx(app, tx, scope, app.default_version(scope.account), now)
            account = load_account(ctx, link["account"], for_update=True)
            params = parse_fields(UPDATE, _nest(form, account))
            params["tos_acceptance"] = {"date": now, "ip": ip, "user_agent": agent[:5000]}
            before = snapshot(account)
            apply_params(ctx, account, params)
            account["details_submitted"] = True
            publish(ctx, account, before)
            ctx.objects.save({**link, "used": True})
    except StripeError as exc:
        return _page(400, mode="error", title="Check your details", message=exc.message)
    return RedirectResponse(link["return_url"], status_code=303)


def _express(app: Billfold, token: str) -> Response:
    with app.db.transaction(write=False) as tx:
        found = _find(tx, token, LOGIN_OBJECT)
        if found is None or app.clock.now() > int(found[1]["expires_at"]):
            return _page(404, mode="error", title="Link expired", message="This login link has expired.")
        scope, link = found
        account = ObjectStore(tx, scope).get(link["account"], "account")
    if account is None:
        return _page(404, mode="error", title="Account unavailable", message="This account no longer exists.")
    return _page(
        mode="express",
        title="Your Express dashboard",
        account=account["id"],
        email=account.get("email"),
        charges_enabled=account.get("charges_enabled"),
        payouts_enabled=account.get("payouts_enabled"),
        test_mode=not scope.livemode,
    )


def routes(app: Billfold) -> list[BaseRoute]:
    async def onboarding(request: Request) -> Response:
        token = request.path_params["token"]
        if request.method == "GET":
            return await run_in_threadpool(_show, app, token)
        body = (await request.body())[:MAX_FORM].decode("utf-8", errors="replace")
        form = dict(parse_qsl(body, keep_blank_values=True))
        ip = request.client.host if request.client else "127.0.0.1"
        agent = request.headers.get("user-agent", "")
        return await run_in_threadpool(_submit, app, token, form, ip, agent)

    async def express(request: Request) -> Response:
        return await run_in_threadpool(_express, app, request.path_params["token"])

    return [
        Route(ONBOARDING_PATH, onboarding, methods=["GET", "POST"]),
        Route(EXPRESS_PATH, express, methods=["GET"]),
    ]
