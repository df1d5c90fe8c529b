"""Billfold against localstripe 1.15.10: the same stripe-python workload on both, side by side.

localstripe (https://pypi.org/project/localstripe/) is the usual Stripe stand-in for tests. It is
installed into its own virtual environment, bench/.venvs/localstripe (created on first use, kept
for later runs), and started bound to 127.0.0.1 only. Then each server gets, in the same order:

* customer create;
* PaymentIntent create + confirm in one call (``payment_method=pm_card_visa, confirm=true``);
* PaymentIntent retrieve (of the intents the previous step made);
* PaymentIntent list (``limit=10``, the newest page);

each sequentially (one client) and with --clients concurrent clients, every client its own
``StripeClient``. Concurrent clients are forked processes by default (--client-mode), because
eight threads of stripe-python share one GIL and then measure the client rather than the server.

Durability differs and the table says so: Billfold commits every request to SQLite (WAL,
synchronous=NORMAL) or PostgreSQL; localstripe keeps its objects in a Python dict and, after each
write, pickles the whole dict to /tmp/localstripe.pickle (no fsync), so its writes grow slower as
it holds more objects.

    .venv/bin/python bench/vs_localstripe.py              # full run, SQLite (+ PostgreSQL if up)
    .venv/bin/python bench/vs_localstripe.py --quick      # seconds
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import stripe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402 - the checkout must be importable first
    REPO,
    Call,
    Report,
    Run,
    billfold,
    errors_note,
    free_port,
    measure,
    new_client,
    postgres_available,
    say,
)

LOCALSTRIPE_VERSION = "1.15.10"
VENV = REPO / "bench" / ".venvs" / "localstripe"
PICKLE = Path("/tmp/localstripe.pickle")  # where localstripe itself writes its store
# localstripe's own entry point binds [::] (every interface); this runs its aiohttp app on
# loopback only, exactly as its CLI would otherwise (fresh store, no access log).
LAUNCH = (
    "import sys\n"
    "from aiohttp import web\n"
    "from localstripe.server import app\n"
    "web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), access_log=None, print=None)\n"
)


# ---- localstripe ------------------------------------------------------------------------------


def ensure_localstripe() -> Path:
    """bench/.venvs/localstripe with localstripe==1.15.10, made once and reused."""
    python = VENV / "bin" / "python"
    check = [str(python), "-c", "import importlib.metadata as m; print(m.version('localstripe'))"]
    if python.exists():
        found = subprocess.run(check, capture_output=True, text=True, check=False).stdout.strip()
        if found == LOCALSTRIPE_VERSION:
            return python
    say(f"creating {VENV} with localstripe=={LOCALSTRIPE_VERSION}")
    VENV.parent.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         f"localstripe=={LOCALSTRIPE_VERSION}"],
        check=True,
    )
    subprocess.run(check, check=True, capture_output=True)
    return python


@contextmanager
def localstripe(workdir: Path) -> Iterator[str]:
    """A localstripe server on a free loopback port; its URL. Stopped by its pid afterwards."""
    python = ensure_localstripe()
    port = free_port()
    had_pickle = PICKLE.exists()
    log = open(workdir / "localstripe.log", "ab")  # noqa: SIM115 - the child holds it until it exits
    process = subprocess.Popen(
        [str(python), "-c", LAUNCH, str(port)], cwd=workdir, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"localstripe exited: {(workdir / 'localstripe.log').read_text()[-2000:]}")
            try:
                httpx.get(f"{url}/v1/customers", auth=("sk_test_bench", ""), timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        say(f"localstripe {LOCALSTRIPE_VERSION} pid {process.pid} at {url}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if not had_pickle:
            PICKLE.unlink(missing_ok=True)


# ---- the workload -----------------------------------------------------------------------------


def workloads(url: str, key: str, args: argparse.Namespace) -> list[Run]:
    """The same four operations, sequential then concurrent, against one server."""
    confirmed: list[str] = []

    def create_customer(client: stripe.StripeClient, index: int) -> None:
        client.v1.customers.create({"email": f"bench-{index}@example.com", "name": "Bench"})

    def confirm(client: stripe.StripeClient, _index: int) -> None:
        intent = client.v1.payment_intents.create(
            {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
        )
        if intent.status != "succeeded":
            raise RuntimeError(f"PaymentIntent {intent.id} is {intent.status}, expected succeeded")

    def retrieve(client: stripe.StripeClient, index: int) -> None:
        wanted = confirmed[index % len(confirmed)]
        if client.v1.payment_intents.retrieve(wanted).id != wanted:
            raise RuntimeError("retrieved another PaymentIntent")

    def newest(client: stripe.StripeClient, _index: int) -> None:
        if len(client.v1.payment_intents.list({"limit": 10}).data) != 10:
            raise RuntimeError("the newest page does not hold 10 PaymentIntents")

    # The retrieves and lists need intents to exist; make them untimed, like a warm-up.
    seeder = new_client(url, key)
    for _ in range(max(20, args.requests // 10)):
        confirmed.append(
            seeder.v1.payment_intents.create(
                {"amount": 1500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
            ).id
        )
    random.Random(7).shuffle(confirmed)

    plan: list[tuple[str, Call]] = [
        ("customer create", create_customer),
        ("PaymentIntent create+confirm", confirm),
        ("PaymentIntent retrieve", retrieve),
        ("PaymentIntent list limit=10", newest),
    ]
    runs = []
    for name, call in plan:
        for clients in (1, args.clients):
            run = measure(
                name, url, key, call, clients, args.requests, processes=args.client_mode == "processes"
            )
            say(f"  {name} x{clients}: {len(run.latencies)} ok, {run.errors} errors, {run.rate:.0f}/s")
            runs.append(run)
    return runs


def ratio(mine: Run, theirs: Run) -> float:
    return mine.rate / theirs.rate if theirs.rate else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="calls per workload and client count")
    parser.add_argument("--clients", type=int, default=8, help="clients of the concurrent runs")
    parser.add_argument("--client-mode", choices=("processes", "threads"), default="processes")
    parser.add_argument("--no-postgres", action="store_true", help="only Billfold on SQLite")
    parser.add_argument(
        "--skip-localstripe", action="store_true", help="Billfold only (no venv is created); no ratios"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 16 calls each, SQLite only")
    parser.add_argument("--json", default=None, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.no_postgres = 16, True
    if not 1 <= args.clients <= 64 or not args.clients <= args.requests <= 100_000:
        parser.error("--clients must be 1..64 and --requests at least --clients (at most 100000)")

    report = Report("Billfold vs localstripe: the same stripe-python workload")
    backends = ["sqlite"] + ([] if args.no_postgres or not postgres_available() else ["postgres"])
    results: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="billfold-bench-") as tmp:
        workdir = Path(tmp)
        if not args.skip_localstripe:
            with localstripe(workdir) as url:
                say("localstripe")
                results["localstripe"] = workloads(url, "sk_test_bench", args)
        for backend in backends:
            # Webhook and job work stays out of the API process, as in a deployment.
            with billfold(backend, workdir, f"vs-{backend}", with_worker=False) as bf:
                say(f"billfold on {backend}")
                results[f"billfold {backend}"] = workloads(bf.url, bf.secret_key, args)

    servers = list(results)
    count = len(next(iter(results.values())))
    headers = ["workload", "clients"]
    for server in servers:
        headers += [f"{server} ops/s", f"{server} p50 ms", f"{server} p99 ms"]
    ratios = [s for s in servers if s != "localstripe" and "localstripe" in results]
    headers += [f"{s} / localstripe" for s in ratios]
    rows: list[list[Any]] = []
    for i in range(count):
        first = results[servers[0]][i]
        row: list[Any] = [first.name, first.clients]
        for server in servers:
            run = results[server][i]
            row += [run.rate, run.percentile(50), run.percentile(99)]
        row += [f"{ratio(results[s][i], results['localstripe'][i]):.1f}x" for s in ratios]
        rows.append(row)
    report.table(
        "runs",
        f"{args.requests} calls per row; concurrent clients are {args.client_mode}",
        headers,
        rows,
    )
    report.note(
        "Durability: Billfold commits each request to its database (SQLite in WAL mode with "
        "synchronous=NORMAL, or PostgreSQL) before answering. localstripe keeps everything in "
        "memory and after each write pickles the whole store to /tmp/localstripe.pickle without "
        "fsync, so it is not durable in the same sense and its writes slow down as it grows. "
        "Client and servers share this machine's CPUs. Billfold runs one API process "
        "(`billfold serve --no-worker`); localstripe is single-process asyncio."
    )
    every = [run for runs in results.values() for run in runs]
    note = errors_note(every)
    if note:
        report.note(note)
    report.emit(args.json)
    return 1 if any(run.errors for run in every) else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
