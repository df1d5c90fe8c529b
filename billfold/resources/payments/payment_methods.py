"""payment methods (being written)."""

from __future__ import annotations

from billfold.wire.router import Routes

routes = Routes("payment_methods")
