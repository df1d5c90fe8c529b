"""``GET /billfold/api/request_logs``: the account's recent API requests, for ``billfold logs``.

Stripe shows request logs in its Dashboard and to ``stripe logs tail`` only, so this stays off
``/v1``. Without ``after`` it answers the newest ``limit`` entries; with ``after=<request id>``
the entries stored after that one, oldest first, so a poller never misses or repeats one.
"""

from __future__ import annotations

import json
from typing import Any

from billfold.context import Ctx
from billfold.errors import ResourceMissing
from billfold.observability.request_log import LOGS_PATH
from billfold.wire.params import Int, Spec, Str
from billfold.wire.present import list_object
from billfold.wire.router import Routes

routes = Routes("request_logs")

LIST: dict[str, Spec] = {"after": Str(max_length=255), "limit": Int(min=1, max=1000)}
_COLUMNS = "SELECT seq, data FROM request_logs WHERE account = :account AND livemode = :livemode"


def _shown(row: Any) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(row.data)
    return {"id": entry["request_id"], "object": "request_log", "created": int(entry.pop("created")), **entry}


@routes.get(LOGS_PATH, LIST)
def list_request_logs(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    limit = params.get("limit") or 100
    scope = {"account": ctx.scope.account, "livemode": ctx.scope.livemode, "limit": limit + 1}
    if "after" in params:
        anchor = ctx.tx.one(
            "SELECT seq FROM request_logs WHERE id = :id AND account = :account AND livemode = :livemode",
            id=params["after"], account=ctx.scope.account, livemode=ctx.scope.livemode,
        )
        if anchor is None:
            raise ResourceMissing("request log", params["after"], param="after")
        rows = ctx.tx.all(
            f"{_COLUMNS} AND seq > :seq ORDER BY seq ASC LIMIT :limit", seq=anchor.seq, **scope
        )
    else:
        rows = list(reversed(ctx.tx.all(f"{_COLUMNS} ORDER BY seq DESC LIMIT :limit", **scope)))
        if len(rows) > limit:
            rows = rows[1:]
            return list_object(LOGS_PATH, [_shown(row) for row in rows], True)
    has_more = len(rows) > limit
    return list_object(LOGS_PATH, [_shown(row) for row in rows[:limit]], has_more)
