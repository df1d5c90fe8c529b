"""A Billfold deployment in miniature for crash tests: ``billfold serve --workers N`` (its pids
read from ``--pid-file``), separate ``billfold worker`` processes, and ``billfold check``."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import stripe

from tests.support.server import free_port

RETRY_DELAYS = "1,1,1,1,1,1,1,1,1,1,2,2,2"


@dataclass
class Cluster:
    database_url: str
    workdir: Path
    api_processes: int = 1
    run_worker: bool = True
    secret_key: str = field(default_factory=lambda: "sk_test_" + secrets.token_hex(16))
    publishable_key: str = field(default_factory=lambda: "pk_test_" + secrets.token_hex(16))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _worker_logs: dict[int, Path] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.workdir / f"billfold-{self.port}.pids"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "BILLFOLD_SECRET_KEY": self.secret_key,
            "BILLFOLD_PUBLISHABLE_KEY": self.publishable_key,
            "BILLFOLD_WEBHOOK_RETRY_DELAYS": RETRY_DELAYS,
            "BILLFOLD_WEBHOOK_TIMEOUT": "2",
        }

    def client(self, retries: int = 0) -> stripe.StripeClient:
        return stripe.StripeClient(self.secret_key, base_addresses={"api": self.url},
                                   max_network_retries=retries)

    def _log(self, name: str) -> Any:
        return open(self.workdir / name, "ab")  # noqa: SIM115 - the child keeps it

    def start(self, timeout: float = 90.0) -> Cluster:
        command = [sys.executable, "-m", "billfold", "serve", "--port", str(self.port),
                   "--database", self.database_url, "--workers", str(self.api_processes),
                   "--pid-file", str(self.pid_file)]
        if not self.run_worker:
            command.append("--no-worker")
        self.pid_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(command, cwd=self.workdir, env=self.env,
                                        stdout=self._log("serve.log"), stderr=subprocess.STDOUT)
        try:
            self._wait_started(self.process, time.monotonic() + timeout)
        except BaseException:
            self.stop()  # a server that failed to start must not outlive the test
            raise
        return self

    def _wait_started(self, process: subprocess.Popen[bytes], deadline: float) -> None:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError((self.workdir / "serve.log").read_text())
            if self.pid_file.exists() and len(self.api_pids()) == self.api_processes:
                try:
                    if httpx.get(f"{self.url}/billfold/health", timeout=2).status_code == 200:
                        self.wait_serving()
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"billfold did not start; see {self.workdir / 'serve.log'}")

    def pids(self) -> dict[str, Any]:
        for _ in range(20):
            try:
                found: dict[str, Any] = json.loads(self.pid_file.read_text())
                return found
            except (OSError, ValueError):
                time.sleep(0.05)
        raise AssertionError("no pid file")

    def api_pids(self) -> list[int]:
        return [pid for pid in self.pids()["api"] if pid is not None]

    def serving_pids(self, tries: int = 60, enough: int = 0, seen: set[int] | None = None) -> set[int]:
        """The API processes that answered health checks, each on a new connection."""
        seen = set() if seen is None else seen
        for _ in range(tries):
            try:
                seen.add(int(httpx.get(f"{self.url}/billfold/health", timeout=5).json()["pid"]))
            except httpx.HTTPError:
                time.sleep(0.05)
            if enough and len(seen) >= enough:
                break
        return seen

    def wait_serving(self, timeout: float = 90.0) -> None:
        """Until every API process in the pid file has answered."""
        deadline = time.monotonic() + timeout
        seen: set[int] = set()
        while time.monotonic() < deadline:
            expected = set(self.api_pids())
            if expected <= self.serving_pids(5, enough=len(expected | seen), seen=seen):
                return
        raise AssertionError(f"not every API process answers: {self.pids()}")

    def kill(self) -> None:
        """``kill -9`` of everything serve started: the supervisor and each child."""
        everything = [self.process.pid] if self.process is not None else []
        if self.pid_file.exists():
            pids = self.pids()
            everything += [*pids["api"], pids["worker"]]
        for pid in everything:
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.process is not None:
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        for worker in self.workers:
            stop_process(worker)
        self.workers.clear()
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def start_worker(self, wait: bool = True) -> subprocess.Popen[bytes]:
        """A ``billfold worker`` process; by default once it has begun delivering and running jobs."""
        log = self.workdir / f"worker-{len(list(self.workdir.glob('worker-*.log')))}.log"
        log.touch()
        worker = subprocess.Popen(
            [sys.executable, "-m", "billfold", "worker", "--database", self.database_url],
            cwd=self.workdir, env=self.env, stdout=self._log(log.name), stderr=subprocess.STDOUT,
        )
        self.workers.append(worker)
        self._worker_logs[worker.pid] = log
        if wait:
            self.wait_for_workers()
        return worker

    def wait_for_workers(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            log = self._worker_logs[worker.pid]
            while b"delivering webhooks" not in log.read_bytes():
                assert worker.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "billfold", *args, "--database", self.database_url],
            cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=120,
        )

    def check(self) -> tuple[int, dict[str, Any]]:
        done = self.cli("check", "--json")
        try:
            return done.returncode, json.loads(done.stdout)
        except ValueError as exc:
            raise AssertionError(f"billfold check printed no JSON: {done.stdout}{done.stderr}") from exc


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (killed, not yet reaped) still answers signal 0; it is dead all the same.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
