"""A webhook receiver in the test process, and endpoints that are cleaned up after each test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from tests.support.server import free_port


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


class Receiver:
    """Records every POST; can answer 500 to the first N, answer slowly, or not listen at all."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[Received] = []
        self.fail_first = 0
        self.status = 200
        self.delay = 0.0
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver._record(self.path, dict(self.headers.items()), body)
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._cond:
            self.requests.append(Received(time.monotonic(), path, headers, body))
            self._cond.notify_all()
            if self.fail_first > 0:
                self.fail_first -= 1
                return 500
            return self.status

    def about(self, object_id: str) -> list[Received]:
        """The requests whose event is about one object, in arrival order."""
        with self._cond:
            return [r for r in self.requests if r.event["data"]["object"].get("id") == object_id]

    def wait_for(
        self, check: Callable[[Receiver], bool], timeout: float = 15.0
    ) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not check(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"receiver: condition not met in {timeout}s; got {len(self.requests)}")
                self._cond.wait(min(left, 0.2))


def verified(received: Received, secret: str) -> stripe.Event:
    """What a Stripe webhook handler does with the request: check its signature, parse it."""
    return stripe.Webhook.construct_event(
        received.body.decode("utf-8"), received.headers["Stripe-Signature"], secret
    )


def eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout}s")
        time.sleep(0.1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver().start()
    yield instance
    instance.stop()


Endpoints = Callable[..., stripe.WebhookEndpoint]


@pytest.fixture
def endpoints(client: stripe.StripeClient) -> Iterator[Endpoints]:
    """Creates webhook endpoints; deletes them afterwards so later tests' events go nowhere."""
    made: list[str] = []

    def create(url: str, enabled_events: list[str], **extra: Any) -> stripe.WebhookEndpoint:
        endpoint = client.v1.webhook_endpoints.create(
            {"url": url, "enabled_events": enabled_events, **extra}  # type: ignore[typeddict-item]
        )
        made.append(endpoint.id)
        return endpoint

    yield create
    for endpoint_id in made:
        try:
            client.v1.webhook_endpoints.delete(endpoint_id)
        except stripe.InvalidRequestError:
            pass
