"""The request pipeline for ``/v1``: auth, version, params, idempotency, one transaction, errors."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy.exc import DBAPIError

from billfold import ids
from billfold.context import Ctx
from billfold.errors import (
    IdempotencyError,
    IdempotencyKeyInUse,
    InvalidRequestError,
    LockTimeout,
    RateLimitError,
    ResourceExists,
    StripeError,
)
from billfold.store.objects import Scope, dumps_bytes
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
MAX_IDEMPOTENCY_KEY = 255
# PostgreSQL's serialization failure, deadlock and lock-not-available states.
_LOCK_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


@dataclass
class ApiRequest:
    method: str
    path: str
    query: str
    body: bytes
    headers: dict[str, str]  # lower-cased names
    # For the request log: when the request arrived, and the key that authenticated it.
    received: float = field(default_factory=time.perf_counter)
    key: ApiKey | None = None
    # For metrics: the matched route's template (``/v1/customers/{customer}``), never raw ids.
    route: str | None = None
    # The router's answer, when the ASGI layer already asked (it decides where to run a request).
    matched: tuple[Route | None, dict[str, str], bool] | None = None


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


@dataclass
class _Call:
    """One authenticated, validated request, ready to run."""

    app: Billfold
    route: Route
    raw: dict[str, Any]
    params: dict[str, Any]
    path_params: dict[str, str]
    scope: Scope
    key: ApiKey
    version: str
    request_id: str


def handle(app: Billfold, request: ApiRequest) -> ApiResponse:
    request_id = ids.new_id("request", 14)
    headers = {"Request-Id": request_id}
    try:
        key = request.key = app.keys.authenticate(request.headers.get("authorization"))
        version = versions.validate(
            request.headers.get("stripe-version") or app.default_version(key.account)
        )
        headers["Stripe-Version"] = version
        route, path_params = _route(app, request)
        request.route = route.path
        authorize(key, route, {})
        raw = _raw_params(request)
        params = parse_fields(route.params, raw)
        scope = Scope(key.account, key.livemode)
        account_header = request.headers.get("stripe-account")
        if account_header and account_header != key.account:
            scope = app.connected_scope(key, account_header)
        call = _Call(app, route, raw, params, path_params, scope, key, version, request_id)
        idempotency_key = request.headers.get("idempotency-key", "").strip() if route.write else ""
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
            status, body, replayed = _idempotent(call, idempotency_key, request)
            if replayed:
                headers["Idempotent-Replayed"] = "true"
            return ApiResponse(status, body, headers)
        status, payload = _execute(call)
        return ApiResponse(status, dumps_bytes(payload), headers)
    except StripeError as exc:
        return _error(exc, headers)
    except (DBAPIError, sqlite3.Error, psycopg.Error) as exc:
        # Statements run on the driver's cursor (billfold.store.db), so its errors arrive
        # unwrapped; SQLAlchemy's wrapper still comes from transaction begin and commit.
        driver_error = exc.orig if isinstance(exc, DBAPIError) else exc
        if _is_lock_conflict(driver_error):
            log.info("lock conflict in %s %s (%s): %s", request.method, request.path, request_id, exc)
            return _error(LockTimeout(), headers)
        if _is_duplicate(driver_error):
            # Two requests raced to create an object with the same caller-chosen id.
            return _error(ResourceExists(), headers)
        return _failure(request, request_id, headers)
    except Exception:
        return _failure(request, request_id, headers)


def _error(exc: StripeError, headers: dict[str, str]) -> ApiResponse:
    if isinstance(exc, IdempotencyKeyInUse | RateLimitError):
        # Nothing happened and a retry may succeed: tell the SDKs so.
        headers["Stripe-Should-Retry"] = "true"
    return ApiResponse(exc.status, dumps_bytes(exc.body()), headers)


def _failure(request: ApiRequest, request_id: str, headers: dict[str, str]) -> ApiResponse:
    log.exception("unhandled error in %s %s (%s)", request.method, request.path, request_id)
    failure = {
        "error": {
            "type": "api_error",
            "message": f"An unknown error occurred while processing request {request_id}. "
            "Nothing was changed; the server log has the details.",
        }
    }
    headers["Stripe-Should-Retry"] = "true"
    return ApiResponse(500, dumps_bytes(failure), headers)


def _is_lock_conflict(exc: BaseException | None) -> bool:
    state = getattr(exc, "sqlstate", None)
    return state in _LOCK_SQLSTATES or "database is locked" in str(exc)


def _is_duplicate(exc: BaseException | None) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE constraint failed: objects." in str(exc)
    return getattr(exc, "sqlstate", None) == "23505" and "objects" in str(exc)


def _route(app: Billfold, request: ApiRequest) -> tuple[Route, dict[str, str]]:
    route, path_params, _ = request.matched or app.router.match(request.method, request.path)
    if route is None:
        # Stripe answers an unknown path and a known path with the wrong method alike.
        hint = ""
        if request.path.endswith("/"):
            hint = (
                " If you are trying to list objects, remove the trailing slash. If you are "
                "trying to retrieve an object, make sure you passed a valid (non-empty) "
                "identifier in your code."
            )
        raise InvalidRequestError(
            f"Unrecognized request URL ({request.method}: {request.path}).{hint} Billfold "
            "serves the Stripe API operations listed in its README.",
            status=404,
        )
    return route, path_params


def _raw_params(request: ApiRequest) -> dict[str, Any]:
    parts = [_utf8(request.query.encode("latin-1", "replace"), "query string")] if request.query else []
    if request.body:
        if len(request.body) > MAX_BODY:
            raise InvalidRequestError("The request body is too large.", status=413)
        content_type = request.headers.get("content-type", "application/x-www-form-urlencoded")
        if "json" in content_type or "multipart" in content_type:
            raise InvalidRequestError(
                "Invalid request: the body must be form-encoded "
                "(Content-Type: application/x-www-form-urlencoded), as the Stripe API expects."
            )
        parts.append(_utf8(request.body, "request body"))
    # One pass over query and body together, so a name given in both shapes is caught.
    return forms.decode("&".join(parts)) if parts else {}


def _utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(f"The {what} is not valid UTF-8.") from exc


def _run(ctx: Ctx, call: _Call) -> tuple[int, dict[str, Any]]:
    """Run the handler; a card error keeps its state change and becomes the response."""
    params = dict(call.params)
    expand = params.pop("expand", None)
    try:
        result = call.route.handler(ctx, params, **call.path_params)
    except StripeError as exc:
        if not exc.commits_state:
            raise
        return exc.status, exc.body()
    try:
        return 200, present(ctx, result, expand)
    except InvalidRequestError as exc:
        # An ``expand`` path the object lacks is a malformed request, not the endpoint's result.
        exc.remembered = False
        raise


def _context(call: _Call, tx: Tx, now: int, idempotency_key: str | None) -> Ctx:
    return Ctx(
        call.app, tx, call.scope, call.version, now, call.key, call.request_id, idempotency_key
    )


def _execute(call: _Call) -> tuple[int, dict[str, Any]]:
    with call.app.db.transaction(write=call.route.write) as tx:
        return _run(_context(call, tx, call.app.clock.now(), None), call)


def _fingerprint(request: ApiRequest, raw: dict[str, Any]) -> str:
    canonical = json.dumps([request.method, request.path, raw], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _idempotent(call: _Call, idempotency_key: str, request: ApiRequest) -> tuple[int, bytes, bool]:
    """Stripe's rule: once the endpoint begins, its response (success or error) is saved and
    replayed for the same key and parameters; requests refused before that save nothing."""
    if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidRequestError(
            f"Invalid Idempotency-Key: it may be at most {MAX_IDEMPOTENCY_KEY} characters long, "
            f"but you passed one of {len(idempotency_key)}.",
            param="Idempotency-Key",
        )
    app, scope = call.app, call.scope
    slot = (scope.account, scope.livemode, idempotency_key)
    if not app.in_flight.claim(slot):
        raise IdempotencyKeyInUse()
    fingerprint = _fingerprint(request, call.raw)
    try:
        with app.db.transaction(write=True) as tx:
            if tx.db.is_postgres:
                # Other processes on the same database: the key's lock holder runs, others wait.
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
            status, payload = _run_saved(_context(call, tx, now, idempotency_key), call)
            body = dumps_bytes(payload)
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


def _run_saved(ctx: Ctx, call: _Call) -> tuple[int, dict[str, Any]]:
    """Run the handler inside a savepoint: an error it raises undoes its changes and becomes
    the response the key remembers. Lock conflicts are not remembered: a retry should run."""
    savepoint = ctx.tx.savepoint()
    try:
        result = _run(ctx, call)
    except StripeError as exc:
        if isinstance(exc, RateLimitError) or not exc.remembered:
            raise
        savepoint.rollback()
        ctx.events.clear()
        return exc.status, exc.body()
    savepoint.commit()
    return result


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
