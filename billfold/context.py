"""The request context: everything a resource function may touch, passed in explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from billfold.store.db import Tx
from billfold.store.objects import ObjectStore, Scope

if TYPE_CHECKING:
    from billfold.accounts import ApiKey
    from billfold.app import Billfold


@dataclass
class Ctx:
    app: Billfold
    tx: Tx
    scope: Scope
    api_version: str
    now: int
    key: ApiKey | None = None
    request_id: str | None = None
    idempotency_key: str | None = None
    # Filled by the resource functions: event ids recorded in this transaction.
    events: list[str] = field(default_factory=list)
    _endpoints: list[dict[str, Any]] | None = None
    # Per-request memo for renderers, e.g. counts fetched once for a whole list page.
    memo: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def objects(self) -> ObjectStore:
        return ObjectStore(self.tx, self.scope)

    @cached_property
    def account_settings(self) -> dict[str, Any]:
        from billfold.accounts import account_settings

        return account_settings(self.tx, self.scope.account)

    @property
    def livemode(self) -> bool:
        return self.scope.livemode

    @property
    def public_url(self) -> str:
        return self.app.settings.public_url

    def emit(
        self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        from billfold.events.record import record_event

        return record_event(self, event_type, obj, previous)
