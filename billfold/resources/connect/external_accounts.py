"""External accounts: ``/v1/accounts/{account}/external_accounts``, where payouts are sent.

Bank accounts only. Stripe's test numbers are honoured: routing 110000000 with account
000123456789 succeeds; the failing numbers (000111111116 no_account, ...) are accepted and
keep their failure code privately (``_payout_failure``) so a payout to them can fail later.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing, StateConflict
from billfold.events.record import diff
from billfold.resources.base import list_params, page
from billfold.resources.connect.requirements import refresh
from billfold.resources.connect.scope import as_account, load_account, save_account
from billfold.wire.params import AnyOf, Bool, Currency, Dict, Metadata, Spec, Str, apply_metadata
from billfold.wire.present import list_object, register
from billfold.wire.router import Routes

routes = Routes("accounts")

TEST_ROUTING = "110000000"
SUCCEEDING = "000123456789"
# Stripe's test account numbers whose payouts fail, with the failure code they give.
PAYOUT_FAILURES: dict[str, str] = {
    "000111111116": "no_account",
    "000111111113": "account_closed",
    "000222222227": "insufficient_funds",
    "000333333335": "debit_not_authorized",
    "000444444440": "invalid_currency",
}
# Stripe's bank account test tokens, as the account numbers they stand for.
TEST_TOKENS: dict[str, str] = {
    "btok_us": SUCCEEDING,
    "btok_us_verified": SUCCEEDING,
    "btok_us_verified_noAccount": "000111111116",
    "btok_us_verified_accountClosed": "000111111113",
    "btok_us_verified_insufficientFunds": "000222222227",
    "btok_us_verified_debitNotAuthorized": "000333333335",
    "btok_us_verified_invalidCurrency": "000444444440",
}

BANK_ACCOUNT = Dict(
    fields={
        "object": Str(required=True, enum=("bank_account",)),
        "country": Str(required=True, max_length=2),
        "currency": Currency(),
        "account_holder_name": Str(max_length=5000),
        "account_holder_type": Str(enum=("company", "individual")),
        "account_number": Str(required=True, max_length=5000),
        "routing_number": Str(max_length=5000),
        "metadata": Metadata(),
    }
)
EXTERNAL_ACCOUNT = AnyOf(options=(Str(max_length=5000), BANK_ACCOUNT))
CREATE: dict[str, Spec] = {
    "external_account": AnyOf(options=EXTERNAL_ACCOUNT.options, required=True),
    "default_for_currency": Bool(),
    "metadata": Metadata(),
}
UPDATE: dict[str, Spec] = {
    "account_holder_name": Str(emptyable=True, max_length=5000),
    "account_holder_type": Str(enum=("company", "individual"), emptyable=True),
    "default_for_currency": Bool(),
    "metadata": Metadata(),
}


def _details(account: dict[str, Any], value: Any, param: str) -> dict[str, Any]:
    if isinstance(value, str):
        number = TEST_TOKENS.get(value)
        if number is None:
            raise InvalidRequestError(f"No such token: '{value}'", code="resource_missing", param=param)
        return {"object": "bank_account", "country": "US", "currency": "usd",
                "routing_number": TEST_ROUTING, "account_number": number}
    return dict(value)


def build_bank_account(account: dict[str, Any], value: Any, param: str, now: int) -> dict[str, Any]:
    """A bank_account object from a token or raw details; bad numbers are refused with Stripe's codes."""
    details = _details(account, value, param)
    country = str(details["country"]).upper()
    number = str(details["account_number"])
    routing = details.get("routing_number")
    if country == "US":
        if routing is None or not re.fullmatch(r"\d{9}", str(routing)):
            raise InvalidRequestError(
                "Routing number must have 9 digits", code="routing_number_invalid",
                param=f"{param}[routing_number]",
            )
    if not re.fullmatch(r"\d{4,17}", number):
        raise InvalidRequestError(
            "Invalid account number: must contain only digits, and be between 4 and 17 digits long",
            code="account_number_invalid", param=f"{param}[account_number]",
        )
    fingerprint = hashlib.sha256(f"{routing}:{number}".encode()).hexdigest()[:16]
    bank: dict[str, Any] = {
        "id": ids.new_id("bank_account"),
        "object": "bank_account",
        "account": account["id"],
        "account_holder_name": details.get("account_holder_name"),
        "account_holder_type": details.get("account_holder_type"),
        "account_type": None,
        "available_payout_methods": ["standard", "instant"],
        "bank_name": "STRIPE TEST BANK" if routing == TEST_ROUTING else None,
        "country": country,
        # Stripe's bank_account shows no ``created``; the store orders by it (see _render).
        "created": now,
        "currency": details.get("currency") or account.get("default_currency") or "usd",
        "customer": None,
        "default_for_currency": False,
        "fingerprint": fingerprint,
        "last4": number[-4:],
        "metadata": apply_metadata({}, details.get("metadata") or {}),
        "routing_number": routing,
        "status": "new",
    }
    if number in PAYOUT_FAILURES:
        bank["_payout_failure"] = PAYOUT_FAILURES[number]
    return bank


def _defaults(conn: Ctx, currency: str) -> list[dict[str, Any]]:
    found = conn.objects.page("bank_account", limit=100)
    return [b for b in found.data if b["currency"] == currency and b.get("default_for_currency")]


def _make_default(conn: Ctx, bank: dict[str, Any]) -> None:
    for other in _defaults(conn, bank["currency"]):
        if other["id"] != bank["id"]:
            before = dict(other)
            other["default_for_currency"] = False
            conn.objects.save(other)
            conn.emit("account.external_account.updated", other, diff(before, other))
    bank["default_for_currency"] = True


def add(ctx: Ctx, account: dict[str, Any], value: Any, param: str, *, default: bool = False) -> dict[str, Any]:
    """Attach a bank account to a connected account (the caller saves ``account``)."""
    conn = as_account(ctx, account["id"])
    bank = build_bank_account(account, value, param, ctx.now)
    first = not _defaults(conn, bank["currency"])
    if default or first:
        _make_default(conn, bank)
    conn.objects.insert(bank)
    conn.emit("account.external_account.created", bank)
    account["_has_external_account"] = True
    return bank


def _load(conn: Ctx, account: str, external_account: str) -> dict[str, Any]:
    found = conn.objects.get(external_account, "bank_account")
    if found is None:
        raise ResourceMissing("external account", external_account)
    return found


@routes.post("/v1/accounts/{account}/external_accounts", CREATE)
def create_external_account(ctx: Ctx, params: dict[str, Any], account: str) -> dict[str, Any]:
    doc = load_account(ctx, account, for_update=True)
    bank = add(ctx, doc, params["external_account"], "external_account",
               default=bool(params.get("default_for_currency")))
    if "metadata" in params:
        bank["metadata"] = apply_metadata(bank["metadata"], params["metadata"])
        as_account(ctx, account).objects.save(bank)
    refresh(doc)
    save_account(ctx, doc)
    return bank


@routes.get("/v1/accounts/{account}/external_accounts/{external_account}")
def retrieve_external_account(
    ctx: Ctx, params: dict[str, Any], account: str, external_account: str
) -> dict[str, Any]:
    load_account(ctx, account)
    return _load(as_account(ctx, account), account, external_account)


@routes.post("/v1/accounts/{account}/external_accounts/{external_account}", UPDATE)
def update_external_account(
    ctx: Ctx, params: dict[str, Any], account: str, external_account: str
) -> dict[str, Any]:
    load_account(ctx, account)
    conn = as_account(ctx, account)
    bank = _load(conn, account, external_account)
    before = dict(bank)
    for name in ("account_holder_name", "account_holder_type"):
        if name in params:
            bank[name] = params[name]
    if "metadata" in params:
        bank["metadata"] = apply_metadata(bank.get("metadata", {}), params["metadata"])
    if params.get("default_for_currency"):
        _make_default(conn, bank)
    conn.objects.save(bank)
    changed = {k: v for k, v in diff(before, bank).items() if not k.startswith("_")}
    if changed:
        conn.emit("account.external_account.updated", bank, changed)
    return bank


@routes.delete("/v1/accounts/{account}/external_accounts/{external_account}")
def delete_external_account(
    ctx: Ctx, params: dict[str, Any], account: str, external_account: str
) -> dict[str, Any]:
    doc = load_account(ctx, account, for_update=True)
    conn = as_account(ctx, account)
    bank = _load(conn, account, external_account)
    if bank.get("default_for_currency"):
        raise StateConflict(
            "You cannot delete the default bank account for your default currency. Please make "
            "another bank account the default using the `default_for_currency` param, and then "
            "delete this one.",
            param="external_account",
        )
    conn.objects.save({**bank, "deleted": True}, deleted=True)
    conn.emit("account.external_account.deleted", bank)
    doc["_has_external_account"] = bool(conn.objects.page("bank_account", limit=1).data)
    refresh(doc)
    save_account(ctx, doc)
    return {"id": bank["id"], "object": "bank_account", "deleted": True}


@routes.get(
    "/v1/accounts/{account}/external_accounts",
    list_params(object=Str(enum=("bank_account", "card"))),
)
def list_external_accounts(ctx: Ctx, params: dict[str, Any], account: str) -> dict[str, Any]:
    load_account(ctx, account)
    url = f"/v1/accounts/{account}/external_accounts"
    if params.get("object") == "card":
        # Billfold pays out to bank accounts only.
        return list_object(url, [], False)
    return page(as_account(ctx, account), "bank_account", url, params)


def first_page(ctx: Ctx, account_id: str) -> dict[str, Any]:
    """The ``external_accounts`` list an account object shows."""
    url = f"/v1/accounts/{account_id}/external_accounts"
    return page(as_account(ctx, account_id), "bank_account", url, {})


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    data.pop("created", None)
    return data


register("bank_account", expandable=("account",), render=_render)
