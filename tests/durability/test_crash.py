"""Confirmed payments survive ``kill -9``: of one API process among several (the others keep
serving and the supervisor replaces it) and of everything at once. Afterwards every acknowledged
PaymentIntent is there and succeeded, none is doubled, each request sent again with its
idempotency key replays the same object, and ``billfold check`` is clean."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import stripe

from tests.durability.cluster import Cluster, alive
from tests.durability.conftest import MakeCluster
from tests.support.server import free_port


@dataclass
class Sent:
    key: str
    params: dict[str, Any]
    id: str | None = None  # set once the server acknowledged the payment


@dataclass
class Payers:
    """Threads confirming card payments, each with its own idempotency key, until stopped."""

    cluster: Cluster
    tag: str
    threads: int = 6
    sent: list[Sent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    connection_errors: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._running = [threading.Thread(target=self._pay, args=(n,)) for n in range(self.threads)]

    def start(self) -> Payers:
        for thread in self._running:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._running:
            thread.join(60)

    @property
    def acknowledged(self) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.id is not None]

    def wait_for(self, count: int, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} of {count} payments"
            assert not self.errors, self.errors
            time.sleep(0.05)

    def _pay(self, thread: int) -> None:
        client = self.cluster.client()
        n = 0
        while not self._stop.is_set():
            n += 1
            key = f"{self.tag}-{thread}-{n}"
            params = {"amount": 2000 + n, "currency": "usd", "payment_method": "pm_card_visa",
                      "confirm": True, "payment_method_types": ["card"],
                      "metadata": {"tag": self.tag, "key": key}}
            record = Sent(key, params)
            with self._lock:
                self.sent.append(record)
            try:
                intent = client.v1.payment_intents.create(params, {"idempotency_key": key})  # type: ignore[arg-type]
            except stripe.APIConnectionError:
                # The process serving this connection died: the payment may or may not exist.
                with self._lock:
                    self.connection_errors += 1
                time.sleep(0.05)
                continue
            except stripe.StripeError as exc:
                with self._lock:
                    self.errors.append(f"{key}: {exc}")
                continue
            with self._lock:
                record.id = intent.id
            if intent.status != "succeeded":
                with self._lock:
                    self.errors.append(f"{key}: {intent.id} is {intent.status}")


def _headers(obj: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in dict(obj.last_response.headers).items()}


def _intents_by_key(client: stripe.StripeClient, tag: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for intent in client.v1.payment_intents.list({"limit": 100}).auto_paging_iter():
        metadata = intent.metadata.to_dict()
        if metadata.get("tag") == tag:
            found.setdefault(metadata["key"], []).append(intent)
    return found


def _verify_after_restart(cluster: Cluster, payers: Payers) -> None:
    client = cluster.client(retries=0)
    assert not payers.errors, payers.errors
    stored = _intents_by_key(client, payers.tag)
    doubled = {key: len(found) for key, found in stored.items() if len(found) != 1}
    assert doubled == {}, f"payments made twice: {doubled}"
    acknowledged = payers.acknowledged
    for sent in acknowledged:
        assert sent.key in stored, f"acknowledged {sent.id} ({sent.key}) is missing"
        (intent,) = stored[sent.key]
        assert (intent.id, intent.status) == (sent.id, "succeeded")
    # Unacknowledged requests (in flight at a kill) left a payment or nothing, never a half.
    for key, (intent,) in stored.items():
        assert intent.status == "succeeded", (key, intent.status)
    assert set(stored) <= {s.key for s in payers.sent}

    # The same requests again, with the same keys: stored ones replay, missing ones now run.
    def send_again(sent: Sent) -> None:
        again = client.v1.payment_intents.create(sent.params, {"idempotency_key": sent.key})  # type: ignore[arg-type]
        if sent.key in stored:
            assert again.id == stored[sent.key][0].id
            assert _headers(again).get("idempotent-replayed") == "true", sent.key
        else:
            assert again.status == "succeeded"
            assert _headers(again).get("idempotent-replayed") is None

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send_again, payers.sent))
    final = _intents_by_key(client, payers.tag)
    assert sorted(final) == sorted(s.key for s in payers.sent)
    assert all(len(found) == 1 for found in final.values())

    code, report = cluster.check()
    assert code == 0 and report["clean"], report["differences"]
    assert report["counted"]["balance transactions"] >= len(payers.sent)


def test_sqlite_kill_9_mid_stream_loses_and_doubles_nothing(make_cluster: MakeCluster) -> None:
    cluster = make_cluster("sqlite").start()
    payers = Payers(cluster, "sqlite-crash").start()
    try:
        payers.wait_for(30)
        cluster.kill()
        time.sleep(0.3)
    finally:
        payers.stop()
    cluster.start()
    _verify_after_restart(cluster, payers)


@pytest.mark.parametrize("backend", ["postgres"])
def test_postgres_one_api_process_then_everything_killed(make_cluster: MakeCluster, backend: str) -> None:
    cluster = make_cluster(backend, api_processes=3).start()
    first = cluster.api_pids()
    assert len(first) == 3 and len(cluster.serving_pids(enough=2)) >= 2, "connections reach several processes"
    payers = Payers(cluster, "pg-crash").start()
    try:
        payers.wait_for(20)
        victim = first[0]
        os.kill(victim, signal.SIGKILL)
        before = len(payers.acknowledged)
        # The other processes go on serving while the supervisor replaces the dead one.
        payers.wait_for(before + 20)
        deadline = time.monotonic() + 20
        while victim in cluster.api_pids() or len(cluster.api_pids()) != 3:
            assert time.monotonic() < deadline, cluster.pids()
            time.sleep(0.1)
        replaced = cluster.api_pids()
        assert set(replaced) - set(first) and set(first[1:]) <= set(replaced)
        assert not alive(victim)
        cluster.wait_serving()
        payers.wait_for(len(payers.acknowledged) + 10)

        # Now everything: kill -9 the supervisor alone; its children must not outlive it.
        children = [*cluster.api_pids(), cluster.pids()["worker"]]
        assert cluster.process is not None
        os.kill(cluster.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in children):
            assert time.monotonic() < deadline, "children outlived their supervisor"
            time.sleep(0.1)
        cluster.kill()
    finally:
        payers.stop()
    assert payers.connection_errors >= 1
    cluster.start()
    _verify_after_restart(cluster, payers)

    # SIGTERM stops the supervisor and every child cleanly.
    children = [*cluster.api_pids(), cluster.pids()["worker"]]
    assert cluster.process is not None
    cluster.process.send_signal(signal.SIGTERM)
    assert cluster.process.wait(60) == 0
    cluster.process = None
    assert not [pid for pid in children if alive(pid)]
    assert not cluster.pid_file.exists()


def test_several_api_processes_on_sqlite_are_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "billfold", "serve", "--workers", "2", "--port", str(free_port()),
         "--database", str(tmp_path / "one-writer.db")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "--workers needs PostgreSQL" in done.stderr
