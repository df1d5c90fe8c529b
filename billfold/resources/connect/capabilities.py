"""Capabilities: ``/v1/accounts/{account}/capabilities``, and publishing an account's changes.

A capability's state lives on its account (``_capabilities``), so one save keeps the account's
``capabilities`` hash and the capability objects in step.
"""

from __future__ import annotations

import json
from typing import Any

from billfold.context import Ctx
from billfold.errors import ResourceMissing
from billfold.events.record import diff
from billfold.resources.connect.requirements import (
    CAPABILITIES,
    capability_requirements,
    capability_status,
    empty_requirements,
    refresh,
)
from billfold.resources.connect.scope import as_account, load_account, save_account
from billfold.wire.params import LIST_PARAMS, Bool, Spec
from billfold.wire.present import list_object, register
from billfold.wire.router import Routes

routes = Routes("accounts")

UPDATE: dict[str, Spec] = {"requested": Bool()}


def snapshot(account: dict[str, Any]) -> dict[str, Any]:
    """A deep copy to compare against after a change."""
    copied: dict[str, Any] = json.loads(json.dumps(account))
    return copied


def request(account: dict[str, Any], name: str, requested: bool, now: int) -> None:
    capabilities = account.setdefault("_capabilities", {})
    entry = capabilities.get(name)
    if requested and (entry is None or not entry.get("requested")):
        capabilities[name] = {"requested": True, "requested_at": now, "status": "inactive"}
    elif not requested and entry is not None:
        entry.update({"requested": False, "requested_at": None, "status": "unrequested"})


def capability_object(account: dict[str, Any], name: str) -> dict[str, Any]:
    entry = (account.get("_capabilities") or {}).get(name) or {}
    return {
        "id": name,
        "object": "capability",
        "account": account["id"],
        "future_requirements": empty_requirements(),
        "requested": bool(entry.get("requested")),
        "requested_at": entry.get("requested_at"),
        "requirements": capability_requirements(account, name),
        "status": capability_status(account, name),
    }


def publish(ctx: Ctx, account: dict[str, Any], before: dict[str, Any]) -> None:
    """Save a changed account and tell its platform: account.updated, capability.updated."""
    refresh(account)
    save_account(ctx, account)
    conn = as_account(ctx, account["id"])
    previous = {k: v for k, v in diff(before, account).items() if not k.startswith("_")}
    if previous:
        conn.emit("account.updated", account, previous)
    old = before.get("_capabilities") or {}
    for name, entry in sorted((account.get("_capabilities") or {}).items()):
        was = (old.get(name) or {}).get("status")
        if was != entry.get("status"):
            conn.emit(
                "capability.updated",
                capability_object(account, name),
                {"status": was} if was is not None else None,
            )


def _name(capability: str) -> str:
    if capability not in CAPABILITIES:
        raise ResourceMissing("capability", capability, param="capability")
    return capability


@routes.get("/v1/accounts/{account}/capabilities", {"expand": LIST_PARAMS["expand"]})
def list_capabilities(ctx: Ctx, params: dict[str, Any], account: str) -> dict[str, Any]:
    doc = load_account(ctx, account)
    names = sorted(name for name, entry in (doc.get("_capabilities") or {}).items() if entry.get("requested"))
    data = [capability_object(doc, name) for name in names]
    return list_object(f"/v1/accounts/{account}/capabilities", data, False)


@routes.get("/v1/accounts/{account}/capabilities/{capability}")
def retrieve_capability(ctx: Ctx, params: dict[str, Any], account: str, capability: str) -> dict[str, Any]:
    doc = load_account(ctx, account)
    return capability_object(doc, _name(capability))


@routes.post("/v1/accounts/{account}/capabilities/{capability}", UPDATE)
def update_capability(ctx: Ctx, params: dict[str, Any], account: str, capability: str) -> dict[str, Any]:
    doc = load_account(ctx, account, for_update=True)
    name = _name(capability)
    before = snapshot(doc)
    if "requested" in params:
        request(doc, name, bool(params["requested"]), ctx.now)
    publish(ctx, doc, before)
    return capability_object(doc, name)


register("capability", expandable=("account",))
