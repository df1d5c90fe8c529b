"""The one source of "now" for the API and the workers."""

from __future__ import annotations

import time


class Clock:
    def now(self) -> int:
        return int(time.time())

    def precise(self) -> float:
        return time.time()
