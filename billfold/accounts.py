"""Accounts and their API keys (secret, publishable, restricted; test and live)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from billfold import ids
from billfold.errors import InvalidRequestError
from billfold.store.db import Database, Tx
from billfold.wire.versions import LATEST, validate

DEFAULT_ACCOUNT_SETTINGS: dict[str, Any] = {
    "default_api_version": LATEST,
    "country": "US",
    "default_currency": "usd",
    # Card processing fee: 2.9% + 30 cents, as Stripe's standard US pricing.
    "card_fee_basis_points": 290,
    "card_fee_fixed": 30,
    "settlement_days": 2,
    # Dispute fees in cents: on every chargeback, and on countering one (refunded if won).
    "dispute_fee": 1500,
    "dispute_countered_fee": 0,
    # 1: a won dispute gives the dispute fee back too (0: Stripe's US pricing since June 2025).
    "dispute_fee_returned_on_win": 1,
    # Seconds a subscription's renewal invoice stays a draft before it is finalized and charged
    # (Stripe: about an hour); 0 finalizes and charges at once.
    "renewal_invoice_delay": 3600,
}


@dataclass
class ApiKey:
    secret: str
    account: str
    kind: str  # secret, publishable, restricted
    livemode: bool
    permissions: dict[str, str] = field(default_factory=dict)
    name: str | None = None

    @property
    def masked(self) -> str:
        prefix = self.secret[: self.secret.index("_", 3) + 1] if self.secret.count("_") >= 2 else ""
        return f"{prefix}{'*' * 12}{self.secret[-4:]}"


def key_prefix(kind: str, livemode: bool) -> str:
    short = {"secret": "sk", "publishable": "pk", "restricted": "rk"}[kind]
    return f"{short}_{'live' if livemode else 'test'}_"


def new_key(kind: str, livemode: bool) -> str:
    return key_prefix(kind, livemode) + ids.random_part(48)


def find_key(tx: Tx, secret: str) -> ApiKey | None:
    row = tx.one(
        "SELECT secret, account, kind, livemode, permissions, name FROM api_keys WHERE secret = :s",
        s=secret,
    )
    if row is None:
        return None
    return ApiKey(
        secret=row.secret,
        account=row.account,
        kind=row.kind,
        livemode=bool(row.livemode),
        permissions=json.loads(row.permissions) if row.permissions else {},
        name=row.name,
    )


def insert_key(tx: Tx, key: ApiKey, created: int) -> ApiKey:
    tx.execute(
        "INSERT INTO api_keys (secret, account, kind, livemode, name, permissions, created) "
        "VALUES (:secret, :account, :kind, :livemode, :name, :permissions, :created)",
        secret=key.secret,
        account=key.account,
        kind=key.kind,
        livemode=key.livemode,
        name=key.name,
        permissions=json.dumps(key.permissions) if key.permissions else None,
        created=created,
    )
    return key


def list_keys(tx: Tx, account: str) -> list[ApiKey]:
    rows = tx.all("SELECT secret FROM api_keys WHERE account = :a ORDER BY created, kind", a=account)
    return [k for k in (find_key(tx, row.secret) for row in rows) if k is not None]


def account_settings(tx: Tx, account: str) -> dict[str, Any]:
    row = tx.one("SELECT settings FROM accounts WHERE id = :id", id=account)
    settings = dict(DEFAULT_ACCOUNT_SETTINGS)
    if row is not None:
        settings.update(json.loads(row.settings))
    return settings


def set_default_api_version(tx: Tx, account: str, version: str) -> str:
    """Set the version requests without ``Stripe-Version`` (and the account's events) use.

    Raises InvalidRequestError for a version Stripe would refuse; nothing is written then.
    """
    version = validate(version)
    row = tx.one("SELECT settings FROM accounts WHERE id = :id" + tx.for_update, id=account)
    if row is None:
        raise InvalidRequestError(f"No such account: '{account}'", code="resource_missing")
    stored: dict[str, Any] = json.loads(row.settings)
    stored["default_api_version"] = version
    tx.execute("UPDATE accounts SET settings = :s WHERE id = :id", s=json.dumps(stored), id=account)
    return version


def platform_account(tx: Tx) -> str | None:
    row = tx.one("SELECT id FROM accounts WHERE platform IS NULL ORDER BY created, id LIMIT 1")
    return row.id if row else None


def ensure_platform(
    db: Database, now: int, secret_key: str | None = None, publishable_key: str | None = None
) -> tuple[str, list[ApiKey], bool]:
    """Create the platform account and its keys on first start; pinned keys are honoured."""
    with db.transaction() as tx:
        account = platform_account(tx)
        created = account is None
        if account is None:
            account = ids.new_id("account", 16)
            tx.execute(
                "INSERT INTO accounts (id, platform, created, settings) VALUES (:id, NULL, :c, :s)",
                id=account,
                c=now,
                s=json.dumps({}),
            )
            for kind in ("secret", "publishable"):
                for livemode in (False, True):
                    insert_key(tx, ApiKey(new_key(kind, livemode), account, kind, livemode), now)
        for pinned, kind, prefix in (
            (secret_key, "secret", "sk_test_"),
            (publishable_key, "publishable", "pk_test_"),
        ):
            if not pinned:
                continue
            if not pinned.startswith(prefix):
                raise SystemExit(f"a pinned {kind} key must start with {prefix}")
            existing = find_key(tx, pinned)
            if existing is None:
                insert_key(tx, ApiKey(pinned, account, kind, False, name="pinned"), now)
            elif existing.account != account:
                raise SystemExit(f"the pinned {kind} key belongs to another account")
        return account, list_keys(tx, account), created


def create_connected(tx: Tx, account: str, platform: str, now: int) -> None:
    """A connected account's row: its platform may act for it; its events use the platform's version."""
    version = account_settings(tx, platform)["default_api_version"]
    tx.execute(
        "INSERT INTO accounts (id, platform, created, settings) VALUES (:id, :platform, :c, :s)",
        id=account,
        platform=platform,
        c=now,
        s=json.dumps({"default_api_version": version}),
    )


def platform_of(tx: Tx, account: str) -> str | None:
    """The platform a connected account belongs to (None for a platform or an unknown id)."""
    row = tx.one("SELECT platform FROM accounts WHERE id = :id", id=account)
    return row.platform if row is not None else None


def connected_livemode(tx: Tx, account: str, platform: str) -> bool | None:
    """The mode a platform's connected account lives in; None if it is unknown or deleted."""
    row = tx.one(
        "SELECT livemode, deleted FROM objects WHERE id = :id AND account = :platform "
        "AND object = 'account'",
        id=account,
        platform=platform,
    )
    if row is None or row.deleted:
        return None
    return bool(row.livemode)


def create_platform(db: Database, now: int) -> tuple[str, list[ApiKey]]:
    """Another platform beside the first, with its own keys (for a second business on one server)."""
    with db.transaction() as tx:
        first = tx.one("SELECT MIN(created) AS created FROM accounts WHERE platform IS NULL")
        # Created strictly later, so the first platform stays the one ``ensure_platform`` finds.
        created = max(now, int(first.created) + 1) if first and first.created is not None else now
        account = ids.new_id("account", 16)
        tx.execute(
            "INSERT INTO accounts (id, platform, created, settings) VALUES (:id, NULL, :c, :s)",
            id=account,
            c=created,
            s=json.dumps({}),
        )
        for kind in ("secret", "publishable"):
            for livemode in (False, True):
                insert_key(tx, ApiKey(new_key(kind, livemode), account, kind, livemode), now)
        return account, list_keys(tx, account)
