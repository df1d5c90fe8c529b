"""The contract tests' own judge of an answer: it must refuse what is not Stripe-shaped."""

from __future__ import annotations

import json

import pytest

from tests.contract.stripe_shape import problems


def body(payload: object) -> bytes:
    return json.dumps(payload).encode()


def test_stripe_shaped_answers_pass() -> None:
    assert problems(200, "application/json", body({"id": "cus_1", "object": "customer"})) == []
    error = {"error": {"type": "invalid_request_error", "message": "No such customer",
                       "code": "resource_missing", "param": "id"}}
    assert problems(404, "application/json", body(error)) == []
    card = {"error": {"type": "card_error", "message": "Declined", "decline_code": "generic_decline"}}
    assert problems(402, "application/json; charset=utf-8", body(card)) == []


@pytest.mark.parametrize(("status", "content_type", "raw"), [
    (400, "text/plain", b"Bad Request"),
    (400, "application/json", b"not json"),
    (400, "application/json", body({"message": "no error object"})),
    (400, "application/json", body({"error": {"type": "weird_error", "message": "x"}})),
    (400, "application/json", body({"error": {"type": "invalid_request_error"}})),
    (400, "application/json", body({"error": {"type": "invalid_request_error", "message": "x",
                                              "param": ["a"]}})),
    (500, "application/json", body({"error": {"type": "invalid_request_error", "message": "x"}})),
    (400, "application/json", body({"error": {"type": "card_error", "message": "x"}})),
    (200, "application/json", body({"id": "x"})),
    (200, "application/json", body([1, 2])),
])
def test_anything_else_is_refused(status: int, content_type: str, raw: bytes) -> None:
    assert problems(status, content_type, raw)
