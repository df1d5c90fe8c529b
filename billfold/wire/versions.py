"""API versions: what ``Stripe-Version`` may say, and comparisons between versions.

Before 2024-09-30 a version is a bare date (``2020-08-27``). Since then every version
carries the name of its major release (``2025-03-31.basil``), and the name must match
the date: ``2025-03-31.acacia`` is not a version Stripe ever shipped.
"""

from __future__ import annotations

import datetime
import re

from billfold.errors import InvalidRequestError

LATEST = "2026-10-28.endive"
# The first version of each named major release, oldest first; the date decides behaviour.
RELEASES = (
    "2024-09-30.acacia",
    "2025-03-31.basil",
    "2025-09-30.clover",
    "2026-03-25.dahlia",
    LATEST,
)
_FORMAT = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.([a-z]+))?$")
_FIRST = "2011-01-01"
_FIRST_NAMED = RELEASES[0][:10]


def _invalid(version: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Invalid Stripe API version: {version}. Versions look like 2020-08-27 or "
        f"{LATEST}; see https://docs.stripe.com/upgrades for the list."
    )


def _release_window(name: str) -> tuple[str, str] | None:
    """The first date of a named release and the first date of the next one."""
    starts = [(release[11:], release[:10]) for release in RELEASES]
    for index, (release, start) in enumerate(starts):
        if release == name:
            end = starts[index + 1][1] if index + 1 < len(starts) else "9999-12-31"
            return start, end
    return None


def validate(version: str) -> str:
    text = version.strip()
    match = _FORMAT.match(text)
    if not match:
        raise _invalid(version)
    day, name = match.group(1), match.group(2)
    try:
        datetime.date.fromisoformat(day)
    except ValueError:
        raise _invalid(version) from None
    if not (_FIRST <= day <= LATEST[:10]):
        raise _invalid(version)
    if name is None:
        if day >= _FIRST_NAMED:
            raise _invalid(version)
        return text
    window = _release_window(name)
    if window is None or not (window[0] <= day < window[1]):
        raise _invalid(version)
    return text


def at_least(version: str, other: str) -> bool:
    """Whether ``version`` is ``other`` or newer (by release date)."""
    return version[:10] >= other[:10]
