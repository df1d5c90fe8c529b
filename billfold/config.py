"""Process settings, read once from the command line and environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

# Stripe retries failed webhook deliveries for up to three days with growing gaps.
DEFAULT_RETRY_DELAYS = (60.0, 300.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 43200.0, 86400.0, 86400.0)


def _retry_delays() -> tuple[float, ...]:
    raw = os.environ.get("BILLFOLD_WEBHOOK_RETRY_DELAYS", "").strip()
    if not raw:
        return DEFAULT_RETRY_DELAYS
    return tuple(float(part) for part in raw.split(",") if part.strip())


@dataclass
class Settings:
    database_url: str = "billfold.db"
    host: str = "127.0.0.1"
    port: int = 12111
    public_url: str = ""
    run_worker: bool = True
    secret_key: str | None = field(default_factory=lambda: os.environ.get("BILLFOLD_SECRET_KEY"))
    publishable_key: str | None = field(
        default_factory=lambda: os.environ.get("BILLFOLD_PUBLISHABLE_KEY")
    )
    webhook_retry_delays: tuple[float, ...] = field(default_factory=_retry_delays)
    # How long one delivery attempt may take; a crashed worker's claims lapse soon after.
    webhook_timeout: float = field(
        default_factory=lambda: float(os.environ.get("BILLFOLD_WEBHOOK_TIMEOUT") or 10.0)
    )
    idempotency_ttl: int = 24 * 3600
    # Lets people into /dashboard without an API key; unset, only platform secret keys log in.
    dashboard_password: str | None = field(
        default_factory=lambda: os.environ.get("BILLFOLD_DASHBOARD_PASSWORD") or None
    )

    def __post_init__(self) -> None:
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
