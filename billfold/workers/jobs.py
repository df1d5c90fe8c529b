"""The job worker: claims due scheduled jobs (``billfold.jobs``) and runs each in its own transaction.

One polling thread claims due jobs and hands them to a small pool. It sleeps until the next job
falls due, a poll interval passes, or ``app.jobs_due`` is set after a commit that scheduled one.
Several processes may run this worker against one PostgreSQL database: a claim is a row update
under ``FOR UPDATE SKIP LOCKED``, and a job's run re-checks its claim under a row lock, so each
job commits once.
"""

from __future__ import annotations

import functools
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from billfold import jobs
from billfold.jobs import Claim
from billfold.observability import metrics

if TYPE_CHECKING:
    from billfold.app import Billfold

log = logging.getLogger("billfold.jobs")

THREADS = 4
POLL_SECONDS = 1.0
# How long a claim holds a job; a crashed worker's claimed jobs come back after this.
CLAIM_SECONDS = 30.0


class JobWorker:
    def __init__(
        self,
        app: Billfold,
        *,
        threads: int = THREADS,
        retry_delays: tuple[float, ...] = jobs.RETRY_DELAYS,
    ) -> None:
        self.app = app
        self.threads = threads
        self.retry_delays = retry_delays
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._running = 0
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="billfold-job")
        self._thread = threading.Thread(target=self._loop, name="billfold-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.app.jobs_due.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._pool is not None:
            # Claims of jobs not yet started are handed back by their done callbacks.
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run_due(self) -> int:
        """Run every job due now, in this thread; how many ran. For tools and tests."""
        ran = 0
        while True:
            now = self.app.clock.precise()
            claims = jobs.claim_due(self.app.db, now, now + CLAIM_SECONDS, self.threads, sorted(jobs.HANDLERS))
            if not claims:
                return ran
            for claim in claims:
                ran += self._run(claim)

    # The polling thread

    def _loop(self) -> None:
        due = self.app.jobs_due
        while not self._stopping.is_set():
            wait = POLL_SECONDS
            try:
                wait = self._claim_and_submit()
            except Exception:
                log.exception("job worker: polling failed; retrying")
            if wait > 0:
                due.wait(wait)
            due.clear()

    def _claim_and_submit(self) -> float:
        """Claim what is due and fits; returns how long to sleep before looking again."""
        with self._lock:
            free = self.threads - self._running
        if free <= 0:
            return POLL_SECONDS  # a finishing job sets jobs_due
        kinds = sorted(jobs.HANDLERS)
        now = self.app.clock.precise()
        # A read first, so an idle worker never takes SQLite's write lock just to find nothing.
        upcoming = jobs.next_due(self.app.db, now, kinds)
        if upcoming is None or upcoming > now:
            return POLL_SECONDS if upcoming is None else min(POLL_SECONDS, max(0.01, upcoming - now))
        claims = jobs.claim_due(self.app.db, now, now + CLAIM_SECONDS, free, kinds)
        for claim in claims:
            pool = self._pool
            if pool is None or self._stopping.is_set():
                jobs.release(self.app.db, claim)
                continue
            with self._lock:
                self._running += 1
            future = pool.submit(self._run, claim)
            future.add_done_callback(functools.partial(self._finished, claim))
        # Nothing claimed though something is due: another worker holds it, so wait a while.
        return 0.0 if claims else POLL_SECONDS

    def _finished(self, claim: Claim, future: Future[int]) -> None:
        with self._lock:
            self._running -= 1
        if future.cancelled():
            try:
                jobs.release(self.app.db, claim)
            except Exception:
                log.exception("job worker: could not release %s", claim.id)
        self.app.jobs_due.set()

    # One job, on a pool thread

    def _run(self, claim: Claim) -> int:
        try:
            version = self.app.default_version(claim.account)
            if jobs.run(self.app, claim, version):
                log.debug("job %s (%s %s) done", claim.id, claim.kind, claim.target)
                metrics.for_app(self.app).job_ran(claim.kind, "done")
                return 1
            return 0
        except Exception as exc:
            log.exception("job %s (%s %s) failed", claim.id, claim.kind, claim.target)
            try:
                status = jobs.fail(
                    self.app.db, claim, self.app.clock.precise(),
                    f"{type(exc).__name__}: {exc}", self.retry_delays,
                )
            except Exception:
                # The claim lapses and another pass (or worker) runs the job again.
                log.exception("job worker: could not record the failure of %s", claim.id)
                return 0
            metrics.for_app(self.app).job_ran(claim.kind, "failed" if status == "failed" else "retrying")
            if status == "failed":
                log.error("job %s (%s %s) failed for good after %d attempts",
                          claim.id, claim.kind, claim.target, claim.attempts + 1)
            return 0
