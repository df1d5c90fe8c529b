"""The Billfold application object: settings, database, clock, routes and workers together."""

from __future__ import annotations

import threading
import time
from typing import Any

from billfold.accounts import (
    ApiKey,
    account_settings,
    connected_livemode,
    ensure_platform,
    platform_of,
)
from billfold.clock import Clock
from billfold.config import Settings
from billfold.errors import PermissionError_
from billfold.store.db import Database
from billfold.store.objects import Scope
from billfold.wire.auth import KeyRing
from billfold.wire.handler import InFlight
from billfold.wire.router import Router


class Billfold:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        from billfold.resources.registry import ROUTE_GROUPS

        self.settings = settings
        self.clock = clock or Clock()
        self.db = Database(settings.database_url)
        self.router = Router(ROUTE_GROUPS)
        self.keys = KeyRing(self.db)
        self.in_flight = InFlight()
        self.deliveries_due = threading.Event()
        self.jobs_due = threading.Event()
        self._versions: dict[str, tuple[float, str]] = {}
        self.platform_account = ""
        self.platform_keys: list[ApiKey] = []
        self.created_platform = False

    def start(self) -> None:
        """Apply migrations and make sure the platform account and its keys exist."""
        self.db.migrate()
        self.platform_account, self.platform_keys, self.created_platform = ensure_platform(
            self.db, self.clock.now(), self.settings.secret_key, self.settings.publishable_key
        )

    def wake_deliveries(self) -> None:
        self.deliveries_due.set()

    def wake_jobs(self) -> None:
        self.jobs_due.set()

    def default_version(self, account: str) -> str:
        # Cached briefly, so `billfold settings set default_api_version=...` reaches a running server.
        cached = self._versions.get(account)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        with self.db.transaction(write=False) as tx:
            version = str(account_settings(tx, account)["default_api_version"])
        self._versions[account] = (time.monotonic() + 5.0, version)
        return version

    def connected_scope(self, key: ApiKey, account: str) -> Scope:
        with self.db.transaction(write=False) as tx:
            platform = platform_of(tx, account)
            # Only the platform, in the mode the account was made in, and not once it is deleted.
            livemode = connected_livemode(tx, account, key.account) if platform == key.account else None
        if livemode is None or livemode != key.livemode:
            raise PermissionError_(
                f"The provided key '{key.masked}' does not have access to account '{account}' "
                "(or that account does not exist). Application access may have been revoked.",
                code="account_invalid",
            )
        return Scope(account, key.livemode)

    def describe(self) -> dict[str, Any]:
        return {"platform_account": self.platform_account, "database": self.db.dialect}
