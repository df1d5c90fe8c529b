"""API versions: what ``Stripe-Version`` may say, and comparisons between versions."""

from __future__ import annotations

import datetime
import re

from billfold.errors import InvalidRequestError

LATEST = "2026-10-28.endive"
# Named releases since Stripe began naming them; the date decides the behaviour.
RELEASES = (
    "2024-09-30.acacia",
    "2025-03-31.basil",
    "2025-09-30.clover",
    "2026-03-25.dahlia",
    LATEST,
)
_FORMAT = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.([a-z]+))?$")
_FIRST = "2011-01-01"


def validate(version: str) -> str:
    match = _FORMAT.match(version.strip())
    if match:
        day = match.group(1)
        try:
            datetime.date.fromisoformat(day)
        except ValueError:
            match = None
        else:
            if not (_FIRST <= day <= LATEST[:10]):
                match = None
    if not match:
        raise InvalidRequestError(f"Invalid Stripe API version: {version}")
    return version.strip()


def at_least(version: str, other: str) -> bool:
    """Whether ``version`` is ``other`` or newer (by release date)."""
    return version[:10] >= other[:10]
