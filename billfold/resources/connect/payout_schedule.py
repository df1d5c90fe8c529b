"""Automatic payouts: a connected account's ``settings.payouts.schedule`` carried out by a job.

Setting a schedule other than ``manual`` queues a ``payout.schedule`` job for the schedule's
next boundary (UTC midnight: every day, on ``weekly_anchor``, or on ``monthly_anchor``), the
first one at least ``delay_days`` away. The job pays out each currency's available balance as
an automatic payout to that currency's default external account, then queues the next run.
The run time the account expects is kept privately (``_payout_run_at``) and named in the job's
target, so a changed schedule supersedes older jobs and a repeated job does nothing. The
platform itself has no account document: its schedule and expected run time live in its
account settings (``billfold settings set payout_schedule=daily``).
"""

from __future__ import annotations

import calendar
import datetime
from typing import Any

from billfold import jobs
from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.ledger.balance_transactions import DAY, balances
from billfold.resources.connect.payouts import pay_out
from billfold.resources.connect.scope import as_account, save_account

SCHEDULE_JOB = "payout.schedule"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _is_boundary(schedule: dict[str, Any], day: datetime.date) -> bool:
    interval = schedule["interval"]
    if interval == "weekly":
        return WEEKDAYS[day.weekday()] == schedule.get("weekly_anchor", "monday")
    if interval == "monthly":
        # An anchor past the month's end falls on its last day, as Stripe's does.
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(int(schedule.get("monthly_anchor", 1)), last)
    return True


def next_boundary(schedule: dict[str, Any], after: int) -> int:
    """The first UTC midnight strictly after ``after`` on which the schedule pays out."""
    day = datetime.datetime.fromtimestamp(after, datetime.UTC).date() + datetime.timedelta(days=1)
    while not _is_boundary(schedule, day):
        day += datetime.timedelta(days=1)
    return calendar.timegm(day.timetuple())


def _queue(ctx: Ctx, account: dict[str, Any], run_at: int) -> None:
    account["_payout_run_at"] = run_at
    jobs.schedule(ctx, SCHEDULE_JOB, f"{account['id']}@{run_at}", run_at)


def plan(ctx: Ctx, account: dict[str, Any]) -> None:
    """Queue the first run of a schedule just set on ``account`` (ctx is its platform's)."""
    schedule = account["settings"]["payouts"]["schedule"]
    if schedule["interval"] == "manual":
        account["_payout_run_at"] = None
        return
    delay = int(schedule.get("delay_days") or 0)
    _queue(ctx, account, next_boundary(schedule, ctx.now + delay * DAY - 1))


def _pay_balances(conn: Ctx) -> None:
    for currency, amounts in sorted(balances(conn.tx, conn.scope, conn.now).items()):
        amount = amounts.get("available", 0)
        if amount <= 0:
            continue
        params = {"amount": amount, "currency": currency, "method": "standard"}
        try:
            pay_out(conn, params, automatic=True)
        except InvalidRequestError:
            continue  # no default external account in this currency: the money stays


def parse_platform_schedule(text: str) -> dict[str, Any]:
    """``manual``, ``daily``, ``weekly:friday`` or ``monthly:15`` as a schedule."""
    interval, _, anchor = text.strip().partition(":")
    if interval in ("manual", "daily") and not anchor:
        return {"interval": interval, "delay_days": 0}
    if interval == "weekly" and anchor in WEEKDAYS:
        return {"interval": "weekly", "weekly_anchor": anchor, "delay_days": 0}
    if interval == "monthly" and anchor.isdigit() and 1 <= int(anchor) <= 31:
        return {"interval": "monthly", "monthly_anchor": int(anchor), "delay_days": 0}
    raise ValueError(
        "payout_schedule must be manual, daily, weekly:<weekday> or monthly:<day of month>"
    )


def plan_platform(ctx: Ctx) -> None:
    """Queue the first run of the platform's schedule (ctx is the platform's)."""
    from billfold.ledger.pricing import update_pricing

    schedule = ctx.account_settings.get("payout_schedule") or {"interval": "manual"}
    run_at = None
    if schedule["interval"] != "manual":
        run_at = next_boundary(schedule, ctx.now)
        jobs.schedule(ctx, SCHEDULE_JOB, f"{ctx.scope.account}@{run_at}", run_at)
    update_pricing(ctx.tx, ctx.scope.account, {"_payout_run_at": run_at})


def _run_platform(ctx: Ctx, target: str, run_at: int) -> None:
    from billfold.ledger.pricing import update_pricing

    settings = ctx.account_settings
    schedule = settings.get("payout_schedule") or {"interval": "manual"}
    if settings.get("_payout_run_at") != run_at or schedule["interval"] == "manual":
        return
    if run_at > ctx.now:
        jobs.schedule(ctx, SCHEDULE_JOB, target, run_at)
        return
    _pay_balances(ctx)
    following = next_boundary(schedule, max(run_at, ctx.now))
    jobs.schedule(ctx, SCHEDULE_JOB, f"{ctx.scope.account}@{following}", following)
    update_pricing(ctx.tx, ctx.scope.account, {"_payout_run_at": following})


@jobs.handler(SCHEDULE_JOB)
def run(ctx: Ctx, target: str) -> None:
    """One scheduled run; a superseded, early or manual-schedule run does nothing."""
    account_id, _, at = target.partition("@")
    run_at = int(at)
    if account_id == ctx.scope.account:
        _run_platform(ctx, target, run_at)
        return
    account = ctx.objects.get(account_id, "account", for_update=True)
    if account is None or account.get("deleted") or account.get("_payout_run_at") != run_at:
        return
    schedule = account["settings"]["payouts"]["schedule"]
    if schedule["interval"] == "manual":
        return
    if run_at > ctx.now:
        # Run early (a worker's clock behind, a hand-edited job): keep the run, at its time.
        jobs.schedule(ctx, SCHEDULE_JOB, target, run_at)
        return
    _pay_balances(as_account(ctx, account_id))
    _queue(ctx, account, next_boundary(schedule, max(run_at, ctx.now)))
    save_account(ctx, account)
