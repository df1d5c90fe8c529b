"""Helpers every benchmark in bench/ shares: the machine header, timing runs, servers, tables.

Each benchmark is one script with its own entry point; what they have in common lives here so
the figures of all of them are measured and printed the same way:

* ``machine_header`` - CPU model, cores, load, Python, date, commit: the context a figure needs;
* ``measure`` - a fixed number of calls spread over N clients (threads or forked processes),
  collecting each call's latency, so ops/s, p50 and p99 come from the same run;
* ``BillfoldProcess`` - ``billfold serve`` (optionally ``--workers N``) or ``billfold worker`` as a
  subprocess bound to 127.0.0.1 on a free port, stopped by its own pid;
* ``markdown_table`` / ``Report`` - Markdown to stdout and, with ``--json``, the same rows as JSON.
"""

from __future__ import annotations

import datetime
import json
import math
import multiprocessing
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import stripe

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PG_ADMIN_URL = os.environ.get("BILLFOLD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

# A call of a workload: the client to use and the index of this call (0..total-1, or negative
# for warm-up calls that are not timed).
Call = Callable[[stripe.StripeClient, int], None]


# ---- the machine ------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or "unknown"


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "unknown"


def machine_info() -> dict[str, str]:
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "stripe": stripe.VERSION,
        "billfold": git_commit(),
        "load": load_average(),
    }


def machine_header(title: str, info: dict[str, str]) -> str:
    """The lines that open every report: a figure without its machine means little."""
    return "\n".join(
        [
            f"# {title}",
            "",
            f"- date: {info['date']}",
            f"- machine: {info['cores']} CPUs, {info['cpu']}, {info['os']}",
            f"- load average (1 min) before the run: {info['load']} - other work on the machine "
            "skews the figures",
            f"- software: Python {info['python']}, stripe-python {info['stripe']}, "
            f"billfold commit {info['billfold']}",
        ]
    )


# ---- tables -----------------------------------------------------------------------------------


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "-"
            return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class Report:
    """A benchmark's output: Markdown sections for people, the same rows as JSON for tools."""

    title: str
    info: dict[str, str] = field(default_factory=machine_info)
    sections: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str, heading: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.sections.append(f"## {heading}\n\n{markdown_table(headers, rows)}")
        self.data[name] = [dict(zip(headers, row, strict=True)) for row in rows]

    def note(self, text: str) -> None:
        self.sections.append(text)

    def render(self) -> str:
        return "\n\n".join([machine_header(self.title, self.info), *self.sections]) + "\n"

    def emit(self, json_path: str | None) -> None:
        print(self.render(), flush=True)
        if json_path:
            Path(json_path).write_text(json.dumps({"title": self.title, "machine": self.info, **self.data}, indent=2))


def say(message: str) -> None:
    """Progress goes to stderr so stdout stays the Markdown report."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


# ---- timing -----------------------------------------------------------------------------------


@dataclass
class Run:
    """One measured workload: its latencies (seconds) and how it went."""

    name: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    errors: int = 0
    first_error: str = ""

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000 if ordered else math.nan

    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else math.nan


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else math.nan


def new_client(url: str, key: str) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=0)


def describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:200]}"


def _client_loop(
    url: str, key: str, call: Call, indexes: Sequence[int], ready: Any, go: Any
) -> tuple[list[float], int, str]:
    """One client's share of a run: open the connection untimed, wait for the start, go."""
    client = new_client(url, key)
    errors, first = 0, ""
    try:
        call(client, -1)  # opens this client's connection before the clock starts
    except Exception as error:  # counted and reported; the run goes on
        errors, first = 1, describe(error)
    ready()
    go()
    latencies: list[float] = []
    for index in indexes:
        began = time.perf_counter()
        try:
            call(client, index)
        except Exception as error:  # counted and reported; the run goes on
            errors += 1
            first = first or describe(error)
            continue
        latencies.append(time.perf_counter() - began)
    return latencies, errors, first


def measure(
    name: str, url: str, key: str, call: Call, clients: int, total: int, *, processes: bool = False
) -> Run:
    """``total`` calls split evenly over ``clients`` clients, each with its own StripeClient.

    Clients are threads, or forked processes with ``processes=True``: stripe-python spends about
    a millisecond of CPU per request, and eight threads share one GIL, so on a fast server the
    threads measure the client. Processes cost a fork each but share nothing.
    """
    run = Run(name, clients)
    shares = [list(range(i, total, clients)) for i in range(clients)]
    if not processes or clients == 1:
        barrier = threading.Barrier(clients + 1)
        results: list[tuple[list[float], int, str]] = []
        lock = threading.Lock()

        def worker(indexes: list[int]) -> None:
            result = _client_loop(url, key, call, indexes, lambda: None, barrier.wait)
            with lock:
                results.append(result)

        threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in shares]
        for thread in threads:
            thread.start()
        barrier.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        run.wall = time.perf_counter() - began
    else:
        ctx = multiprocessing.get_context("fork")
        pbarrier = ctx.Barrier(clients + 1)
        queue = ctx.SimpleQueue()

        def child(indexes: list[int]) -> None:
            queue.put(_client_loop(url, key, call, indexes, lambda: None, pbarrier.wait))

        procs = [ctx.Process(target=child, args=(s,), daemon=True) for s in shares]
        for proc in procs:
            proc.start()
        pbarrier.wait()
        began = time.perf_counter()
        results = [queue.get() for _ in procs]
        run.wall = time.perf_counter() - began
        for proc in procs:
            proc.join()
    for latencies, errors, first in results:
        run.latencies += latencies
        run.errors += errors
        run.first_error = run.first_error or first
    return run


# ---- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_pg_database() -> str:
    import psycopg

    name = f"billfold_bench_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"


def drop_pg_database(url: str) -> None:
    import psycopg

    name = url.rpartition("/")[2]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:  # any failure means: no PostgreSQL for this run
        return False


@contextmanager
def database(backend: str, workdir: Path, label: str) -> Iterator[str]:
    """A fresh database: a SQLite file in workdir, or a new PostgreSQL database dropped after."""
    if backend == "sqlite":
        yield str(workdir / f"{label}.db")
        return
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


@dataclass
class BillfoldProcess:
    """``billfold serve`` (or ``billfold worker``) as a child process of this benchmark."""

    database_url: str
    workdir: Path
    workers: int = 1
    with_worker: bool = True
    command: str = "serve"
    env: dict[str, str] = field(default_factory=dict)
    secret_key: str = field(default_factory=lambda: "sk_test_" + secrets.token_hex(16))
    publishable_key: str = field(default_factory=lambda: "pk_test_" + secrets.token_hex(16))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.command}-{self.port}.log"

    def start(self, timeout: float = 120.0) -> BillfoldProcess:
        args = [sys.executable, "-m", "billfold", self.command, "--database", self.database_url]
        if self.command == "serve":
            args += ["--host", "127.0.0.1", "--port", str(self.port)]
            if self.workers != 1:
                args += ["--workers", str(self.workers)]
            if not self.with_worker:
                args.append("--no-worker")
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "BILLFOLD_SECRET_KEY": self.secret_key,
            "BILLFOLD_PUBLISHABLE_KEY": self.publishable_key,
            **self.env,
        }
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child holds it until it exits
        self.process = subprocess.Popen(args, cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        if self.command != "serve":
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"billfold exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/billfold/health", timeout=1).status_code == 200:
                    say(f"billfold {self.command} pid {self.process.pid} at {self.url} (workers={self.workers})")
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"billfold did not start; see {self.log_path}")

    def health(self) -> dict[str, Any]:
        found: dict[str, Any] = httpx.get(f"{self.url}/billfold/health", timeout=10).json()
        return found

    def stop(self) -> None:
        """SIGTERM to our own child (a supervisor stops its API children itself), then SIGKILL."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@contextmanager
def billfold(
    backend: str, workdir: Path, label: str, *, workers: int = 1, with_worker: bool = True,
    env: dict[str, str] | None = None,
) -> Iterator[BillfoldProcess]:
    """A Billfold server on a fresh database, stopped (and its database dropped) afterwards."""
    with database(backend, workdir, label) as url:
        server = BillfoldProcess(url, workdir, workers=workers, with_worker=with_worker, env=env or {})
        try:
            server.start()
            yield server
        finally:
            server.stop()


def run_rows(runs: Sequence[Run]) -> list[list[Any]]:
    """The usual columns of a measured run."""
    return [
        [r.name, r.clients, len(r.latencies), r.errors, r.rate, r.percentile(50), r.percentile(99)]
        for r in runs
    ]


RUN_HEADERS = ["workload", "clients", "requests", "errors", "ops/s", "p50 ms", "p99 ms"]


def errors_note(runs: Sequence[Run]) -> str | None:
    notes = [f"- {r.name} x{r.clients}: {r.errors} errors, first: {r.first_error}" for r in runs if r.errors]
    return "First error of each run that had errors:\n\n" + "\n".join(notes) if notes else None
