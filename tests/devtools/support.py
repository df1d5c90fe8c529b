"""Running ``billfold listen|trigger|logs`` as the subprocesses a developer would run."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe

from tests.conftest import new_server
from tests.support.server import Server, drop_pg_database

REPO = Path(__file__).resolve().parents[2]


def own_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Server]:
    """A server for one test module (its objects and logs are the module's alone)."""
    instance = new_server(request.param, tmp_path_factory.mktemp(f"{name}-{request.param}")).start()
    yield instance
    instance.stop()
    if instance.backend == "postgres":
        drop_pg_database(instance.database_url)


def sdk(server: Server) -> stripe.StripeClient:
    return stripe.StripeClient(server.secret_key, base_addresses={"api": server.url}, max_network_retries=0)


def cli_env(server: Server | None, key: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BILLFOLD_SECRET_KEY", "STRIPE_API_KEY", "BILLFOLD_DATABASE_URL", "BILLFOLD_API_BASE")}
    if server is not None:
        env["BILLFOLD_API_BASE"] = server.url
        env["BILLFOLD_SECRET_KEY"] = key or server.secret_key
    return env


def run(
    server: Server | None, *args: str, key: str | None = None, cwd: Path = REPO, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "billfold", *args], cwd=cwd, env=cli_env(server, key),
        capture_output=True, text=True, timeout=timeout,
    )


class Running:
    """A long-running command, its stdout and stderr read line by line as they come."""

    def __init__(self, server: Server, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "billfold", *args], cwd=REPO, env=cli_env(server),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.seen: list[tuple[str, str]] = []
        for name, stream in (("out", self.process.stdout), ("err", self.process.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def _read(self, name: str, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put((name, line.rstrip("\n")))

    def wait_for(self, text: str, timeout: float = 30) -> str:
        """The first line (from either stream) containing ``text``."""
        for _name, line in self.seen:
            if text in line:
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(item)
            if text in item[1]:
                return item[1]
        raise AssertionError(f"no line with {text!r}; got {self.seen}")

    def drain(self) -> list[str]:
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return [line for name, line in self.seen if name == "out"]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        time.sleep(0.05)
        self.drain()
        return code
