"""Starting real Billfold servers for tests: a subprocess per backend, over HTTP."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

PG_ADMIN_URL = os.environ.get("BILLFOLD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_pg_database() -> str:
    name = f"billfold_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rpartition("/")[2]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Server:
    backend: str
    database_url: str
    workdir: Path
    secret_key: str = field(default_factory=lambda: "sk_test_" + secrets.token_hex(16))
    publishable_key: str = field(default_factory=lambda: "pk_test_" + secrets.token_hex(16))
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"server-{self.port}.log"

    def start(self, timeout: float = 30.0) -> Server:
        env = {
            **os.environ,
            "BILLFOLD_SECRET_KEY": self.secret_key,
            "BILLFOLD_PUBLISHABLE_KEY": self.publishable_key,
            "BILLFOLD_WEBHOOK_RETRY_DELAYS": "1,1,2",
            **self.env,
        }
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed when the process ends
        self.process = subprocess.Popen(
            [sys.executable, "-m", "billfold", "serve", "--port", str(self.port),
             "--database", self.database_url],
            cwd=self.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"billfold exited early; see {self.log_path}:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/billfold/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"billfold did not start; see {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "billfold", *args, "--database", self.database_url],
            cwd=self.workdir,
            env={**os.environ, "BILLFOLD_SECRET_KEY": self.secret_key,
                 "BILLFOLD_PUBLISHABLE_KEY": self.publishable_key},
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout
