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
# A "%" must start a two-digit hex escape; anything else is a broken encoding, not data.
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
MAX_DEPTH = 8
MAX_FIELDS = 10_000


def _malformed(name: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Invalid parameter name: {name}. Nested parameters use brackets, as in "
        "metadata[key]=value or items[0][price]=value.",
        param=name,
    )


def _undecodable(detail: str) -> InvalidRequestError:
    return InvalidRequestError(f"The request could not be decoded: {detail}.")


def decode(raw: str) -> dict[str, Any]:
    """Decode a query string or a form body; every malformed input is a 400, never a crash."""
    if _BAD_ESCAPE.search(raw):
        raise _undecodable("it contains a '%' that does not begin a percent-encoded byte")
    try:
        pairs = parse_qsl(
            raw, keep_blank_values=True, strict_parsing=False, errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError as exc:
        raise _undecodable("a percent-encoded value is not valid UTF-8") from exc
    except ValueError as exc:
        raise _undecodable(f"it has more than {MAX_FIELDS} fields") from exc
    result: dict[str, Any] = {}
    for name, value in pairs:
        # PostgreSQL text cannot hold NUL, and no Stripe parameter needs one.
        if "\x00" in name or "\x00" in value:
            raise InvalidRequestError(
                "Invalid request: parameters may not contain the NUL character (%00).",
                param=name.replace("\x00", "") or None,
            )
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
