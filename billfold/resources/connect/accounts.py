"""Connected accounts: ``/v1/accounts`` (create, retrieve, update, list, delete, reject) and
``/v1/account``, the caller's own account.

Each connected account is a row in the ``accounts`` table naming its platform (which makes
``Stripe-Account`` work for that platform only) and an ``account`` object stored among the
platform's objects. ``requirements`` and the flags derived from them are recomputed on every
change (``requirements.refresh``).
"""

from __future__ import annotations

from typing import Any

from billfold import ids
from billfold.accounts import account_settings, create_connected, platform_of
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, PermissionError_, StateConflict
from billfold.resources.base import address, list_params, page
from billfold.resources.connect import external_accounts, payout_schedule
from billfold.resources.connect.account_params import COUNTRIES, CREATE, REJECT, UPDATE
from billfold.resources.connect.capabilities import publish, request, snapshot
from billfold.resources.connect.people import apply_company, apply_individual
from billfold.resources.connect.requirements import empty_requirements, refresh
from billfold.resources.connect.scope import as_account, load_account, save_account
from billfold.wire.params import apply_metadata
from billfold.wire.present import register
from billfold.wire.router import Routes

routes = Routes("accounts")

_EXPRESS = {
    "fees": {"payer": "application"},
    "is_controller": True,
    "losses": {"payments": "application"},
    "requirement_collection": "stripe",
    "stripe_dashboard": {"type": "express"},
    "type": "application",
}
_CUSTOM = {
    **_EXPRESS,
    "requirement_collection": "application",
    "stripe_dashboard": {"type": "none"},
}


def _controller(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The account's legacy ``type`` and its ``controller`` hash, from either parameter."""
    kind, given = params.get("type"), params.get("controller")
    if kind is not None and given is not None:
        raise InvalidRequestError(
            "You cannot pass both `type` and `controller`: describe the account with one of them.",
            param="controller",
        )
    if given is None:
        kind = kind or "standard"
        if kind == "express":
            return kind, dict(_EXPRESS)
        if kind == "custom":
            return kind, dict(_CUSTOM)
        return kind, {"type": "account"}
    controller = {
        "fees": {"payer": (given.get("fees") or {}).get("payer", "account")},
        "is_controller": True,
        "losses": {"payments": (given.get("losses") or {}).get("payments", "stripe")},
        "requirement_collection": given.get("requirement_collection", "stripe"),
        "stripe_dashboard": {"type": (given.get("stripe_dashboard") or {}).get("type", "full")},
        "type": "application",
    }
    dashboard = controller["stripe_dashboard"]["type"]
    if dashboard == "express":
        kind = "express"
    elif dashboard == "none" and controller["requirement_collection"] == "application":
        kind = "custom"
    elif dashboard == "full" and controller["losses"]["payments"] == "stripe":
        kind = "standard"
    else:
        kind = "none"
    return kind, controller


def _country(value: str | None, fallback: str) -> str:
    country = (value or fallback).upper()
    if country in COUNTRIES:
        return country
    if len(country) != 2 or not country.isalpha():
        raise InvalidRequestError(
            f"Country '{value}' is unknown. Try using a 2-character alphanumeric country code "
            "instead, such as 'US', 'EG', or 'GB'.",
            param="country",
        )
    raise InvalidRequestError(
        f"Connected accounts in {country} are not supported.", param="country"
    )


def _settings(country: str) -> dict[str, Any]:
    return {
        "bacs_debit_payments": {"display_name": None, "service_user_number": None},
        "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
        "card_issuing": {"tos_acceptance": {"date": None, "ip": None}},
        "card_payments": {
            "decline_on": {"avs_failure": False, "cvc_failure": False},
            "statement_descriptor_prefix": None,
            "statement_descriptor_prefix_kana": None,
            "statement_descriptor_prefix_kanji": None,
        },
        "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
        "invoices": {"default_account_tax_ids": None, "hosted_payment_method_save": None},
        "payments": {
            "statement_descriptor": None,
            "statement_descriptor_kana": None,
            "statement_descriptor_kanji": None,
            "statement_descriptor_prefix_kana": None,
            "statement_descriptor_prefix_kanji": None,
        },
        "payouts": {
            "debit_negative_balances": True,
            "schedule": {"delay_days": 2, "interval": "daily"},
            "statement_descriptor": None,
        },
        "sepa_debit_payments": {},
    }


def _business_profile() -> dict[str, Any]:
    return {
        "annual_revenue": {"amount": None, "currency": None, "fiscal_year_end": None},
        "estimated_worker_count": None,
        "mcc": None,
        "name": None,
        "product_description": None,
        "support_address": address({}),
        "support_email": None,
        "support_phone": None,
        "support_url": None,
        "url": None,
        "minority_owned_business_designation": None,
    }


def _apply_settings(current: dict[str, Any], changes: dict[str, Any]) -> None:
    for group in ("branding", "card_payments", "dashboard", "payments"):
        current[group].update(changes.get(group) or {})
    payouts = changes.get("payouts") or {}
    for name in ("debit_negative_balances", "statement_descriptor"):
        if name in payouts:
            current["payouts"][name] = payouts[name]
    if "schedule" in payouts:
        schedule = dict(current["payouts"]["schedule"])
        given = payouts["schedule"]
        if "delay_days" in given:
            schedule["delay_days"] = 2 if given["delay_days"] == "minimum" else given["delay_days"]
        interval = given.get("interval", schedule["interval"])
        result: dict[str, Any] = {"delay_days": schedule["delay_days"], "interval": interval}
        if interval == "weekly":
            result["weekly_anchor"] = given.get("weekly_anchor", schedule.get("weekly_anchor", "monday"))
        if interval == "monthly":
            result["monthly_anchor"] = given.get("monthly_anchor", schedule.get("monthly_anchor", 1))
        current["payouts"]["schedule"] = result


def apply_params(ctx: Ctx, account: dict[str, Any], params: dict[str, Any]) -> None:
    for name in ("business_type", "email", "default_currency"):
        if name in params:
            account[name] = params[name]
    if "metadata" in params:
        account["metadata"] = apply_metadata(account.get("metadata", {}), params["metadata"])
    profile = params.get("business_profile") or {}
    for name, value in profile.items():
        account["business_profile"][name] = address(value) if name == "support_address" else value
    if "individual" in params:
        apply_individual(account, params["individual"], ctx.now)
    if "company" in params:
        apply_company(account, params["company"])
    for name, value in (params.get("tos_acceptance") or {}).items():
        account["tos_acceptance"][name] = value
    if "settings" in params:
        _apply_settings(account["settings"], params["settings"])
        if "schedule" in (params["settings"].get("payouts") or {}):
            payout_schedule.plan(ctx, account)
    for name, value in (params.get("capabilities") or {}).items():
        if "requested" in value:
            request(account, name, bool(value["requested"]), ctx.now)
    if "external_account" in params:
        external_accounts.add(ctx, account, params["external_account"], "external_account")


@routes.post("/v1/accounts", CREATE)
def create_account(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if platform_of(ctx.tx, ctx.scope.account) is not None:
        raise PermissionError_(
            "A connected account cannot create accounts of its own: only its platform can "
            "create connected accounts."
        )
    kind, controller = _controller(params)
    country = _country(params.get("country"), str(ctx.account_settings["country"]))
    account_id = ids.new_id("account", 16)
    account: dict[str, Any] = {
        "id": account_id,
        "object": "account",
        "business_profile": _business_profile(),
        "business_type": None,
        "capabilities": {},
        "charges_enabled": False,
        "controller": controller,
        "country": country,
        "created": ctx.now,
        "default_currency": COUNTRIES[country],
        "details_submitted": False,
        "email": None,
        "future_requirements": empty_requirements(),
        "metadata": {},
        "payouts_enabled": False,
        "requirements": empty_requirements(),
        "settings": _settings(country),
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": kind,
        "_platform": ctx.scope.account,
        "_capabilities": {},
        "_has_external_account": False,
    }
    create_connected(ctx.tx, account_id, ctx.scope.account, ctx.now)
    if kind == "standard" and "capabilities" not in params:
        # Stripe requests the payment capabilities of a Standard account itself.
        for name in ("card_payments", "transfers"):
            request(account, name, True, ctx.now)
    apply_params(ctx, account, params)
    refresh(account)
    ctx.objects.insert(account)
    return account


def _platform_account(ctx: Ctx) -> dict[str, Any]:
    """The platform's own account object, made from its settings."""
    settings = account_settings(ctx.tx, ctx.scope.account)
    row = ctx.tx.one("SELECT created FROM accounts WHERE id = :id", id=ctx.scope.account)
    profile = _business_profile()
    profile["name"] = settings.get("business_name")
    country = str(settings["country"])
    return {
        "id": ctx.scope.account,
        "object": "account",
        "business_profile": profile,
        "business_type": None,
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "controller": {"type": "account"},
        "country": country,
        "created": int(row.created) if row is not None else ctx.now,
        "default_currency": settings["default_currency"],
        "details_submitted": True,
        "email": settings.get("email"),
        "future_requirements": empty_requirements(),
        "metadata": {},
        "payouts_enabled": True,
        "requirements": empty_requirements(),
        "settings": _settings(country),
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": "standard",
    }


def _own_or_connected(ctx: Ctx, account: str, *, for_update: bool = False) -> dict[str, Any]:
    if account == ctx.scope.account and platform_of(ctx.tx, account) is None:
        return _platform_account(ctx)
    return load_account(ctx, account, param="account", for_update=for_update)


@routes.get("/v1/account")
def retrieve_own_account(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return _own_or_connected(ctx, ctx.scope.account)


@routes.get("/v1/accounts/{account}")
def retrieve_account(ctx: Ctx, params: dict[str, Any], account: str) -> dict[str, Any]:
    return _own_or_connected(ctx, account)


@routes.post("/v1/accounts/{account}", UPDATE)
def update_account(ctx: Ctx, params: dict[str, Any], account: str) -> dict[str, Any]:
    doc = load_account(ctx, account, for_update=True)
    before = snapshot(doc)
    apply_params(ctx, doc, params)
    publish(ctx, doc, before)
    return doc


@routes.delete("/v1/accounts/{account}")
def delete_account(ctx: Ctx, params: dict[str, Any], account: str) -> dict[str, Any]:
    if account == ctx.scope.account:
        raise PermissionError_("An account cannot delete itself: only its platform can delete it.")
    doc = load_account(ctx, account, for_update=True)
    application = {"id": f"ca_{ctx.scope.account.removeprefix('acct_')}", "object": "application", "name": None}
    as_account(ctx, account).emit("account.application.deauthorized", application)
    save_account(ctx, {**doc, "deleted": True}, deleted=True)
    return {"id": account, "object": "account", "deleted": True}


@routes.post("/v1/accounts/{account}/reject", REJECT)
def reject_account(ctx: Ctx, params: dict[str, Any], account: str) -> dict[str, Any]:
    doc = load_account(ctx, account, for_update=True)
    if doc["type"] == "standard":
        raise InvalidRequestError(
            "You can only reject accounts your platform is liable for (Express and Custom "
            "accounts); this is a Standard account.",
            param="account",
        )
    if doc.get("_rejected"):
        raise StateConflict(f"The account {account} has already been rejected.", param="account")
    before = snapshot(doc)
    doc["_rejected"] = params["reason"]
    publish(ctx, doc, before)
    return doc


@routes.get("/v1/accounts", list_params())
def list_accounts(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return page(ctx, "account", "/v1/accounts", params)


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    lists = external_accounts.first_page(ctx, str(data["id"]))
    result: dict[str, Any] = {}
    for key, value in data.items():
        result[key] = value
        if key == "email":
            result["external_accounts"] = lists
    result.setdefault("external_accounts", lists)
    return result


register("account", render=_render)
