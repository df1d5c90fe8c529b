"""Running the reference integrations in ``examples/`` for end-to-end tests.

Each example is a FastAPI app configured only by environment variables (Stripe's usual names),
so a test starts it with uvicorn as a subprocess pointed at a test Billfold, on a free
127.0.0.1 port, and stops it by its PID. Helpers here also sign webhook payloads the way Stripe
does (``t=<unix>,v1=<HMAC-SHA256 of "t.payload">``), for tests that replay events to an app.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import stripe

from tests.support.server import Server, drop_pg_database, free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
T = TypeVar("T")


@dataclass
class ExampleApp:
    """One example app in a subprocess: ``examples/<name>/app.py`` served by uvicorn."""

    name: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_path(self) -> Path:
        return self.workdir / f"{self.name}.db"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}-{self.port}.log"

    def start(self, timeout: float = 30.0) -> ExampleApp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.database_path}",
            "APP_URL": self.url,
            **self.env,
        }
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed when the process ends
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            cwd=EXAMPLES / self.name,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_path.read_text()}")
            try:
                httpx.get(self.url + "/", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def query(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        """Rows from the app's own database (read-only; the app keeps writing)."""
        with sqlite3.connect(f"file:{self.database_path}?mode=ro", uri=True) as conn:
            conn.row_factory = sqlite3.Row
            return list(conn.execute(sql, params).fetchall())


def stripe_env(billfold: Server, webhook_secret: str) -> dict[str, str]:
    """The environment an example needs to run against ``billfold``."""
    return {
        "STRIPE_SECRET_KEY": billfold.secret_key,
        "STRIPE_PUBLISHABLE_KEY": billfold.publishable_key,
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "STRIPE_API_BASE": billfold.url,
        "STRIPE_JS_URL": f"{billfold.url}/v3/",
    }


def sign_payload(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``payload``, as Stripe computes it."""
    at = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def post_event(app_url: str, payload: str, secret: str | None) -> httpx.Response:
    """POST ``payload`` to the app's ``/webhook``, signed with ``secret`` (or a wrong one)."""
    signature = sign_payload(payload, secret) if secret else "t=1,v1=" + "0" * 64
    return httpx.post(
        app_url + "/webhook",
        content=payload.encode(),
        headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        timeout=10,
    )


def wait_for(check: Callable[[], T | None], timeout: float = 15.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy (webhooks arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


@dataclass
class Stack:
    """A Billfold, an SDK client for it, and an example app whose webhooks it delivers."""

    billfold: Server
    client: stripe.StripeClient
    app: ExampleApp
    webhook_secret: str


@contextmanager
def example_stack(
    name: str, workdir: Path, backend: str = "sqlite", **app_env: str
) -> Iterator[Stack]:
    """Start a Billfold on ``backend``, create a webhook endpoint for the app, start the app."""
    from tests.conftest import new_server

    billfold = new_server(backend, workdir)
    billfold.start()
    app = ExampleApp(name, workdir)
    try:
        client = stripe.StripeClient(
            billfold.secret_key, base_addresses={"api": billfold.url}, max_network_retries=0
        )
        endpoint = client.v1.webhook_endpoints.create(
            {"url": f"{app.url}/webhook", "enabled_events": ["*"]}
        )
        assert endpoint.secret
        app.env = {**stripe_env(billfold, endpoint.secret), **app_env}
        app.start()
        yield Stack(billfold, client, app, endpoint.secret)
    finally:
        app.stop()
        billfold.stop()
        if backend == "postgres":
            drop_pg_database(billfold.database_url)
