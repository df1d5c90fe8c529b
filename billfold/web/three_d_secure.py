"""The 3D Secure challenge page (being written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from billfold.app import Billfold


def routes(app: Billfold) -> list[BaseRoute]:
    return []
