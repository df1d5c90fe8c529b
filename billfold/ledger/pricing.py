"""An account's pricing: the card fee and how long charges stay pending, changeable per account.

Read by ``card_fee`` and ``settlement_time`` at each payment, so a change applies to the next
payment without a restart. Changed from the command line: ``billfold settings set KEY=VALUE``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from billfold.accounts import account_settings
from billfold.ledger import dunning_settings
from billfold.store.db import Tx

# The settings this module may change, with the bounds a value must respect.
PRICING: dict[str, tuple[int, int]] = {
    "card_fee_basis_points": (0, 10_000),
    "card_fee_fixed": (0, 100_000),
    "settlement_days": (0, 90),
    "dispute_fee": (0, 100_000),
    "dispute_countered_fee": (0, 100_000),
    "dispute_fee_returned_on_win": (0, 1),
    "renewal_invoice_delay": (0, 259_200),
}


class SettingError(ValueError):
    """A ``KEY=VALUE`` that names no pricing setting or holds no acceptable value."""


def parse_assignments(items: list[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if sep and name == "payout_schedule":
            from billfold.resources.connect.payout_schedule import parse_platform_schedule

            try:
                changes[name] = parse_platform_schedule(raw)
            except ValueError as exc:
                raise SettingError(str(exc)) from None
            continue
        if sep and name in dunning_settings.SETTINGS:
            try:
                changes[name] = dunning_settings.parse_setting(name, raw)
            except dunning_settings.DunningSettingError as exc:
                raise SettingError(str(exc)) from None
            continue
        if not sep or name not in PRICING:
            known = ", ".join(sorted(PRICING) + list(dunning_settings.SETTINGS))
            raise SettingError(f"unknown setting {item!r}: use KEY=VALUE with KEY one of {known}")
        low, high = PRICING[name]
        try:
            value = int(raw.strip())
        except ValueError:
            raise SettingError(f"{name} must be a whole number, not {raw!r}") from None
        if not low <= value <= high:
            raise SettingError(f"{name} must be between {low} and {high}")
        changes[name] = value
    return changes


def update_pricing(tx: Tx, account: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Store ``changes`` in the account's settings (other settings untouched); return them all."""
    row = tx.one("SELECT settings FROM accounts WHERE id = :id" + tx.for_update, id=account)
    if row is None:
        raise SettingError(f"no account {account}")
    stored: dict[str, Any] = json.loads(row.settings)
    stored.update(changes)
    tx.execute("UPDATE accounts SET settings = :s WHERE id = :id", s=json.dumps(stored), id=account)
    return account_settings(tx, account)


def pricing(tx: Tx, account: str) -> dict[str, int]:
    settings = account_settings(tx, account)
    return {name: int(settings[name]) for name in PRICING}


def settings_command(database_url: str, assignments: list[str] | None) -> int:
    """``billfold settings [set KEY=VALUE ...]`` for the platform account."""
    from billfold.app import Billfold
    from billfold.config import Settings

    app = Billfold(Settings(database_url=database_url))
    app.start()
    try:
        changes = parse_assignments(assignments or [])
    except SettingError as exc:
        print(f"billfold: {exc}", file=sys.stderr)
        return 2
    with app.db.transaction() as tx:
        if changes:
            update_pricing(tx, app.platform_account, changes)
        if "payout_schedule" in changes:
            _plan_payouts(app, tx)
        current: dict[str, Any] = dict(pricing(tx, app.platform_account))
        current.update(dunning_settings.shown(account_settings(tx, app.platform_account)))
        schedule = account_settings(tx, app.platform_account).get("payout_schedule")
        current["payout_schedule"] = _schedule_text(schedule)
    for name, value in current.items():
        print(f"{name}={value}")
    return 0


def _plan_payouts(app: Any, tx: Tx) -> None:
    """Queue the platform's automatic payouts for the schedule just set."""
    from billfold.context import Ctx
    from billfold.resources.connect.payout_schedule import plan_platform
    from billfold.store.objects import Scope

    ctx = Ctx(app, tx, Scope(app.platform_account, False), app.default_version(app.platform_account),
              app.clock.now())
    plan_platform(ctx)


def _schedule_text(schedule: dict[str, Any] | None) -> str:
    if not schedule or schedule.get("interval") in (None, "manual"):
        return "manual"
    if schedule["interval"] == "weekly":
        return f"weekly:{schedule['weekly_anchor']}"
    if schedule["interval"] == "monthly":
        return f"monthly:{schedule['monthly_anchor']}"
    return str(schedule["interval"])
