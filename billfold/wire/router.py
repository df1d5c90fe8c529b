"""Route declarations: each resource module lists its operations once."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from billfold.wire.params import EXPAND, Spec

Handler = Callable[..., Any]


@dataclass
class Route:
    method: str
    path: str
    handler: Handler
    params: dict[str, Spec]
    resource: str  # permission group, e.g. "customers"
    write: bool
    publishable: bool = False  # a publishable key may call it (with the client secret)
    operation: str = ""
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        self.pattern = re.compile(f"^{regex}$")
        if "expand" not in self.params:
            self.params = {**self.params, "expand": EXPAND}
        if not self.operation:
            self.operation = self.handler.__name__


class Routes:
    """The routes of one resource module, declared with decorators."""

    def __init__(self, resource: str) -> None:
        self.resource = resource
        self.routes: list[Route] = []

    def _add(
        self, method: str, path: str, params: dict[str, Spec] | None, write: bool, publishable: bool
    ) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.routes.append(
                Route(method, path, handler, dict(params or {}), self.resource, write, publishable)
            )
            return handler

        return decorate

    def get(
        self, path: str, params: dict[str, Spec] | None = None, *, publishable: bool = False
    ) -> Callable[[Handler], Handler]:
        return self._add("GET", path, params, False, publishable)

    def post(
        self, path: str, params: dict[str, Spec] | None = None, *, publishable: bool = False
    ) -> Callable[[Handler], Handler]:
        return self._add("POST", path, params, True, publishable)

    def delete(self, path: str, params: dict[str, Spec] | None = None) -> Callable[[Handler], Handler]:
        return self._add("DELETE", path, params, True, False)


class Router:
    def __init__(self, groups: Iterable[Routes]) -> None:
        self.routes = [route for group in groups for route in group.routes]
        # Literal paths win over templated ones (``/v1/customers/search`` before ``{id}``).
        self.routes.sort(key=lambda r: r.path.count("{"))
        # Candidates by segment count and resource segment (``/v1/customers/...``), so a match
        # tries a handful of patterns instead of every route.
        self._buckets: dict[tuple[int, str], list[Route]] = {}
        for route in self.routes:
            self._buckets.setdefault(_bucket(route.path), []).append(route)

    def add(self, route: Route) -> None:
        """One more route, tried before the others of its bucket."""
        self.routes.insert(0, route)
        self._buckets.setdefault(_bucket(route.path), []).insert(0, route)

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """The route, its path parameters, and whether the path exists for another method."""
        path_known = False
        for route in self._buckets.get(_bucket(path), ()):
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method:
                return route, found.groupdict(), True
            path_known = True
        return None, {}, path_known


def _bucket(path: str) -> tuple[int, str]:
    segments = path.split("/")
    return len(segments), segments[2] if len(segments) > 2 else ""
