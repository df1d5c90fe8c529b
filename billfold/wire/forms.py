"""Stripe's form encoding: ``a[b][0][c]=x`` and ``expand[]=y`` into nested values.

Dicts whose keys are all indexes stay dicts here; the parameter declarations turn
them into lists where a list is declared, so the order of indexes never matters.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from billfold.errors import InvalidRequestError

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")
MAX_DEPTH = 8


def _malformed(name: str) -> InvalidRequestError:
    return InvalidRequestError(f"Invalid parameter name: {name}", param=name)


def decode(raw: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequestError("The request body could not be decoded.") from exc
    result: dict[str, Any] = {}
    for name, value in pairs:
        match = _KEY.match(name)
        if not match:
            raise _malformed(name)
        path = [match.group(1), *_PART.findall(match.group(2))]
        if len(path) > MAX_DEPTH:
            raise _malformed(name)
        _assign(result, path, value, name)
    return result


def _assign(target: dict[str, Any], path: list[str], value: str, name: str) -> None:
    node: Any = target
    for index, part in enumerate(path):
        last = index == len(path) - 1
        following = None if last else path[index + 1]
        if part == "":
            # ``x[]=v`` appends; only allowed as the final segment or before a named key.
            if not isinstance(node, list):
                raise _malformed(name)
            if last:
                node.append(value)
                return
            child: Any = [] if following == "" else {}
            node.append(child)
            node = child
            continue
        if not isinstance(node, dict):
            raise _malformed(name)
        if last:
            if part in node and isinstance(node[part], dict | list):
                raise _malformed(name)
            node[part] = value
            return
        existing = node.get(part)
        if existing is None:
            existing = [] if following == "" else {}
            node[part] = existing
        elif isinstance(existing, str) or (following == "") != isinstance(existing, list):
            raise _malformed(name)
        node = existing
