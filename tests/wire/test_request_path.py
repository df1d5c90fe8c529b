"""The cheap request path: reads never wait on writers, read transactions never write, list
filters stay indexed by the partial indexes, and ids stay uniform."""

from __future__ import annotations

import collections
import sqlite3
import string
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import stripe

from billfold.app import Billfold
from billfold.config import Settings
from billfold.ids import random_part
from billfold.store.db import Tx
from billfold.store.objects import INDEXED, ObjectStore, Scope
from tests.support.inprocess import billfold_in_process
from tests.support.server import Server, create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Billfold]:
    with billfold_in_process(request.param, tmp_path) as instance:
        yield instance


def _hold_write_lock(server: Server) -> Any:
    """Another connection holding what every write needs: SQLite's write lock, or on
    PostgreSQL a lock on the objects table that writers wait for and readers do not."""
    if server.backend == "sqlite":
        conn = sqlite3.connect(server.database_url, isolation_level=None, timeout=5)
        conn.execute("BEGIN IMMEDIATE")
        return conn
    conn = psycopg.connect(server.database_url)
    conn.execute("LOCK TABLE objects IN EXCLUSIVE MODE")
    return conn


@pytest.mark.parametrize("fresh_server", ["sqlite", "postgres"], indirect=True)
def test_reads_are_answered_while_a_write_waits_for_the_database(fresh_server: Server) -> None:
    server = fresh_server.start()
    client = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url},
                                 max_network_retries=0)
    existing = client.v1.customers.create({"email": "before@example.com"})
    holder = _hold_write_lock(server)
    written: list[str] = []
    writer = threading.Thread(
        target=lambda: written.append(client.v1.customers.create({"email": "after@example.com"}).id)
    )
    try:
        writer.start()
        time.sleep(0.3)
        # The write is stuck behind the other connection; reads on the same server are not.
        for _ in range(20):
            started = time.monotonic()
            assert client.v1.customers.retrieve(existing.id).email == "before@example.com"
            assert client.v1.customers.list({"limit": 3}).data[0].id == existing.id
            assert time.monotonic() - started < 2.0
        assert writer.is_alive() and not written
    finally:
        holder.commit()
        holder.close()
    writer.join(timeout=30)
    assert len(written) == 1
    assert client.v1.customers.retrieve(written[0]).email == "after@example.com"


def test_a_read_transaction_that_writes_is_undone_and_refused(tmp_path: Path) -> None:
    # Reads run on the event loop; one that wrote could wait there for SQLite's write lock.
    app = Billfold(Settings(database_url=str(tmp_path / "reads.db")))
    app.start()
    try:
        with pytest.raises(RuntimeError, match="read-only transaction changed"):
            with app.db.transaction(write=False) as tx:
                tx.execute("UPDATE accounts SET settings = '{\"x\": 1}' WHERE id = :id", id=app.platform_account)
        with app.db.transaction(write=False) as tx:
            assert tx.one("SELECT settings FROM accounts WHERE id = :id", id=app.platform_account).settings != '{"x": 1}'
    finally:
        app.db.dispose()


def test_a_savepoint_undoes_only_what_followed_it(app: Billfold) -> None:
    """SQL, and the after-commit work the undone part had asked for."""
    scope = Scope(app.platform_account, False)
    with app.db.transaction() as tx:
        store = ObjectStore(tx, scope)
        store.insert({"id": "cus_kept", "object": "customer", "created": 1})
        tx.after_commit.append(app.wake_jobs)
        savepoint = tx.savepoint()
        store.insert({"id": "cus_undone", "object": "customer", "created": 2})
        tx.after_commit.append(app.wake_deliveries)  # promised by the undone change
        savepoint.rollback()
        assert tx.after_commit == [app.wake_jobs]
        inner = tx.savepoint()
        store.insert({"id": "cus_released", "object": "customer", "created": 3})
        inner.commit()
    with app.db.transaction(write=False) as tx:
        store = ObjectStore(tx, scope)
        assert store.get("cus_kept") is not None
        assert store.get("cus_undone") is None
        assert store.get("cus_released") is not None


def _plan(tx: Tx, sql: str, params: dict[str, Any]) -> str:
    if tx.db.is_postgres:
        tx.execute("SET LOCAL enable_seqscan = off")
        rows = tx.all("EXPLAIN " + sql, **params)
    else:
        rows = tx.all("EXPLAIN QUERY PLAN " + sql, **params)
    return " ".join(str(value) for row in rows for value in row)


@pytest.mark.parametrize("column", INDEXED)
def test_each_list_filter_reads_its_partial_index(app: Billfold, column: str) -> None:
    """The filter indexes hold only rows that have the value (migration 0012); an equality
    filter on the column must still be answered from that index on both databases."""
    statements: list[tuple[str, dict[str, Any]]] = []

    class Recording(Tx):
        def execute(self, sql: str, **params: Any) -> Any:
            statements.append((sql, params))
            return super().execute(sql, **params)

    with app.db.transaction(write=False, snapshot=True) as tx:
        recording = Recording(tx.db, tx.driver, write=False)
        ObjectStore(recording, Scope(app.platform_account, False)).page(
            "thing", filters={column: "value"}, limit=5
        )
        sql, params = statements[-1]
        assert f"{column} = :" in sql
        assert f"ix_objects_{column}" in _plan(tx, sql, params)


def test_ids_use_the_whole_alphabet_evenly() -> None:
    alphabet = set(string.ascii_letters + string.digits)
    samples = [random_part(24) for _ in range(5_000)]
    assert all(len(s) == 24 and set(s) <= alphabet for s in samples)
    assert len(set(samples)) == len(samples)
    counts = collections.Counter("".join(samples))
    expected = 24 * 5_000 / 62
    assert set(counts) == alphabet
    # Each of 62 characters within 10% of its share (about 7 standard deviations).
    assert all(abs(n - expected) < expected * 0.1 for n in counts.values())
    assert len(random_part(14)) == 14 and len(random_part(3)) == 3


def test_sqlite_checkpoints_run_in_the_background(tmp_path: Path) -> None:
    """A server's connections never checkpoint in COMMIT; a thread copies the WAL into the
    database file instead, so the file grows while the WAL is still far from SQLite's own
    1,000-page threshold."""
    app = Billfold(Settings(database_url=str(tmp_path / "wal.db")))
    app.start()
    app.db.start_checkpoints(interval=0.02)
    try:
        with app.db.transaction(write=False) as tx:
            assert tx.one("PRAGMA wal_autocheckpoint").wal_autocheckpoint == 0
        before = (tmp_path / "wal.db").stat().st_size
        scope = Scope(app.platform_account, False)
        for batch in range(20):
            with app.db.transaction() as tx:
                store = ObjectStore(tx, scope)
                for n in range(10):
                    store.insert({"id": f"cus_{batch}_{n}", "object": "customer", "created": n,
                                  "description": "x" * 4_000})
        deadline = time.monotonic() + 5
        while (tmp_path / "wal.db").stat().st_size < before + 500_000 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (tmp_path / "wal.db").stat().st_size >= before + 500_000
    finally:
        app.db.dispose()


def test_postgres_connections_lost_while_idle_are_replaced(tmp_path: Path) -> None:
    """Without a ping on every checkout, a connection idle past a second is pinged first: after
    the server drops every connection (a restart, a proxy's idle timeout), requests still work."""
    server = Server(backend="postgres", database_url=create_pg_database(), workdir=tmp_path).start()
    try:
        client = stripe.StripeClient(server.secret_key, base_addresses={"api": server.url},
                                     max_network_retries=0)
        made = client.v1.customers.create({"email": "idle@example.com"})
        # Writes run on worker threads: eight at once leave several connections in the pool.
        warm = [threading.Thread(target=lambda: [client.v1.customers.create({"name": "warm"})
                                                 for _ in range(5)]) for _ in range(8)]
        for thread in warm:
            thread.start()
        for thread in warm:
            thread.join()
        name = server.database_url.rpartition("/")[2]
        with psycopg.connect(server.database_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchone()
        assert killed is not None and killed[0] >= 3
        time.sleep(1.2)
        for _ in range(10):
            assert client.v1.customers.retrieve(made.id).email == "idle@example.com"
            client.v1.customers.create({"email": "after@example.com"})
    finally:
        server.stop()
        drop_pg_database(server.database_url)
