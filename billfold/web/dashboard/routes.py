"""The dashboard's routes: ``/dashboard/...``, every one behind a login but the login itself.

``GUARDED`` is the route table: each entry is reached only through ``_guard``, which refuses a
request without a valid session (a GET is sent to the login page, anything else gets 403) and a
POST whose form lacks the session's CSRF token (403). Tests enumerate the same table, so a new
page is covered by the login tests as soon as it is added here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from billfold.errors import StripeError
from billfold.store.objects import Scope
from billfold.web.dashboard import actions, queries
from billfold.web.dashboard.session import COOKIE, MAX_AGE, Session, Sessions, csrf_ok
from billfold.web.dashboard.templating import render_page

if TYPE_CHECKING:
    from billfold.app import Billfold

BASE = "/dashboard"
LOGIN = f"{BASE}/login"
MAX_FORM = 16_384
# Headers on every dashboard response: never cached, never framed, no inline script.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
}
NAV = [
    ("payments", "Payments"), ("customers", "Customers"), ("subscriptions", "Subscriptions"),
    ("invoices", "Invoices"), ("connected_accounts", "Connected accounts"), ("events", "Events"),
    ("radar", "Radar rules"), ("test_clocks", "Test clocks"),
]
NOTICES = {
    "resent": "The event was queued for delivery again.",
    "rule_added": "The rule was added.",
    "rule_removed": "The rule was removed.",
    "advancing": "The test clock is advancing.",
}


@dataclass
class Call:
    """One authenticated dashboard request."""

    request: Request
    app: Billfold
    sessions: Sessions
    session: Session
    form: dict[str, str]

    @property
    def scope(self) -> Scope:
        return Scope(self.app.platform_account, self.session.live)

    def param(self, name: str) -> str:
        return str(self.request.path_params.get(name, ""))

    def cursor(self) -> dict[str, str]:
        query = self.request.query_params
        return {k: query[k] for k in ("starting_after", "ending_before") if query.get(k)}


Handler = Callable[[Call], Awaitable[Response]]


def _html(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def _page(call: Call, template: str, title: str, section: str, status: int = 200, **values: Any) -> Response:
    notice = NOTICES.get(call.request.query_params.get("done", ""))
    html = render_page(
        template, title=title, section=section, nav=NAV, session=call.session,
        here=call.request.url.path, notice=notice, **values,
    )
    return _html(html, status)


def _missing(call: Call, what: str, object_id: str) -> Response:
    return _page(call, "missing.html", "Not found", "", 404, what=what, object_id=object_id)


async def _read(call: Call, work: Callable[..., Any], *args: Any) -> Any:
    def run() -> Any:
        with queries.reading(call.app, call.scope) as ctx:
            return work(ctx, *args)

    return await run_in_threadpool(run)


# ---- list pages ---------------------------------------------------------------------------


def _list_page(template: str, title: str, section: str, load: Callable[..., queries.Listing]) -> Handler:
    async def show(call: Call) -> Response:
        try:
            listing = await _read(call, load, call.cursor())
        except StripeError:  # a cursor from the other mode, or of an object since deleted
            return _see_other(f"{BASE}/{section}")
        return _page(call, template, title, section, listing=listing)

    return show


async def home(call: Call) -> Response:
    return _see_other(f"{BASE}/payments")


async def payment(call: Call) -> Response:
    found = await _read(call, queries.payment, call.param("id"))
    if found is None:
        return _missing(call, "payment", call.param("id"))
    return _page(call, "payment.html", "Payment " + call.param("id"), "payments", **found)


async def customer(call: Call) -> Response:
    found = await _read(call, queries.customer, call.param("id"))
    if found is None:
        return _missing(call, "customer", call.param("id"))
    return _page(call, "customer.html", "Customer " + call.param("id"), "customers", **found)


async def events(call: Call) -> Response:
    event_type = call.request.query_params.get("type", "").strip()[:100] or None
    try:
        listing = await _read(call, queries.events, call.cursor(), event_type)
    except StripeError:
        return _see_other(f"{BASE}/events")
    return _page(call, "events.html", "Events", "events", listing=listing, event_type=event_type or "")


async def event(call: Call) -> Response:
    found = await _read(call, queries.event, call.param("id"))
    if found is None:
        return _missing(call, "event", call.param("id"))
    return _page(call, "event.html", "Event " + call.param("id"), "events", **found)


async def radar(call: Call, error: str = "", status: int = 200) -> Response:
    from billfold.resources.radar.rule_store import all_rules

    rules = await _read(call, all_rules)
    return _page(call, "radar.html", "Radar rules", "radar", status, rules=rules, error=error,
                 form=call.form)


async def test_clocks(call: Call, error: str = "", status: int = 200) -> Response:
    try:
        listing = await _read(call, queries.test_clocks, call.cursor())
    except StripeError:
        return _see_other(f"{BASE}/test_clocks")
    return _page(call, "test_clocks.html", "Test clocks", "test_clocks", status, listing=listing,
                 error=error)


# ---- actions (POST) -----------------------------------------------------------------------


async def resend(call: Call) -> Response:
    event_id = call.param("id")
    try:
        await run_in_threadpool(actions.resend, call.app, call.scope, event_id, call.form.get("endpoint", ""))
    except StripeError as exc:
        return _page(call, "missing.html", "Cannot resend", "events", 404, what="delivery",
                     object_id=event_id, message=exc.message)
    return _see_other(f"{BASE}/events/{quote(event_id)}?done=resent")


async def add_rule(call: Call) -> Response:
    try:
        await run_in_threadpool(
            actions.add_radar_rule, call.app, call.scope, call.form.get("rule", ""),
            call.form.get("position", ""),
        )
    except StripeError as exc:
        return await radar(call, exc.message, 400)
    return _see_other(f"{BASE}/radar?done=rule_added")


async def remove_rule(call: Call) -> Response:
    try:
        await run_in_threadpool(actions.remove_radar_rule, call.app, call.scope, call.param("id"))
    except StripeError as exc:
        return await radar(call, exc.message, 404 if exc.status == 404 else 400)
    return _see_other(f"{BASE}/radar?done=rule_removed")


async def advance(call: Call) -> Response:
    try:
        await run_in_threadpool(
            actions.advance_clock, call.app, call.scope, call.param("id"),
            call.form.get("frozen_time", ""),
        )
    except StripeError as exc:
        return await test_clocks(call, exc.message, exc.status if 400 <= exc.status < 500 else 400)
    return _see_other(f"{BASE}/test_clocks?done=advancing")


def _cookie(response: Response, call_sessions: Sessions, session: Session, secure: bool) -> None:
    response.set_cookie(
        COOKIE, call_sessions.dump(session), max_age=MAX_AGE, path=BASE, httponly=True,
        samesite="lax", secure=secure,
    )


def _back_to(raw: str | None) -> str:
    """Only a dashboard path: never another site (``//host``) or another part of Billfold."""
    if raw and raw.startswith(BASE + "/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return f"{BASE}/payments"


async def switch_mode(call: Call) -> Response:
    live = call.form.get("mode") == "live"
    # A list cursor belongs to one mode, so the switch lands on the list, not the same page.
    back = _back_to(call.form.get("next")).split("?")[0]
    parts = back[len(BASE) + 1:].split("/")
    response = _see_other(f"{BASE}/{parts[0]}")
    _cookie(response, call.sessions, call.session.with_mode(live), _secure(call.app))
    return response


async def logout(call: Call) -> Response:
    response = _see_other(LOGIN)
    response.delete_cookie(COOKIE, path=BASE)
    return response


# (method, path, handler): every route here needs a session; POSTs need the CSRF token too.
GUARDED: list[tuple[str, str, Handler]] = [
    ("GET", BASE, home),
    ("GET", f"{BASE}/", home),
    ("GET", f"{BASE}/payments", _list_page("payments.html", "Payments", "payments", queries.payments)),
    ("GET", f"{BASE}/payments/{{id}}", payment),
    ("GET", f"{BASE}/customers", _list_page("customers.html", "Customers", "customers", queries.customers)),
    ("GET", f"{BASE}/customers/{{id}}", customer),
    ("GET", f"{BASE}/subscriptions",
     _list_page("subscriptions.html", "Subscriptions", "subscriptions", queries.subscriptions)),
    ("GET", f"{BASE}/invoices", _list_page("invoices.html", "Invoices", "invoices", queries.invoices)),
    ("GET", f"{BASE}/connected_accounts",
     _list_page("connected_accounts.html", "Connected accounts", "connected_accounts",
              queries.connected_accounts)),
    ("GET", f"{BASE}/events", events),
    ("GET", f"{BASE}/events/{{id}}", event),
    ("POST", f"{BASE}/events/{{id}}/resend", resend),
    ("GET", f"{BASE}/radar", radar),
    ("POST", f"{BASE}/radar/rules", add_rule),
    ("POST", f"{BASE}/radar/rules/{{id}}/remove", remove_rule),
    ("GET", f"{BASE}/test_clocks", test_clocks),
    ("POST", f"{BASE}/test_clocks/{{id}}/advance", advance),
    ("POST", f"{BASE}/mode", switch_mode),
    ("POST", f"{BASE}/logout", logout),
]


def _secure(app: Billfold) -> bool:
    return app.settings.public_url.startswith("https://")


async def _form(request: Request) -> dict[str, str]:
    # A plain urlencoded form, parsed here so the dashboard needs no multipart library.
    body = (await request.body())[:MAX_FORM].decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def _refused(message: str) -> HTMLResponse:
    return _html(render_page("refused.html", title="Forbidden", message=message, session=None), 403)


def _guard(app: Billfold, sessions: Sessions, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        session = await run_in_threadpool(sessions.load, request.cookies.get(COOKIE))
        if session is None:
            if request.method in ("GET", "HEAD"):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return _see_other(f"{LOGIN}?{urlencode({'next': target})}")
            return _refused("Log in to the dashboard first.")
        form: dict[str, str] = {}
        if request.method == "POST":
            form = await _form(request)
            if not csrf_ok(session, form.get("csrf_token")):
                return _refused("This form has expired or did not come from the dashboard; reload the page and try again.")
        return await handler(Call(request, app, sessions, session, form))

    return endpoint


def routes(app: Billfold) -> list[BaseRoute]:
    sessions = Sessions(app)

    async def login(request: Request) -> Response:
        next_url = _back_to(request.query_params.get("next"))
        if request.method == "GET":
            if await run_in_threadpool(sessions.load, request.cookies.get(COOKIE)) is not None:
                return _see_other(next_url)
            return _login_page(next_url, "", 200)
        form = await _form(request)
        next_url = _back_to(form.get("next"))
        session = await run_in_threadpool(sessions.login, form.get("credential", ""))
        if session is None:
            await asyncio.sleep(0.25)  # slows guessing a password down a little
            return _login_page(next_url, "That is not a secret key of this platform, nor the dashboard password.", 401)
        response = _see_other(next_url)
        _cookie(response, sessions, session, _secure(app))
        return response

    def _login_page(next_url: str, error: str, status: int) -> Response:
        html = render_page(
            "login.html", title="Log in", next_url=next_url, error=error, session=None,
            password_enabled=bool(app.settings.dashboard_password),
        )
        return _html(html, status)

    table: dict[str, tuple[list[str], dict[str, Handler]]] = {}
    for method, path, handler in GUARDED:
        methods, handlers = table.setdefault(path, ([], {}))
        methods.append(method)
        handlers[method] = handler
    found: list[BaseRoute] = [Route(LOGIN, login, methods=["GET", "POST"])]
    for path, (methods, handlers) in table.items():
        if len(handlers) == 1:
            (handler,) = handlers.values()
            found.append(Route(path, _guard(app, sessions, handler), methods=methods))
        else:
            found.append(Route(path, _by_method(app, sessions, handlers), methods=methods))
    # Anything else under /dashboard needs a session too before it may even say "not found".
    found.append(Route(f"{BASE}/{{rest:path}}", _guard(app, sessions, _nothing), methods=["GET", "POST"]))
    return found


async def _nothing(call: Call) -> Response:
    return _page(call, "missing.html", "Not found", "", 404, what="page", object_id=call.request.url.path)


def _by_method(app: Billfold, sessions: Sessions, handlers: dict[str, Handler]) -> Callable[[Request], Awaitable[Response]]:
    guarded = {method: _guard(app, sessions, handler) for method, handler in handlers.items()}

    async def endpoint(request: Request) -> Response:
        return await guarded[request.method](request)

    return endpoint
