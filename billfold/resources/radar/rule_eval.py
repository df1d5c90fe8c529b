"""Evaluating a parsed Radar rule against a payment's attributes (see ``rules`` for the grammar).

A comparison with an attribute the payment lacks is false, and text compares ignoring case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from billfold.resources.radar.rules import (
    Attr,
    Both,
    Either,
    InList,
    Like,
    Literal,
    Node,
    Not,
    Operand,
    Rule,
    Truthy,
)


class Payment:
    """A payment's attributes, read lazily; ``in_list(alias, value)`` answers ``@alias``."""

    def __init__(
        self,
        attributes: Mapping[str, Any],
        metadata: Mapping[str, str],
        customer_metadata: Callable[[], Mapping[str, str]],
        in_list: Callable[[str, Any], bool],
    ) -> None:
        self.attributes = attributes
        self.metadata = metadata
        self._customer_metadata = customer_metadata
        self._customer_cache: Mapping[str, str] | None = None
        self.in_list = in_list

    def value(self, operand: Operand) -> Any:
        if isinstance(operand, Literal):
            return operand.value
        if isinstance(operand, Attr):
            return self.attributes.get(operand.name)
        if operand.customer:
            if self._customer_cache is None:
                self._customer_cache = self._customer_metadata()
            return self._customer_cache.get(operand.key)
        return self.metadata.get(operand.key)


def matches(rule: Rule, payment: Payment) -> bool:
    return _eval(rule.tree, payment)


def _eval(node: Node, payment: Payment) -> bool:
    if isinstance(node, Either):
        return _eval(node.left, payment) or _eval(node.right, payment)
    if isinstance(node, Both):
        return _eval(node.left, payment) and _eval(node.right, payment)
    if isinstance(node, Not):
        return not _eval(node.inner, payment)
    if isinstance(node, Truthy):
        return payment.value(node.operand) is True
    if isinstance(node, Like):
        value = payment.value(node.left)
        if value is None:
            return False
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in node.pattern)
        return re.fullmatch(pattern, str(value), re.I | re.S) is not None
    if isinstance(node, InList):
        value = payment.value(node.left)
        if value is None:
            return False
        if node.alias is not None:
            return payment.in_list(node.alias, value)
        return any(_equal(value, item.value) for item in node.values)
    return _compare(payment.value(node.left), node.op, payment.value(node.right))


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | int):
        return Decimal(value)
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, Decimal | int) or isinstance(right, Decimal | int):
        return _number(left) is not None and _number(left) == _number(right)
    return str(left).casefold() == str(right).casefold()


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is None or right is None:
        return False
    if op == "=":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    a, b = _number(left), _number(right)
    if a is None or b is None:
        return False
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
