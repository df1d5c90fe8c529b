"""Every resource module's routes, in one list: the API surface Billfold serves."""

from __future__ import annotations

from billfold.resources.events import events, webhook_endpoints
from billfold.resources.payments import (
    balance,
    charges,
    customers,
    payment_intents,
    payment_methods,
    refunds,
    setup_attempts,
    setup_intents,
    tokens,
)
from billfold.wire.router import Routes

ROUTE_GROUPS: list[Routes] = [
    customers.routes,
    payment_methods.routes,
    setup_intents.routes,
    setup_attempts.routes,
    tokens.routes,
    payment_intents.routes,
    charges.routes,
    refunds.routes,
    balance.routes,
    events.routes,
    webhook_endpoints.routes,
]
