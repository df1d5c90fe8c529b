"""Prometheus metrics: API traffic, webhook delivery, scheduled jobs and billing runs.

Each Billfold app has its own registry (``for_app``), so two apps in one process never mix
their counts. Counters are bumped where the work happens: the ASGI entry (one call per API
request), the webhook and job workers, and the renewal step of billing. What the database
already knows (the webhook backlog, jobs waiting) is read when Prometheus scrapes, so it is
true for the whole deployment however many processes serve it, and costs nothing per request.

Several processes (``billfold serve --workers N``) each count their own requests. Set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by them before they start
(``prepare_multiprocess`` does it for a supervisor) and ``GET /metrics`` on any of them reports
the sum over all of them, the worker process included; without it, each process reports its own.
"""

from __future__ import annotations

import hmac
import os
import tempfile
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from billfold.app import Billfold
    from billfold.wire.handler import ApiRequest, ApiResponse

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
TOKEN_ENV = "BILLFOLD_METRICS_TOKEN"
PATH = "/metrics"
# A request that matched no route is labelled with this, never its raw path (ids would make
# every request a new time series).
UNMATCHED = "unmatched"
# Job kinds that are billing: renewals, trials, invoice finalization, dunning, test clocks.
BILLING_JOB_PREFIXES = ("subscription.", "invoice.", "test_clock.")
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The counters of one Billfold app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "billfold_http_requests", "API requests answered, by route template and status.",
            ["method", "route", "status"], registry=reg,
        )
        self.duration = Histogram(
            "billfold_http_request_duration_seconds", "Time to answer an API request.",
            ["method", "route"], buckets=_BUCKETS, registry=reg,
        )
        self.replays = Counter(
            "billfold_idempotent_replays", "Requests answered from a saved Idempotency-Key response.",
            registry=reg,
        )
        self.deliveries = Counter(
            "billfold_webhook_deliveries",
            "Webhook delivery attempts, by what became of the delivery "
            "(succeeded, retrying, failed after the last retry, canceled).",
            ["outcome"], registry=reg,
        )
        self.delivery_failures = Counter(
            "billfold_webhook_delivery_failures",
            "Webhook delivery attempts that got no 2xx answer (error status, timeout, refused).",
            registry=reg,
        )
        self.jobs = Counter(
            "billfold_jobs_executed", "Scheduled jobs run by the job worker, by kind and outcome.",
            ["kind", "outcome"], registry=reg,
        )
        self.billing_runs = Counter(
            "billfold_billing_runs",
            "Billing jobs completed (renewals, trial ends, invoice finalization, dunning retries, "
            "test clock advances), by kind.",
            ["kind"], registry=reg,
        )
        self.renewal_invoices = Counter(
            "billfold_renewal_invoices_created",
            "Invoices created because a subscription moved into a new billing period.",
            registry=reg,
        )

    # Hooks, each cheap: a dict lookup and a locked add.

    def observe_request(self, request: ApiRequest, response: ApiResponse, seconds: float) -> None:
        route = request.route or UNMATCHED
        self.requests.labels(request.method, route, str(response.status)).inc()
        self.duration.labels(request.method, route).observe(seconds)
        if response.headers.get("Idempotent-Replayed") == "true":
            self.replays.inc()

    def webhook_attempt(self, outcome: str, delivered: bool) -> None:
        self.deliveries.labels(outcome).inc()
        if not delivered and outcome != "canceled":
            self.delivery_failures.inc()

    def job_ran(self, kind: str, outcome: str) -> None:
        self.jobs.labels(kind, outcome).inc()
        if outcome == "done" and kind.startswith(BILLING_JOB_PREFIXES):
            self.billing_runs.labels(kind).inc()

    def renewal_invoice(self) -> None:
        self.renewal_invoices.inc()


_BY_APP: weakref.WeakKeyDictionary[Billfold, Metrics] = weakref.WeakKeyDictionary()


def for_app(app: Billfold) -> Metrics:
    """The app's metrics, made on first use (the app object itself stays free of them)."""
    metrics = _BY_APP.get(app)
    if metrics is None:
        metrics = _BY_APP.setdefault(app, Metrics())
    return metrics


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time: the same answer from every process."""

    def __init__(self, app: Billfold) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        now = self.app.clock.precise()
        with self.app.db.transaction(write=False) as tx:
            due = tx.one(
                "SELECT COUNT(*) AS n, MIN(next_attempt_at) AS oldest FROM webhook_deliveries "
                "WHERE status = 'pending' AND next_attempt_at <= :now",
                now=now,
            )
            statuses = tx.all(
                "SELECT status, COUNT(*) AS n FROM webhook_deliveries "
                "WHERE status IN ('pending', 'failed') GROUP BY status"
            )
            jobs_due = tx.one(
                "SELECT COUNT(*) AS n FROM jobs WHERE status = 'pending' AND run_at <= :now "
                "AND test_clock IS NULL",
                now=now,
            )
            jobs_failed = tx.one("SELECT COUNT(*) AS n FROM jobs WHERE status = 'failed'")
        backlog = int(due.n) if due is not None else 0
        oldest = float(due.oldest) if due is not None and due.oldest is not None else now
        by_status = {row.status: int(row.n) for row in statuses}
        yield GaugeMetricFamily(
            "billfold_webhook_backlog",
            "Webhook deliveries due now and not yet delivered (pending, next attempt in the past).",
            value=backlog,
        )
        yield GaugeMetricFamily(
            "billfold_webhook_backlog_oldest_seconds",
            "How long the oldest due webhook delivery has waited past its attempt time.",
            value=max(0.0, now - oldest),
        )
        yield GaugeMetricFamily(
            "billfold_webhook_deliveries_pending",
            "Webhook deliveries not yet delivered that will be tried again (due now or later).",
            value=by_status.get("pending", 0),
        )
        yield GaugeMetricFamily(
            "billfold_webhook_deliveries_failed",
            "Webhook deliveries that ran out of retries without a 2xx answer.",
            value=by_status.get("failed", 0),
        )
        yield GaugeMetricFamily(
            "billfold_jobs_due", "Scheduled jobs due now and not yet done.",
            value=int(jobs_due.n) if jobs_due is not None else 0,
        )
        yield GaugeMetricFamily(
            "billfold_jobs_failed", "Scheduled jobs that failed for good after their retries.",
            value=int(jobs_failed.n) if jobs_failed is not None else 0,
        )


def exposition(app: Billfold) -> bytes:
    """The text Prometheus scrapes: this process's counters (or every process's, in
    multiprocess mode) and the database gauges."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
        text = generate_latest(registry)
    else:
        text = generate_latest(for_app(app).registry)
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(app))
    return text + generate_latest(registry)


def prepare_multiprocess() -> str:
    """For a supervisor, before it starts its children: a fresh directory for their counters,
    named in the environment they inherit. Returns the directory."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        path = tempfile.mkdtemp(prefix="billfold-metrics-")
        os.environ[MULTIPROC_ENV] = path
    return path


def _authorized(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def routes(app: Billfold) -> list[Route]:
    """``GET /metrics``; with ``BILLFOLD_METRICS_TOKEN`` set, only for ``Bearer <token>``."""
    token = os.environ.get(TOKEN_ENV, "")
    for_app(app)  # counters exist (at zero) before the first scrape

    async def metrics(request: Request) -> Response:
        if token and not _authorized(request, token):
            return JSONResponse(
                {"error": {"type": "invalid_request_error",
                           "message": "GET /metrics needs the Bearer token set in "
                           f"{TOKEN_ENV}."}},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="billfold-metrics"'},
            )
        # The database gauges are a few indexed counts; off the event loop all the same.
        body = await run_in_threadpool(exposition, app)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [Route(PATH, metrics, methods=["GET"])]
