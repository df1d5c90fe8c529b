"""Billing periods: where a subscription's periods begin and end, as Stripe counts them.

Every boundary is counted from the billing cycle anchor, never chained from the previous one,
so a month-end anchor keeps its day: Jan 31 -> Feb 28 (29 in a leap year) -> Mar 31. Days and
weeks are fixed lengths of UTC seconds; months and years are calendar months, the day clamped
to the month's length, the time of day kept. Pure functions over epoch seconds.
"""

from __future__ import annotations

import calendar
import datetime
from typing import Any

__all__ = [
    "add_months",
    "anchor_from_config",
    "boundary",
    "next_boundary",
    "period_containing",
    "step",
]

DAY = 86_400
WEEK = 7 * DAY


def add_months(timestamp: int, months: int) -> int:
    """``timestamp`` plus whole calendar months (UTC), the day clamped to the month's length."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def step(interval: str, count: int) -> tuple[int, int]:
    """One period as (months, seconds): exactly one of the two is non-zero."""
    if interval == "day":
        return 0, count * DAY
    if interval == "week":
        return 0, count * WEEK
    if interval == "month":
        return count, 0
    if interval == "year":
        return 12 * count, 0
    raise ValueError(f"unknown interval {interval!r}")


def boundary(anchor: int, interval: str, count: int, n: int) -> int:
    """The ``n``-th period boundary from ``anchor`` (``n`` may be negative)."""
    months, seconds = step(interval, count)
    if months:
        return add_months(anchor, n * months)
    return anchor + n * seconds


def _index_at_or_before(anchor: int, interval: str, count: int, at: int) -> int:
    """The largest ``n`` whose boundary is at or before ``at``."""
    months, seconds = step(interval, count)
    if seconds:
        return (at - anchor) // seconds
    start = datetime.datetime.fromtimestamp(anchor, datetime.UTC)
    end = datetime.datetime.fromtimestamp(at, datetime.UTC)
    n = ((end.year - start.year) * 12 + end.month - start.month) // months
    # The month estimate is off by at most one either way (day and time of day decide).
    while boundary(anchor, interval, count, n) > at:
        n -= 1
    while boundary(anchor, interval, count, n + 1) <= at:
        n += 1
    return n


def next_boundary(anchor: int, interval: str, count: int, after: int) -> int:
    """The first boundary strictly after ``after``."""
    return boundary(anchor, interval, count, _index_at_or_before(anchor, interval, count, after) + 1)


def period_containing(anchor: int, interval: str, count: int, at: int) -> tuple[int, int]:
    """The natural period ``[start, end)`` around ``at``."""
    n = _index_at_or_before(anchor, interval, count, at)
    return boundary(anchor, interval, count, n), boundary(anchor, interval, count, n + 1)


def anchor_from_config(config: dict[str, Any], interval: str, now: int) -> int:
    """``billing_cycle_anchor_config``: the next moment (after ``now``) on the given day of the
    month (and month of the year, for yearly prices) at the given time, or now's time of day."""
    moment = datetime.datetime.fromtimestamp(now, datetime.UTC)
    hour = config.get("hour", moment.hour)
    minute = config.get("minute", moment.minute)
    second = config.get("second", moment.second)
    day_of_month = int(config["day_of_month"])
    wanted_month = config.get("month") if interval == "year" else None

    def at(year: int, month: int) -> int:
        day = min(day_of_month, calendar.monthrange(year, month)[1])
        when = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.UTC)
        return int(when.timestamp())

    year, month = moment.year, moment.month
    for _ in range(25):
        if wanted_month is None or month == wanted_month:
            candidate = at(year, month)
            if candidate > now:
                return candidate
        month += 1
        if month > 12:
            year, month = year + 1, 1
    raise ValueError("no anchor found")
