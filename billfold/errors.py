"""Billfold's errors, one class per Stripe error type.

    StripeError
    ├── InvalidRequestError          400  invalid_request_error
    │   ├── ResourceMissing          404  invalid_request_error / resource_missing
    │   ├── ResourceExists           400  invalid_request_error / resource_already_exists
    │   ├── IdempotencyKeyInUse      409  invalid_request_error / idempotency_key_in_use
    │   └── StateConflict            400  invalid_request_error (a transition the object's state forbids)
    ├── IdempotencyError             400  idempotency_error
    ├── CardError                    402  card_error (the state change it describes is committed)
    ├── AuthenticationError          401  invalid_request_error (Stripe's type for bad keys)
    ├── PermissionError_             403  invalid_request_error / secret_key_required etc.
    ├── RateLimitError               429  rate_limit_error
    │   └── LockTimeout              429  rate_limit_error / lock_timeout (retry: Stripe-Should-Retry)
    └── APIError                     500  api_error

Resources raise these; only ``billfold.wire`` turns them into HTTP responses.
"""

from __future__ import annotations

from typing import Any

DOC_BASE = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    type: str = "api_error"
    status: int = 500
    # A CardError describes a payment attempt that happened: its state changes are kept.
    commits_state: bool = False
    # Whether an idempotency key remembers this error; False for a request refused as malformed.
    remembered: bool = True

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        status: int | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        if status is not None:
            self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = DOC_BASE + self.code.replace("_", "-")
        if self.param:
            error["param"] = self.param
        for key, value in self.extra.items():
            if value is not None:
                error[key] = value
        return {"error": error}


class InvalidRequestError(StripeError):
    type = "invalid_request_error"
    status = 400


class ResourceMissing(InvalidRequestError):
    status = 404

    def __init__(self, kind: str, object_id: str, *, param: str = "id") -> None:
        super().__init__(
            f"No such {kind}: '{object_id}'", code="resource_missing", param=param
        )


class ResourceExists(InvalidRequestError):
    def __init__(self, message: str = "An object with that id already exists.", param: str = "id") -> None:
        super().__init__(message, code="resource_already_exists", param=param)


class IdempotencyKeyInUse(InvalidRequestError):
    status = 409

    def __init__(self) -> None:
        super().__init__(
            "There is currently another in-progress request using this Idempotency-Key. "
            "Retry after the first request has completed.",
            code="idempotency_key_in_use",
        )


class StateConflict(InvalidRequestError):
    """A transition that the object's current state does not allow."""


class IdempotencyError(StripeError):
    type = "idempotency_error"
    status = 400


class CardError(StripeError):
    type = "card_error"
    status = 402
    commits_state = True


class AuthenticationError(StripeError):
    type = "invalid_request_error"
    status = 401


class PermissionError_(StripeError):
    type = "invalid_request_error"
    status = 403


class RateLimitError(StripeError):
    type = "rate_limit_error"
    status = 429


class LockTimeout(RateLimitError):
    """Another request held the objects this one needed; nothing changed and a retry is safe."""

    def __init__(self) -> None:
        super().__init__(
            "This object cannot be accessed right now because another API request or Stripe "
            "process is currently accessing it. If you see this error intermittently, retry "
            "the request.",
            code="lock_timeout",
        )


class APIError(StripeError):
    type = "api_error"
    status = 500
