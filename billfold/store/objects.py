"""Stripe objects as JSON documents, scoped by account and livemode.

Columns that lists filter on (customer, payment_intent, charge, status, email, kind, product,
lookup_key, ...) are copied out of the document on every write, so every list is an indexed
range scan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from billfold.store.db import Tx

INDEXED = (
    "customer", "payment_intent", "payment_method", "charge", "status", "email", "kind",
    "product", "lookup_key", "subscription", "invoice", "event_name", "test_clock", "value_list",
)
# The write statements name every indexed column, so a new column is one entry in INDEXED.
_INSERT = (
    f"INSERT INTO objects (id, account, livemode, object, created, {', '.join(INDEXED)}, deleted, "
    f"data) VALUES (:id, :account, :livemode, :object, :created, "
    f"{', '.join(':' + c for c in INDEXED)}, :deleted, :data)"
)
_SAVE = (
    f"UPDATE objects SET {', '.join(f'{c} = :{c}' for c in INDEXED)}, deleted = :deleted, "
    "data = :data WHERE id = :id AND account = :account AND livemode = :livemode"
)


def dumps_bytes(data: Any) -> bytes:
    """Compact JSON in insertion order (orjson; the standard library for what orjson refuses,
    such as an integer past 64 bits)."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":")).encode()


def dumps(data: Any) -> str:
    return dumps_bytes(data).decode()


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # e.g. an integer too large for orjson, stored by dumps above


def _index_values(data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in INDEXED:
        source = "type" if column == "kind" else column
        value = data.get(source)
        if value is None:
            # A key that is not a field of the object's shape is kept privately, e.g. a
            # promotion code's case-folded code in ``_lookup_key``.
            value = data.get("_" + source)
        values[column] = value if isinstance(value, str) else None
    return values


@dataclass(frozen=True)
class Scope:
    account: str
    livemode: bool


@dataclass
class Page:
    data: list[dict[str, Any]]
    has_more: bool


class ObjectStore:
    """The objects of one account and mode, inside one transaction."""

    def __init__(self, tx: Tx, scope: Scope) -> None:
        self.tx = tx
        self.scope = scope

    def get(
        self,
        object_id: str,
        object_type: str | None = None,
        *,
        for_update: bool = False,
        include_deleted: bool = False,
    ) -> dict[str, Any] | None:
        row = self.tx.one(
            "SELECT object, deleted, data FROM objects WHERE id = :id AND account = :account "
            "AND livemode = :livemode" + self.tx.for_update,
            id=object_id,
            account=self.scope.account,
            livemode=self.scope.livemode,
        )
        if row is None or (object_type is not None and row.object != object_type):
            return None
        if row.deleted and not include_deleted:
            return None
        data: dict[str, Any] = loads(row.data)
        return data

    def is_deleted(self, object_id: str) -> bool:
        row = self.tx.one(
            "SELECT deleted FROM objects WHERE id = :id AND account = :account AND livemode = :livemode",
            id=object_id,
            account=self.scope.account,
            livemode=self.scope.livemode,
        )
        return bool(row and row.deleted)

    def insert(self, data: dict[str, Any]) -> dict[str, Any]:
        self.tx.execute(
            _INSERT,
            id=data["id"],
            account=self.scope.account,
            livemode=self.scope.livemode,
            object=data["object"],
            created=data["created"],
            deleted=False,
            data=dumps(data),
            **_index_values(data),
        )
        return data

    def save(self, data: dict[str, Any], *, deleted: bool = False) -> dict[str, Any]:
        self.tx.execute(
            _SAVE,
            id=data["id"],
            account=self.scope.account,
            livemode=self.scope.livemode,
            deleted=deleted,
            data=dumps(data),
            **_index_values(data),
        )
        return data

    def page(
        self,
        object_type: str,
        *,
        filters: dict[str, Any] | None = None,
        created: int | dict[str, int] | None = None,
        limit: int = 10,
        starting_after: str | None = None,
        ending_before: str | None = None,
        kinds: list[str] | None = None,
        where: tuple[str, dict[str, Any]] | None = None,
    ) -> Page:
        clauses = ["account = :account", "livemode = :livemode", "object = :object", "deleted = :deleted"]
        params: dict[str, Any] = {
            "account": self.scope.account,
            "livemode": self.scope.livemode,
            "object": object_type,
            "deleted": False,
        }
        for column, value in (filters or {}).items():
            if column not in INDEXED:
                raise ValueError(f"{column} is not an indexed column")
            clauses.append(f"{column} = :f_{column}")
            params[f"f_{column}"] = value
        if kinds:
            names = []
            for i, kind in enumerate(kinds):
                names.append(f":kind_{i}")
                params[f"kind_{i}"] = kind
            clauses.append(f"kind IN ({', '.join(names)})")
        if where is not None:
            # An extra condition from the caller, with its own (distinctly named) parameters.
            clauses.append(f"({where[0]})")
            params.update(where[1])
        if isinstance(created, int):
            clauses.append("created = :created_eq")
            params["created_eq"] = created
        elif isinstance(created, dict):
            for op, sign in (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")):
                if op in created:
                    clauses.append(f"created {sign} :created_{op}")
                    params[f"created_{op}"] = created[op]
        cursor_id = starting_after or ending_before
        ascending = ending_before is not None and starting_after is None
        if cursor_id is not None:
            anchor = self.tx.one(
                "SELECT created, seq FROM objects WHERE id = :id AND account = :account "
                "AND livemode = :livemode",
                id=cursor_id,
                account=self.scope.account,
                livemode=self.scope.livemode,
            )
            if anchor is None:
                from billfold.errors import ResourceMissing

                param = "starting_after" if starting_after else "ending_before"
                raise ResourceMissing("object", cursor_id, param=param)
            sign = ">" if ascending else "<"
            clauses.append(
                f"(created {sign} :anchor_created OR (created = :anchor_created AND seq {sign} :anchor_seq))"
            )
            params["anchor_created"] = anchor.created
            params["anchor_seq"] = anchor.seq
        order = "ASC" if ascending else "DESC"
        params["limit"] = limit + 1
        rows = self.tx.all(
            f"SELECT data FROM objects WHERE {' AND '.join(clauses)} "
            f"ORDER BY created {order}, seq {order} LIMIT :limit",
            **params,
        )
        has_more = len(rows) > limit
        data = [loads(row.data) for row in rows[:limit]]
        if ascending:
            data.reverse()
        return Page(data=data, has_more=has_more)
