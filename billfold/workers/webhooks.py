"""The webhook delivery worker: claims due deliveries, POSTs signed events, retries with backoff.

One polling thread claims due rows (``billfold.events.deliveries``) and hands them to a small
pool, so one slow endpoint cannot hold up the others: each endpoint has at most
``PER_ENDPOINT`` deliveries in flight in this process. The thread sleeps until the next
delivery falls due, a poll interval passes, or ``app.deliveries_due`` is set after a commit
that queued deliveries. Every attempt is a row, so a restart loses nothing.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx

from billfold.context import Ctx
from billfold.events import deliveries
from billfold.events.deliveries import Claim
from billfold.events.signing import signature_header
from billfold.observability import metrics
from billfold.store.objects import Scope
from billfold.wire.present import render
from billfold.wire.versions import LATEST

if TYPE_CHECKING:
    from billfold.app import Billfold

log = logging.getLogger("billfold.webhooks")

THREADS = 8
PER_ENDPOINT = 4
POLL_SECONDS = 1.0
# A claim outlives the longest attempt, so a crashed worker's rows come back soon after.
CLAIM_MARGIN = 5.0
SWEEP_SECONDS = 600.0
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


class DeliveryWorker:
    def __init__(self, app: Billfold, *, threads: int = THREADS) -> None:
        self.app = app
        self.threads = threads
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}  # endpoint id -> deliveries running here
        self._running = 0
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._http: httpx.Client | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        # httpx logs every request at INFO; a busy worker would flood the server's log.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self._http = httpx.Client(
            timeout=self.app.settings.webhook_timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=self.threads * 2, max_keepalive_connections=0),
        )
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="billfold-webhook")
        self._thread = threading.Thread(target=self._loop, name="billfold-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.app.deliveries_due.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._pool is not None:
            # Claims of deliveries not yet started are handed back by their done callbacks.
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._http is not None:
            self._http.close()
            self._http = None

    # The polling thread

    def _loop(self) -> None:
        next_sweep = 0.0
        due = self.app.deliveries_due
        while not self._stopping.is_set():
            wait = POLL_SECONDS
            try:
                if time.monotonic() >= next_sweep:
                    self._sweep()
                    next_sweep = time.monotonic() + SWEEP_SECONDS
                wait = self._claim_and_submit()
            except Exception:
                log.exception("webhook worker: polling failed; retrying")
            if wait > 0:
                due.wait(wait)
            due.clear()

    def _busy(self) -> tuple[int, list[str]]:
        with self._lock:
            free = self.threads - self._running
            busy = [endpoint for endpoint, n in self._in_flight.items() if n >= PER_ENDPOINT]
        return free, busy

    def _claim_and_submit(self) -> float:
        """Claim what is due and fits; returns how long to sleep before looking again."""
        free, busy = self._busy()
        if free <= 0:
            return POLL_SECONDS  # a finishing delivery sets deliveries_due
        now = self.app.clock.precise()
        until = now + self.app.settings.webhook_timeout + CLAIM_MARGIN
        claims = deliveries.claim_due(self.app.db, now, until, free, busy)
        claims = self._admit(claims)
        if len(claims) == free:
            return 0.0
        _, busy = self._busy()
        upcoming = deliveries.next_due(self.app.db, now, busy)
        if upcoming is None:
            return POLL_SECONDS
        return min(POLL_SECONDS, max(0.02, upcoming - self.app.clock.precise()))

    def _admit(self, claims: list[Claim]) -> list[Claim]:
        """Hand claims to the pool, keeping each endpoint within PER_ENDPOINT; give back the rest."""
        admitted: list[Claim] = []
        for claim in claims:
            pool = self._pool
            if pool is None or self._stopping.is_set() or not self._reserve(claim):
                deliveries.release(self.app.db, claim)
                continue
            future = pool.submit(self._deliver, claim)
            future.add_done_callback(functools.partial(self._finished, claim))
            admitted.append(claim)
        return admitted

    def _reserve(self, claim: Claim) -> bool:
        with self._lock:
            count = self._in_flight.get(claim.endpoint, 0)
            if count >= PER_ENDPOINT:
                return False
            self._in_flight[claim.endpoint] = count + 1
            self._running += 1
            return True

    def _finished(self, claim: Claim, future: Future[None]) -> None:
        self._done(claim)
        if future.cancelled():
            try:
                deliveries.release(self.app.db, claim)
            except Exception:
                log.exception("webhook worker: could not release %s", claim.id)
        self.app.deliveries_due.set()

    def _done(self, claim: Claim) -> None:
        with self._lock:
            self._running -= 1
            left = self._in_flight.get(claim.endpoint, 0) - 1
            if left > 0:
                self._in_flight[claim.endpoint] = left
            else:
                self._in_flight.pop(claim.endpoint, None)

    def _sweep(self) -> None:
        cutoff = self.app.clock.now() - self.app.settings.idempotency_ttl
        removed = deliveries.purge_idempotency_keys(self.app.db, cutoff)
        if removed:
            log.info("removed %d expired idempotency keys", removed)

    # One delivery, on a pool thread

    def _payload(self, claim: Claim) -> tuple[dict[str, Any] | None, str | None, bytes]:
        """The endpoint (None if it no longer takes events), its secret, and the event's JSON."""
        with self.app.db.transaction(write=False) as tx:
            row = tx.one(
                "SELECT deleted, data FROM objects WHERE id = :id AND object = 'webhook_endpoint'",
                id=claim.endpoint,
            )
            endpoint = json.loads(row.data) if row is not None and not row.deleted else None
            if endpoint is None or endpoint.get("status") != "enabled":
                return None, None, b""
            ctx = Ctx(self.app, tx, Scope(claim.account, claim.livemode), LATEST, self.app.clock.now())
            event = ctx.objects.get(claim.event, "event")
            if event is None:
                return None, None, b""
            ctx.api_version = str(event.get("api_version") or LATEST)
            body = json.dumps(render(ctx, event), indent=2).encode()
        return endpoint, endpoint.get("_secret"), body

    def _deliver(self, claim: Claim) -> None:
        try:
            endpoint, secret, body = self._payload(claim)
            if endpoint is None or not secret:
                deliveries.cancel(
                    self.app.db, claim, self.app.clock.precise(), "endpoint deleted or disabled"
                )
                metrics.for_app(self.app).webhook_attempt("canceled", delivered=False)
                return
            status_code, error, started, finished = self._post(endpoint["url"], secret, body)
            outcome = deliveries.settle(
                self.app.db,
                claim,
                started=started,
                finished=finished,
                status_code=status_code,
                error=error,
                retry_delays=self.app.settings.webhook_retry_delays,
            )
            metrics.for_app(self.app).webhook_attempt(
                "retrying" if outcome == "pending" else outcome, delivered=outcome == "succeeded"
            )
            log.debug("delivery %s of %s to %s: %s", claim.id, claim.event, endpoint["url"], outcome)
        except Exception:
            # The claim lapses and another pass (or worker) retries the delivery.
            log.exception("webhook worker: delivery %s failed unexpectedly", claim.id)

    def _post(self, url: str, secret: str, body: bytes) -> tuple[int | None, str | None, float, float]:
        assert self._http is not None
        started = self.app.clock.precise()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Accept": "*/*; q=0.5, application/xml",
            "Cache-Control": "no-cache",
            "Stripe-Signature": signature_header(secret, int(started), body),
        }
        try:
            response = self._http.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return None, "timed out", started, self.app.clock.precise()
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500], started, self.app.clock.precise()
        finished = self.app.clock.precise()
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return response.status_code, error, started, finished
