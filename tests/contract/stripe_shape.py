"""Checks on what Billfold answers, shared by the contract tests: JSON always, a Stripe object
on success, and Stripe's error shape on every error."""

from __future__ import annotations

import json
from typing import Any

ERROR_TYPES = frozenset({
    "api_error",
    "card_error",
    "idempotency_error",
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "rate_limit_error",
})
# Stripe's error fields that hold strings when present.
STRING_FIELDS = ("message", "code", "decline_code", "param", "doc_url", "charge")


def problems(status: int, content_type: str, body: bytes) -> list[str]:
    """What is wrong with one answer (empty when it is Stripe-shaped)."""
    if not content_type.startswith("application/json"):
        return [f"content type {content_type!r} is not JSON"]
    try:
        payload: Any = json.loads(body)
    except ValueError:
        return [f"body is not JSON: {body[:200]!r}"]
    if not isinstance(payload, dict):
        return ["body is not a JSON object"]
    if status < 400:
        if not isinstance(payload.get("object"), str):
            return [f"a {status} answer without an 'object' name: {str(payload)[:200]}"]
        return []
    error = payload.get("error")
    if not isinstance(error, dict):
        return [f"a {status} answer without an 'error' object: {str(payload)[:200]}"]
    found = []
    if error.get("type") not in ERROR_TYPES:
        found.append(f"error type {error.get('type')!r} is not one of Stripe's")
    if not isinstance(error.get("message"), str) or not error["message"]:
        found.append("error without a message")
    for name in STRING_FIELDS:
        if name in error and error[name] is not None and not isinstance(error[name], str):
            found.append(f"error.{name} is not a string: {error[name]!r}")
    if status == 500 and error.get("type") != "api_error":
        found.append("a 500 that is not an api_error")
    if error.get("type") == "card_error" and status != 402:
        found.append(f"a card_error with status {status}, not 402")
    return found
