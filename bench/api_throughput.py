"""How fast Billfold answers the official stripe SDK, and whether that holds as data grows.

Starts its own Billfold server (a subprocess on 127.0.0.1, stopped by its PID at the end) on a
throwaway SQLite file or PostgreSQL database, then measures with ``stripe.StripeClient``:

* requests/second and p50/p99 latency of customer create, PaymentIntent create+confirm
  (``pm_card_visa``) and customer retrieve, sequentially and with --threads client threads;
* per-request latency of a customer retrieve and of customer lists (filtered by email, and the
  newest page) with --sizes customers stored, seeded straight through Billfold's own store.

    .venv/bin/python bench/api_throughput.py --requests 200 --sizes 1000,10000
    .venv/bin/python bench/api_throughput.py --database postgres

A workload that fails its first request (e.g. an endpoint still being written) is skipped with
the reason. Every load is bounded by --requests and --max-seconds per run.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import stripe

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run as a file, it still imports this checkout

from bench.common import cpu_model, describe, git_commit, new_client  # noqa: E402

if TYPE_CHECKING:
    from tests.support.server import Server

SEED_BATCH = 5000
WARMUP = 10

Call = Callable[[stripe.StripeClient, int], None]


@dataclass
class Run:
    """One measured workload: its latencies (seconds) and how it went."""

    name: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    errors: int = 0
    first_error: str = ""
    skipped: str = ""

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000 if ordered else math.nan


# ---- the machine and the server ---------------------------------------------------------------


def ensure_postgres() -> dict[str, str]:
    """Run scripts/ensure-postgres; its two ``export NAME=value`` lines, as a dict."""
    result = subprocess.run(
        [str(REPO / "scripts" / "ensure-postgres")], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"bench: no PostgreSQL available:\n{result.stderr}")
    found: dict[str, str] = {}
    for line in result.stdout.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export":
            name, _, value = words[1].partition("=")
            found[name] = value
    return found


@contextmanager
def postgres_admin() -> Iterator[None]:
    """A PostgreSQL server whose admin URL is in BILLFOLD_TEST_PG_URL, for tests.support.server
    (which reads it when first imported); a private server started for us is stopped after."""
    pg = ensure_postgres()
    os.environ["BILLFOLD_TEST_PG_URL"] = pg["BILLFOLD_TEST_PG_URL"]
    try:
        yield
    finally:
        if pg.get("BILLFOLD_PG_PRIVATE_DIR"):
            subprocess.run(
                [str(REPO / "scripts" / "ensure-postgres"), "stop", pg["BILLFOLD_PG_PRIVATE_DIR"]],
                check=False,
                timeout=120,
            )


@contextmanager
def billfold_server(backend: str, workdir: Path, label: str) -> Iterator[tuple[Server, str]]:
    """A Billfold subprocess on a fresh database (a file in workdir, or a new PostgreSQL
    database that is dropped afterwards), and that database's URL."""
    from tests.support.server import Server, create_pg_database, drop_pg_database

    db_url = str(workdir / f"{label}.db") if backend == "sqlite" else create_pg_database()
    server = Server(backend=backend, database_url=db_url, workdir=workdir)
    try:
        server.start(timeout=120)
        pid = server.process.pid if server.process else "?"
        print(f"bench: {label} server pid {pid} at {server.url} ({backend})", file=sys.stderr)
        yield server, db_url
    finally:
        server.stop()
        if backend == "postgres":
            drop_pg_database(db_url)


# ---- running a workload -----------------------------------------------------------------------


def measure(name: str, url: str, key: str, call: Call, clients: int, total: int, max_seconds: float) -> Run:
    """``total`` calls (fewer if ``max_seconds`` runs out) shared by ``clients`` threads."""
    run = Run(name, clients)
    probe = new_client(url, key)
    try:
        for i in range(WARMUP):
            call(probe, -1 - i)
    except Exception as error:  # whatever the failure, the workload cannot be measured yet
        run.skipped = describe(error)
        return run

    lock = threading.Lock()
    next_index = iter(range(total))
    start = threading.Barrier(clients + 1)
    deadline = 0.0

    def failed(error: Exception) -> None:
        with lock:
            run.errors += 1
            run.first_error = run.first_error or describe(error)

    def worker() -> None:
        client = new_client(url, key)
        try:
            call(client, -1000)  # open this thread's connection before the clock starts
        except Exception as error:  # counted and reported; the run goes on
            failed(error)
        start.wait()
        while time.perf_counter() < deadline:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            began = time.perf_counter()
            try:
                call(client, index)
            except Exception as error:  # counted and reported; the run goes on
                failed(error)
                continue
            elapsed = time.perf_counter() - began
            with lock:
                run.latencies.append(elapsed)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    deadline = time.perf_counter() + max_seconds
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    run.wall = time.perf_counter() - began
    return run


# ---- seeding many customers -------------------------------------------------------------------


@dataclass
class Seeded:
    ids: list[str]
    emails: list[str]
    seconds: float = 0.0


def seed_customers(db_url: str, account: str, template: dict[str, Any], target: int, seeded: Seeded) -> None:
    """Insert customers (copies of one the API made) until the account holds ``target``."""
    from billfold import ids
    from billfold.store.db import Database
    from billfold.store.objects import ObjectStore, Scope

    db = Database(db_url)
    db.migrate()
    scope = Scope(account, False)
    began = time.perf_counter()
    try:
        with db.transaction(write=False) as tx:
            row = tx.one(
                "SELECT COUNT(*) AS n FROM objects WHERE account = :account AND livemode = :livemode "
                "AND object = 'customer' AND deleted = :deleted",
                account=account,
                livemode=False,
                deleted=False,
            )
        have = int(row.n) if row else 0
        oldest = int(time.time()) - 10 * target
        while have < target:
            batch = min(SEED_BATCH, target - have)
            with db.transaction() as tx:
                store = ObjectStore(tx, scope)
                for n in range(have, have + batch):
                    customer = {
                        **template,
                        "id": ids.new_id("customer", 14),
                        "created": oldest + n,
                        "email": f"seed-{n}@bench.example",
                        "name": f"Seeded customer {n}",
                        "invoice_prefix": ids.random_part(8).upper(),
                        "metadata": {"seed": str(n)},
                    }
                    store.insert(customer)
                    seeded.ids.append(customer["id"])
                    seeded.emails.append(customer["email"])
            have += batch
    finally:
        db.dispose()
    seeded.seconds += time.perf_counter() - began


def stored_template(db_url: str, account: str, customer_id: str) -> dict[str, Any]:
    from billfold.store.db import Database
    from billfold.store.objects import ObjectStore, Scope

    db = Database(db_url)
    try:
        with db.transaction(write=False) as tx:
            found = ObjectStore(tx, Scope(account, False)).get(customer_id, "customer")
    finally:
        db.dispose()
    if found is None:
        raise SystemExit(f"bench: customer {customer_id} is not in the store the server uses")
    return found


# ---- the workloads ----------------------------------------------------------------------------


def confirm_card_payment(client: stripe.StripeClient, _index: int) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    if intent.status != "succeeded":
        raise RuntimeError(f"PaymentIntent {intent.id} is {intent.status}, expected succeeded")


def throughput(url: str, key: str, args: argparse.Namespace) -> list[Run]:
    created: list[str] = []
    lock = threading.Lock()

    def create_customer(client: stripe.StripeClient, index: int) -> None:
        customer = client.v1.customers.create({"email": f"bench-{index}@example.com", "name": "Bench"})
        with lock:
            created.append(customer.id)

    def retrieve_customer(client: stripe.StripeClient, _index: int) -> None:
        if not created:
            raise RuntimeError("no customer was created to retrieve")
        client.v1.customers.retrieve(random.choice(created))

    workloads: list[tuple[str, Call]] = [
        ("customer create", create_customer),
        ("PaymentIntent create+confirm", confirm_card_payment),
        ("customer retrieve", retrieve_customer),
    ]
    runs = []
    for name, call in workloads:
        for clients in (1, args.threads):
            run = measure(name, url, key, call, clients, args.requests, args.max_seconds)
            runs.append(run)
            progress(run)
            if run.skipped:
                break  # the concurrent run would fail the same way
    return runs


def at_scale(url: str, key: str, db_url: str, account: str, args: argparse.Namespace) -> list[tuple[int, Run]]:
    client = new_client(url, key)
    template = stored_template(db_url, account, client.v1.customers.create({"name": "template"}).id)
    seeded = Seeded([], [])
    results: list[tuple[int, Run]] = []
    for size in args.sizes:
        seed_customers(db_url, account, template, size, seeded)
        print(f"  seeded up to {size:,} customers ({seeded.seconds:.1f}s so far)", file=sys.stderr)

        def retrieve(c: stripe.StripeClient, _index: int) -> None:
            c.v1.customers.retrieve(random.choice(seeded.ids))

        def by_email(c: stripe.StripeClient, _index: int) -> None:
            n = random.randrange(len(seeded.ids))
            found = c.v1.customers.list({"email": seeded.emails[n], "limit": 10}).data
            if [x.id for x in found] != [seeded.ids[n]]:
                raise RuntimeError(f"email filter found {len(found)} customers, expected 1")

        def newest(c: stripe.StripeClient, _index: int) -> None:
            if len(c.v1.customers.list({"limit": 10}).data) != 10:
                raise RuntimeError("the newest page does not hold 10 customers")

        for name, call in (
            ("customer retrieve", retrieve),
            ("customer list email=…", by_email),
            ("customer list limit=10", newest),
        ):
            run = measure(name, url, key, call, 1, args.lookups, args.max_seconds)
            results.append((size, run))
            progress(run, f"{size:,} stored")
    return results


def progress(run: Run, where: str = "") -> None:
    label = f"{run.name} x{run.clients}" + (f" @ {where}" if where else "")
    state = f"skipped ({run.skipped})" if run.skipped else f"{len(run.latencies)} requests, {run.rate:.0f}/s"
    print(f"  {label}: {state}", file=sys.stderr)


# ---- report -----------------------------------------------------------------------------------


def report(
    args: argparse.Namespace, runs: list[Run], scaled: list[tuple[int, Run]], health: dict[str, Any], load: str
) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Billfold API benchmark, {now}",
        f"machine   {os.cpu_count()} CPUs, {cpu_model()}, {platform.system()} {platform.release()}",
        f"load      {load} (1-minute load average before the run; other work skews the figures)",
        f"software  Python {platform.python_version()}, stripe {stripe.VERSION}, billfold {git_commit()}",
        f"backend   {health.get('database', args.database)} (one server process on 127.0.0.1, "
        f"client in the same machine)",
        "",
        f"Throughput: up to {args.requests} requests a run, at most {args.max_seconds:g}s",
        f"{'workload':<30} {'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}",
    ]
    for run in runs:
        head = f"{run.name:<30} {run.clients:>7}"
        if run.skipped:
            lines.append(f"{head}  skipped: {run.skipped}")
            continue
        lines.append(
            f"{head} {len(run.latencies):>8} {run.errors:>6} {run.rate:>8.1f} "
            f"{run.percentile(50):>8.2f} {run.percentile(99):>8.2f}"
        )
    lines += [
        "",
        f"Per request as data grows: {args.lookups} sequential requests each, random seeded customers",
        f"{'customers':>10}  {'request':<24} {'n':>5} {'errors':>6} {'mean ms':>8} {'p50 ms':>8} {'p99 ms':>8}",
    ]
    for size, run in scaled:
        head = f"{size:>10,}  {run.name:<24}"
        if run.skipped:
            lines.append(f"{head}  skipped: {run.skipped}")
            continue
        mean = statistics.fmean(run.latencies) * 1000 if run.latencies else math.nan
        lines.append(
            f"{head} {len(run.latencies):>5} {run.errors:>6} {mean:>8.2f} "
            f"{run.percentile(50):>8.2f} {run.percentile(99):>8.2f}"
        )
    notes = [f"{r.name} x{r.clients}: {r.first_error}" for r in [*runs, *(r for _, r in scaled)] if r.errors]
    if notes:
        lines += ["", "First error of each run that had errors:", *(f"  {note}" for note in notes)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=1000, help="requests per throughput run")
    parser.add_argument("--threads", type=int, default=8, help="client threads of the concurrent runs")
    parser.add_argument("--lookups", type=int, default=300, help="requests per size and request kind")
    parser.add_argument(
        "--sizes",
        type=lambda s: sorted(int(part) for part in s.split(",") if part.strip()),
        default=[1000, 100_000],
        help="stored customer counts to measure at, comma separated (at most 1,000,000)",
    )
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time limit of each run")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 100_000 or not 1 <= args.lookups <= 100_000:
        parser.error("--requests and --lookups must be between 1 and 100000")
    if not 1 <= args.threads <= 64 or any(not 20 <= size <= 1_000_000 for size in args.sizes):
        parser.error("--threads must be 1..64 and each of --sizes 20..1000000")

    load = f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "unknown"
    # Throughput and growth each get a server on a fresh database, so the customers the
    # throughput runs create do not count towards the stored sizes.
    with tempfile.TemporaryDirectory(prefix="billfold-bench-") as tmp, (
        postgres_admin() if args.database == "postgres" else nullcontext()
    ):
        workdir = Path(tmp)
        with billfold_server(args.database, workdir, "throughput") as (server, _):
            runs = throughput(server.url, server.secret_key, args)
        with billfold_server(args.database, workdir, "growth") as (server, db_url):
            health: dict[str, Any] = httpx.get(f"{server.url}/billfold/health", timeout=10).json()
            scaled = at_scale(server.url, server.secret_key, db_url, health["platform_account"], args)
    print(report(args, runs, scaled, health, load))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
