"""Finding a connected account's document, saving it, and acting inside its walls.

A connected account's ``account`` object is stored among its platform's objects (so the
platform lists them); everything else it owns is stored in its own scope.
"""

from __future__ import annotations

from typing import Any

from billfold.accounts import platform_of
from billfold.context import Ctx
from billfold.errors import ResourceMissing
from billfold.store.objects import ObjectStore, Scope


def load_account(
    ctx: Ctx, account_id: str, *, param: str = "account", for_update: bool = False
) -> dict[str, Any]:
    """A connected account of the caller, or the caller's own account when acting as one."""
    store = ctx.objects
    if account_id == ctx.scope.account:
        platform = platform_of(ctx.tx, account_id)
        if platform is not None:
            store = ObjectStore(ctx.tx, Scope(platform, ctx.livemode))
    found = store.get(account_id, "account", for_update=for_update)
    if found is None:
        raise ResourceMissing("account", account_id, param=param)
    return found


def save_account(ctx: Ctx, account: dict[str, Any], *, deleted: bool = False) -> None:
    store = ObjectStore(ctx.tx, Scope(str(account["_platform"]), ctx.livemode))
    store.save(account, deleted=deleted)


def as_account(ctx: Ctx, account_id: str) -> Ctx:
    """The same request and transaction, inside a connected account: its events carry ``account``."""
    if account_id == ctx.scope.account:
        return ctx
    return Ctx(
        ctx.app,
        ctx.tx,
        Scope(account_id, ctx.livemode),
        ctx.api_version,
        ctx.now,
        ctx.key,
        ctx.request_id,
        ctx.idempotency_key,
        events=ctx.events,
    )
