"""Every resource module's routes, in one list: the API surface Billfold serves."""

from __future__ import annotations

from billfold.resources.payments import customers
from billfold.wire.router import Routes

ROUTE_GROUPS: list[Routes] = [
    customers.routes,
]
