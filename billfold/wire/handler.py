"""The request pipeline for ``/v1``: auth, version, params, idempotency, one transaction, errors."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billfold import ids
from billfold.context import Ctx
from billfold.errors import (
    IdempotencyError,
    IdempotencyKeyInUse,
    InvalidRequestError,
    StripeError,
)
from billfold.store.objects import Scope, dumps
from billfold.wire import forms, versions
from billfold.wire.auth import authorize
from billfold.wire.params import parse_fields
from billfold.wire.present import present

if TYPE_CHECKING:
    from billfold.accounts import ApiKey
    from billfold.app import Billfold
    from billfold.store.db import Tx
    from billfold.wire.router import Route

log = logging.getLogger("billfold.requests")

MAX_BODY = 1 << 20


@dataclass
class ApiRequest:
    method: str
    path: str
    query: str
    body: bytes
    headers: dict[str, str]  # lower-cased names


@dataclass
class ApiResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class InFlight:
    """Idempotency keys whose first request is still running in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[tuple[str, bool, str]] = set()

    def claim(self, key: tuple[str, bool, str]) -> bool:
        with self._lock:
            if key in self._keys:
                return False
            self._keys.add(key)
            return True

    def release(self, key: tuple[str, bool, str]) -> None:
        with self._lock:
            self._keys.discard(key)


def handle(app: Billfold, request: ApiRequest) -> ApiResponse:
    request_id = ids.new_id("request", 14)
    headers = {"Request-Id": request_id}
    version: str | None = None
    try:
        key = app.keys.authenticate(request.headers.get("authorization"))
        version = versions.validate(
            request.headers.get("stripe-version") or app.default_version(key.account)
        )
        headers["Stripe-Version"] = version
        route, path_params, path_known = app.router.match(request.method, request.path)
        if route is None:
            raise InvalidRequestError(
                f"Unrecognized request URL ({request.method}: {request.path}). "
                "Billfold serves the Stripe API operations listed in its README.",
                status=404 if not path_known else 405,
            )
        raw = _raw_params(request)
        params = parse_fields(route.params, raw)
        authorize(key, route, params)
        scope = Scope(key.account, key.livemode)
        account_header = request.headers.get("stripe-account")
        if account_header and account_header != key.account:
            scope = app.connected_scope(key, account_header)
        idempotency_key = request.headers.get("idempotency-key") if route.write else None
        if idempotency_key:
            status, body, replayed = _idempotent(
                app, route, raw, params, path_params, scope, key, version, request_id,
                idempotency_key, request,
            )
            headers["Idempotency-Key"] = idempotency_key
            if replayed:
                headers["Idempotent-Replayed"] = "true"
            return ApiResponse(status, body, headers)
        status, payload = _execute(app, route, params, path_params, scope, key, version, request_id, None)
        return ApiResponse(status, dumps(payload).encode(), headers)
    except StripeError as exc:
        return ApiResponse(exc.status, dumps(exc.body()).encode(), headers)
    except Exception:
        log.exception("unhandled error in %s %s (%s)", request.method, request.path, request_id)
        failure = {"error": {"type": "api_error", "message": "An unexpected error occurred."}}
        headers["Stripe-Should-Retry"] = "true"
        return ApiResponse(500, dumps(failure).encode(), headers)


def _raw_params(request: ApiRequest) -> dict[str, Any]:
    raw = forms.decode(request.query) if request.query else {}
    if request.body:
        if len(request.body) > MAX_BODY:
            raise InvalidRequestError("The request body is too large.", status=413)
        content_type = request.headers.get("content-type", "application/x-www-form-urlencoded")
        if "json" in content_type:
            raise InvalidRequestError(
                "Invalid request: the body must be form-encoded "
                "(Content-Type: application/x-www-form-urlencoded)."
            )
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidRequestError("The request body is not valid UTF-8.") from exc
        raw.update(forms.decode(text))
    return raw


def _run(ctx: Ctx, route: Route, params: dict[str, Any], path_params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Run the handler; a card error keeps its state change and becomes the response."""
    expand = params.pop("expand", None)
    try:
        result = route.handler(ctx, params, **path_params)
        return 200, present(ctx, result, expand)
    except StripeError as exc:
        if not exc.commits_state:
            raise
        return exc.status, exc.body()


def _execute(
    app: Billfold,
    route: Route,
    params: dict[str, Any],
    path_params: dict[str, str],
    scope: Scope,
    key: ApiKey,
    version: str,
    request_id: str,
    idempotency_key: str | None,
) -> tuple[int, dict[str, Any]]:
    with app.db.transaction(write=route.write) as tx:
        ctx = Ctx(app, tx, scope, version, app.clock.now(), key, request_id, idempotency_key)
        return _run(ctx, route, params, path_params)


def _fingerprint(request: ApiRequest, raw: dict[str, Any]) -> str:
    canonical = json.dumps([request.method, request.path, raw], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _idempotent(
    app: Billfold,
    route: Route,
    raw: dict[str, Any],
    params: dict[str, Any],
    path_params: dict[str, str],
    scope: Scope,
    key: ApiKey,
    version: str,
    request_id: str,
    idempotency_key: str,
    request: ApiRequest,
) -> tuple[int, bytes, bool]:
    if len(idempotency_key) > 255:
        raise InvalidRequestError(
            "Invalid Idempotency-Key: it may be at most 255 characters long.", param="Idempotency-Key"
        )
    slot = (scope.account, scope.livemode, idempotency_key)
    if not app.in_flight.claim(slot):
        raise IdempotencyKeyInUse()
    fingerprint = _fingerprint(request, raw)
    try:
        with app.db.transaction(write=True) as tx:
            if tx.db.is_postgres:
                locked = tx.one(
                    "SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0)) AS ok",
                    k=f"{scope.account}:{scope.livemode}:{idempotency_key}",
                )
                if locked is None or not locked.ok:
                    raise IdempotencyKeyInUse()
            now = app.clock.now()
            previous = _stored(tx, slot, now - app.settings.idempotency_ttl)
            if previous is not None:
                stored_fingerprint, status, body = previous
                if stored_fingerprint != fingerprint:
                    raise IdempotencyError(
                        "Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than '{idempotency_key}' "
                        "if you meant to execute a different request."
                    )
                return status, body, True
            ctx = Ctx(app, tx, scope, version, now, key, request_id, idempotency_key)
            status, payload = _run(ctx, route, params, path_params)
            body = dumps(payload).encode()
            tx.execute(
                "INSERT INTO idempotency_keys (account, livemode, key, fingerprint, status, body, created) "
                "VALUES (:account, :livemode, :key, :fingerprint, :status, :body, :created)",
                account=scope.account,
                livemode=scope.livemode,
                key=idempotency_key,
                fingerprint=fingerprint,
                status=status,
                body=body.decode(),
                created=now,
            )
            return status, body, False
    finally:
        app.in_flight.release(slot)


def _stored(tx: Tx, slot: tuple[str, bool, str], oldest: int) -> tuple[str, int, bytes] | None:
    account, livemode, key = slot
    row = tx.one(
        "SELECT fingerprint, status, body, created FROM idempotency_keys "
        "WHERE account = :account AND livemode = :livemode AND key = :key",
        account=account,
        livemode=livemode,
        key=key,
    )
    if row is None:
        return None
    if row.created < oldest:
        tx.execute(
            "DELETE FROM idempotency_keys WHERE account = :account AND livemode = :livemode AND key = :key",
            account=account,
            livemode=livemode,
            key=key,
        )
        return None
    return row.fingerprint, int(row.status), row.body.encode()
