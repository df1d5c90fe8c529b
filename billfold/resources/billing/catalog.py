"""What products, prices and plans share: decimal and number parameters, and list filters
on document fields that have no column of their own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from billfold.errors import InvalidRequestError
from billfold.wire.params import Spec

if TYPE_CHECKING:
    from billfold.context import Ctx

MAX_DECIMAL_PLACES = 12
_DECIMAL = re.compile(r"^\d+(\.\d+)?([eE][-+]?\d+)?$|^\.\d+$")


def _text(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequestError(
            f"Invalid {param}: expected a single value, not a hash or array", param=param,
            code="parameter_invalid",
        )
    return value.strip()


def _parse(value: Any, param: str, kind: str) -> tuple[str, Decimal, int]:
    """The text, the finite Decimal it spells and its number of decimal places."""
    text = _text(value, param)
    try:
        number = Decimal(text) if _DECIMAL.match(text) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise InvalidRequestError(f"Invalid {kind}: {text}", param=param, code="parameter_invalid")
    exponent = number.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return text, number, -exponent


def normalize_decimal(value: Decimal) -> str:
    """A decimal's plain form without trailing zeros: ``0.0500`` -> ``0.05``, ``5.0`` -> ``5``."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


@dataclass
class DecimalString(Spec):
    """A non-negative decimal amount in minor units, kept as a string (never a float)."""

    required: bool = False
    emptyable: bool = False
    max_places: int = MAX_DECIMAL_PLACES
    max: int = 99_999_999
    description: str = ""

    def parse(self, value: Any, param: str) -> str:
        text, number, places = _parse(value, param, "decimal")
        if places > self.max_places:
            raise InvalidRequestError(
                f"Invalid decimal: {text}. {param} may have at most {self.max_places} decimal places.",
                param=param,
                code="parameter_invalid",
            )
        if number > self.max:
            raise InvalidRequestError(
                f"This value must be less than or equal to {self.max}.", param=param,
                code="parameter_invalid",
            )
        return normalize_decimal(number)

    def openapi(self) -> dict[str, Any]:
        return {"type": "string", "format": "decimal"}


@dataclass
class Number(Spec):
    """A non-negative measurement (not money), e.g. a package's dimensions in inches."""

    required: bool = False
    emptyable: bool = False
    max_places: int = 2
    description: str = ""

    def parse(self, value: Any, param: str) -> float:
        _, number, places = _parse(value, param, "number")
        if places > self.max_places:
            raise InvalidRequestError(
                f"Invalid {param}: the maximum precision is {self.max_places} decimal places.",
                param=param,
                code="parameter_invalid",
            )
        return float(number)

    def openapi(self) -> dict[str, Any]:
        return {"type": "number"}


def no_such(kind: str, object_id: str, param: str) -> InvalidRequestError:
    """Stripe's answer to a parameter naming a missing object: 400, not the 404 of a bad URL."""
    return InvalidRequestError(f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


class Where:
    """Extra list conditions on fields inside the stored documents, for both databases.

    They narrow a range the indexed columns (or the object type) already chose; the parameter
    names start with ``j_`` so they never meet the store's own.
    """

    def __init__(self, ctx: Ctx) -> None:
        self.postgres = ctx.tx.db.is_postgres
        self.clauses: list[str] = []
        self.params: dict[str, Any] = {}

    def _field(self, *path: str) -> str:
        if self.postgres:
            return f"(CAST(data AS jsonb) #>> '{{{','.join(path)}}}')"
        return f"json_extract(data, '$.{'.'.join(path)}')"

    def _name(self) -> str:
        return f"j_{len(self.params)}"

    def equals(self, value: str, *path: str) -> None:
        name = self._name()
        self.params[name] = value
        self.clauses.append(f"{self._field(*path)} = :{name}")

    def flag(self, value: bool, *path: str) -> None:
        """A boolean field: SQLite's json_extract gives 1/0, PostgreSQL's #>> 'true'/'false'."""
        name = self._name()
        if self.postgres:
            self.params[name] = "true" if value else "false"
        else:
            self.params[name] = 1 if value else 0
        self.clauses.append(f"{self._field(*path)} = :{name}")

    def column_in(self, column: str, values: list[str]) -> None:
        names = []
        for value in values:
            name = self._name()
            self.params[name] = value
            names.append(f":{name}")
        self.clauses.append(f"{column} IN ({', '.join(names)})" if names else "1 = 0")

    def build(self) -> tuple[str, dict[str, Any]] | None:
        if not self.clauses:
            return None
        return " AND ".join(self.clauses), self.params
