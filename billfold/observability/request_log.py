"""Structured request logs: one JSON line per API request, and a table ``billfold logs`` tails.

Every request the API pipeline answers becomes one entry (request id, method, path, status,
duration, account, mode, API version, idempotency key, error type and code). The entry is
logged at once on ``billfold.requests`` and queued for the ``request_logs`` table; a background
thread writes the queue in batches every ``interval`` seconds, so the request path does no
database work for its log. Under overload the queue is bounded: entries past ``capacity`` are
dropped and counted in ``dropped``, never allowed to slow requests down.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from billfold.store.objects import dumps

if TYPE_CHECKING:
    from billfold.store.db import Database
    from billfold.wire.handler import ApiRequest, ApiResponse

log = logging.getLogger("billfold.requests")

# The endpoint ``billfold logs`` polls: logging its own requests would make the tail feed itself.
LOGS_PATH = "/billfold/api/request_logs"
LOG_FORMATS = ("json", "text")

_INSERT = (
    "INSERT INTO request_logs (id, account, livemode, created, method, path, status, data) "
    "VALUES (:id, :account, :livemode, :created, :method, :path, :status, :data)"
)


def entry_for(request: ApiRequest, response: ApiResponse, now: float) -> dict[str, Any]:
    """The log entry of one answered request (the same fields in the log line and the table)."""
    key = request.key
    error_type = error_code = None
    if response.status >= 400:
        try:
            error = json.loads(response.body).get("error") or {}
            error_type, error_code = error.get("type"), error.get("code")
        except (ValueError, AttributeError):
            error_type = "api_error"
    headers = response.headers
    return {
        "ts": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "request_id": headers.get("Request-Id"),
        "method": request.method,
        "path": request.path,
        "status": response.status,
        "duration_ms": round((time.perf_counter() - request.received) * 1000, 3),
        "account": key.account if key is not None else None,
        "stripe_account": request.headers.get("stripe-account") or None,
        "livemode": key.livemode if key is not None else None,
        "api_version": headers.get("Stripe-Version"),
        "idempotency_key": headers.get("Idempotency-Key"),
        "idempotent_replayed": headers.get("Idempotent-Replayed") == "true",
        "error_type": error_type,
        "error_code": error_code,
    }


class RequestLog:
    """Logs each request at once and stores it later, from a bounded queue, in batches."""

    def __init__(
        self,
        db: Database,
        *,
        capacity: int = 10_000,
        interval: float = 0.2,
        keep_rows: int = 10_000,
        keep_seconds: float = 7 * 86_400,
    ) -> None:
        self.db = db
        self.capacity = capacity
        self.interval = interval
        self.keep_rows = keep_rows
        self.keep_seconds = keep_seconds
        self.dropped = 0
        self.written = 0
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned_at = 0.0

    def record(self, request: ApiRequest, response: ApiResponse) -> None:
        if request.path.startswith(LOGS_PATH):
            return
        now = time.time()
        entry = entry_for(request, response, now)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "%s %s %s [%s] %.1fms", entry["status"], entry["method"], entry["path"],
                entry["request_id"], entry["duration_ms"], extra={"request_entry": entry},
            )
        if entry["account"] is None:
            return  # a request no key vouched for belongs to no account's log
        with self._lock:
            if len(self._pending) >= self.capacity:
                self.dropped += 1
                return
            self._pending.append({**entry, "created": now})
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="billfold-request-log", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Stop the writer after a last flush."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.flush()
            except Exception:
                log.exception("could not store request logs")

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            rows = [
                {
                    "id": entry["request_id"],
                    "account": entry["account"],
                    "livemode": bool(entry["livemode"]),
                    "created": entry["created"],
                    "method": entry["method"],
                    "path": entry["path"],
                    "status": entry["status"],
                    "data": dumps(entry),
                }
                for entry in batch
            ]
            with self.db.transaction(write=True) as tx:
                tx.execute_many(_INSERT, rows)
                if time.monotonic() - self._pruned_at > 5.0:
                    self._prune(tx)
        except Exception:
            with self._lock:
                self.dropped += len(batch)
            raise
        self.written += len(batch)

    def _prune(self, tx: Any) -> None:
        """Keep the newest ``keep_rows`` rows of the last ``keep_seconds``."""
        self._pruned_at = time.monotonic()
        top = tx.one("SELECT MAX(seq) AS top FROM request_logs")
        floor = (top.top or 0) - self.keep_rows if top is not None else 0
        # Two statements, so each uses its own index (an OR of the two would scan the table).
        tx.execute("DELETE FROM request_logs WHERE seq <= :floor", floor=floor)
        tx.execute("DELETE FROM request_logs WHERE created < :cutoff", cutoff=time.time() - self.keep_seconds)


class JsonLines(logging.Formatter):
    """One JSON object per line: a request's entry as is, any other record as a message."""

    def format(self, record: logging.LogRecord) -> str:
        entry = getattr(record, "request_entry", None)
        if entry is not None:
            return dumps({**entry, "level": record.levelname.lower(), "logger": record.name})
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return dumps(line)


def configure(log_format: str) -> None:
    """Send ``billfold.requests`` to stderr as JSON lines (``json``) or readable text (``text``)."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    log.handlers = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
