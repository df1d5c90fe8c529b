"""Raw HTTP load with wrk: requests/second and p50/p99 of a retrieve and of a create+confirm.

Unlike the SDK benchmarks, the client here costs almost nothing (wrk is C, keeps its connections
open and pipelines nothing), so the figures are the server's. For each server setting - SQLite
with one API process, PostgreSQL with 1 and 2 (``billfold serve --workers N``) - it runs:

* ``GET /v1/payment_intents/{id}`` of an existing, succeeded PaymentIntent;
* ``POST /v1/payment_intents`` with ``amount=2000, currency=usd, payment_method=pm_card_visa,
  confirm=true`` and a fresh ``Idempotency-Key`` on every request (made by the Lua script from the
  wrk thread and a counter, so no request is answered from the idempotency cache);

with --connections connections over --threads wrk threads for --seconds each. wrk comes from
Debian (``apt-get install wrk``, done here when missing and running as root). Servers run with
``--no-worker``: the webhook/job worker is a separate process in a deployment.

    .venv/bin/python bench/load.py                 # 10 s per run
    .venv/bin/python bench/load.py --quick         # 1 s per run, SQLite only
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402 - the checkout must be importable first
    Report,
    billfold,
    new_client,
    postgres_available,
    say,
)

# setup() runs in wrk's main Lua state once per thread, so each thread gets its own number;
# request() then builds every POST with an idempotency key no other request has used.
CONFIRM_LUA = """
local next_thread = 0
function setup(thread)
  thread:set("thread_number", next_thread)
  next_thread = next_thread + 1
end
function init(args)
  run_id = args[1]
  counter = 0
end
function request()
  counter = counter + 1
  return wrk.format("POST", "/v1/payment_intents", {
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY"),
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Idempotency-Key"] = run_id .. "-" .. thread_number .. "-" .. counter,
  }, "amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true")
end
"""

RETRIEVE_LUA = """
function request()
  return wrk.format("GET", os.getenv("BENCH_PATH"), {
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY"),
  })
end
"""

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing wrk with apt-get")
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(install, capture_output=True, env=env).returncode != 0:
            # A fresh machine may have no package lists yet (as scripts/ensure-chromium allows).
            subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True, env=env)
            subprocess.run(install, check=True, capture_output=True, env=env)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit("bench: wrk is not installed (apt-get install wrk)")


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unreadable wrk duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/s, p50/p99 (ms), request and error counts from ``wrk --latency`` output."""
    found: dict[str, Any] = {"non_2xx": 0, "socket_errors": 0}
    for line in output.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] in ("50%", "90%", "99%"):
            found[f"p{words[0][:-1]}"] = to_ms(words[1])
        elif line.startswith("Requests/sec:"):
            found["rps"] = float(words[1])
        elif "requests in" in line:
            found["requests"] = int(words[0])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            found["non_2xx"] = int(words[-1])
        elif line.strip().startswith("Socket errors:"):
            found["socket_errors"] = sum(int(n) for n in re.findall(r"\d+", line))
    if "rps" not in found or "p99" not in found:
        raise RuntimeError(f"wrk printed no figures:\n{output}")
    return found


def run_wrk(wrk: str, url: str, script: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    command = [
        wrk, "--latency", "-t", str(args.threads), "-c", str(args.connections),
        "-d", f"{args.seconds}s", "--timeout", "10s", "-s", str(script), url, "--", os.urandom(4).hex(),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **env}, check=False,
        timeout=args.seconds + 60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed: {result.stderr or result.stdout}")
    return parse_wrk(result.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--no-postgres", action="store_true", help="only Billfold on SQLite")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 s per run, SQLite only")
    parser.add_argument("--json", default=None, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.no_postgres = 1, True
    wrk = ensure_wrk()
    settings = [("sqlite", 1)]
    if not args.no_postgres and postgres_available():
        settings += [("postgres", 1), ("postgres", 2)]

    report = Report(f"Billfold under wrk: {args.connections} connections, {args.threads} threads")
    rows: list[list[Any]] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="billfold-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "confirm.lua").write_text(CONFIRM_LUA)
        (workdir / "retrieve.lua").write_text(RETRIEVE_LUA)
        for backend, workers in settings:
            with billfold(backend, workdir, f"load-{backend}-{workers}", workers=workers, with_worker=False) as server:
                client = new_client(server.url, server.secret_key)
                intent = client.v1.payment_intents.create(
                    {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
                )
                env = {"BENCH_KEY": server.secret_key, "BENCH_PATH": f"/v1/payment_intents/{intent.id}"}
                for name, script in (
                    ("PaymentIntent retrieve", "retrieve.lua"),
                    ("PaymentIntent create+confirm", "confirm.lua"),
                ):
                    figures = run_wrk(wrk, server.url, workdir / script, env, args)
                    say(f"  {backend} x{workers} {name}: {figures['rps']:.0f} req/s, p99 {figures['p99']:.1f} ms")
                    errors = figures["non_2xx"] + figures["socket_errors"]
                    failed = failed or errors > 0
                    rows.append(
                        [name, backend, workers, figures["requests"], errors, figures["rps"],
                         figures["p50"], figures["p99"]]
                    )
                if name.endswith("confirm"):
                    made = client.v1.payment_intents.list({"limit": 1}).data[0]
                    if made.status != "succeeded":
                        failed = True
                        say(f"the newest PaymentIntent {made.id} is {made.status}, expected succeeded")
    report.table(
        "runs",
        f"wrk --latency, {args.seconds} s per row, loopback",
        ["workload", "database", "API processes", "requests", "errors", "req/s", "p50 ms", "p99 ms"],
        rows,
    )
    report.note(
        "wrk, the server and its database share the machine's CPUs. Errors are non-2xx answers "
        "plus socket errors; every POST carries its own Idempotency-Key."
    )
    report.emit(args.json)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
