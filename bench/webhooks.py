"""Webhook deliveries per second: how fast ``billfold worker`` empties a backlog.

For each setting (SQLite with one worker process; PostgreSQL with 1 and 2) it starts an API
server with ``--no-worker`` on a fresh database, points --endpoints webhook endpoints at a tiny
asyncio HTTP receiver on 127.0.0.1 (a forked process that answers every POST with 200 and counts
them), and creates --events customers through stripe-python, so ``customer.created`` queues
events x endpoints deliveries while nothing delivers them. Then it starts the worker process(es)
and waits until every delivery row is ``succeeded``. It reports deliveries/s two ways: over the
span between the first and the last attempt recorded in ``webhook_attempts`` (the worker's pace),
and over the wall time from starting the workers (including their start-up).

    .venv/bin/python bench/webhooks.py                   # 500 events x 4 endpoints
    .venv/bin/python bench/webhooks.py --quick           # seconds, SQLite only
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import stripe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402 - the checkout must be importable first
    BillfoldProcess,
    Report,
    billfold,
    free_port,
    measure,
    new_client,
    postgres_available,
    say,
)

# ---- the receiver -----------------------------------------------------------------------------


def _serve_receiver(port: int, counter: Any) -> None:
    """Answer every request with 200 as cheaply as asyncio allows, counting them."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, close = 0, False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection" and value.strip().lower() == b"close":
                        close = True
                if length:
                    await reader.readexactly(length)
                with counter.get_lock():
                    counter.value += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class Receiver:
    """The receiver in its own forked process, so it never competes for this process's GIL."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self.port = free_port()
        self.counter: Any = ctx.Value("q", 0)
        self.process = ctx.Process(target=_serve_receiver, args=(self.port, self.counter), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> Receiver:
        self.process.start()
        time.sleep(0.3)
        return self

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        self.process.join(timeout=10)


# ---- counting deliveries ----------------------------------------------------------------------


def delivery_state(database_url: str) -> tuple[int, int, float | None, float | None]:
    """(succeeded, all deliveries, first attempt start, last attempt end) from the database."""
    sql_counts = "SELECT COUNT(*) FILTER (WHERE status = 'succeeded'), COUNT(*) FROM webhook_deliveries"
    sql_span = (
        "SELECT MIN(attempted_at), MAX(attempted_at + duration_ms / 1000.0) FROM webhook_attempts"
    )
    if database_url.startswith("postgres"):
        import psycopg

        with psycopg.connect(database_url) as conn:
            done, total = conn.execute(sql_counts).fetchone() or (0, 0)
            first, last = conn.execute(sql_span).fetchone() or (None, None)
    else:
        with sqlite3.connect(database_url, timeout=60) as lite:
            done, total = lite.execute(sql_counts).fetchone()
            first, last = lite.execute(sql_span).fetchone()
        lite.close()
    return int(done or 0), int(total or 0), first, last


# ---- one setting ------------------------------------------------------------------------------


def run_setting(backend: str, workers: int, workdir: Path, args: argparse.Namespace) -> list[Any]:
    label = f"hooks-{backend}-{workers}"
    with Receiver() as receiver, billfold(backend, workdir, label, with_worker=False) as server:
        client = new_client(server.url, server.secret_key)
        for _ in range(args.endpoints):
            client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["customer.created"]})

        def create(c: stripe.StripeClient, index: int) -> None:
            if index >= 0:  # the untimed warm-up call of each client makes no event
                c.v1.customers.create({"email": f"hook-{index}@bench.example"})
            else:
                c.v1.balance.retrieve()

        made = measure("customer create", server.url, server.secret_key, create, 4, args.events, processes=True)
        if made.errors:
            raise RuntimeError(f"creating customers failed: {made.first_error}")
        done, total, _, _ = delivery_state(server.database_url)
        expected = args.events * args.endpoints
        if total != expected or done != 0:
            raise RuntimeError(f"expected {expected} pending deliveries, found {total} ({done} done)")
        say(f"{backend}: {total} deliveries queued; starting {workers} worker process(es)")

        began = time.perf_counter()
        procs = [
            BillfoldProcess(server.database_url, workdir, command="worker", secret_key=server.secret_key,
                            publishable_key=server.publishable_key).start()
            for _ in range(workers)
        ]
        try:
            deadline = began + args.timeout
            while time.perf_counter() < deadline:
                done, total, first, last = delivery_state(server.database_url)
                if done >= total:
                    break
                time.sleep(0.1)
            wall = time.perf_counter() - began
        finally:
            for proc in procs:
                proc.stop()
        done, total, first, last = delivery_state(server.database_url)
        span = (last - first) if first is not None and last is not None else 0.0
        received = int(receiver.counter.value)
        say(f"  {done}/{total} delivered in {wall:.1f} s wall, {span:.1f} s between first and last attempt")
        return [
            backend, workers, total, done, received, span, done / span if span else 0.0,
            wall, done / wall if wall else 0.0,
        ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500, help="customer.created events to make")
    parser.add_argument("--endpoints", type=int, default=4, help="webhook endpoints receiving each")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up on a setting after this")
    parser.add_argument("--no-postgres", action="store_true", help="only Billfold on SQLite")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 12 events x 2 endpoints, SQLite")
    parser.add_argument("--json", default=None, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.endpoints, args.no_postgres = 12, 2, True
    if not 4 <= args.events <= 100_000 or not 1 <= args.endpoints <= 16:
        parser.error("--events must be 4..100000 and --endpoints 1..16")
    settings = [("sqlite", 1)]
    if not args.no_postgres and postgres_available():
        settings += [("postgres", 1), ("postgres", 2)]

    report = Report("Billfold webhook deliveries per second")
    rows = []
    with tempfile.TemporaryDirectory(prefix="billfold-bench-") as tmp:
        for backend, workers in settings:
            rows.append(run_setting(backend, workers, Path(tmp), args))
    report.table(
        "runs",
        f"{args.events} customer.created events x {args.endpoints} endpoints, receiver on loopback",
        ["database", "worker processes", "deliveries", "succeeded", "received", "attempt span s",
         "deliveries/s (span)", "wall s", "deliveries/s (wall)"],
        rows,
    )
    report.note(
        "The span runs from the first attempt's start to the last attempt's end as recorded in "
        "webhook_attempts; the wall time adds starting the worker processes and polling. Each "
        "worker process delivers with 8 threads, at most 4 in flight per endpoint."
    )
    report.emit(args.json)
    return 0 if all(row[3] == row[2] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
