"""Database access: one engine over SQLite or PostgreSQL, and explicit transactions.

SQLite runs in WAL mode; write transactions start with ``BEGIN IMMEDIATE`` behind a
process-wide lock, so writers queue fairly instead of spinning on SQLITE_BUSY.
PostgreSQL runs at READ COMMITTED with row locks (``FOR UPDATE``) where a request
reads an object it is about to change.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("billfold.db")

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_MAX_OVERFLOW = 40
_PING_AFTER_IDLE = 1.0  # seconds
_MIGRATION_LOCK_ID = 0x62696C6C  # "bill": serialises schema upgrades across processes


def normalize_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if "://" not in url:
        url = "sqlite:///" + str(Path(url).resolve())
    return url


class Database:
    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.engine: Engine
        if self.url.startswith("sqlite"):
            self.dialect = "sqlite"
            self.engine = sa.create_engine(
                self.url,
                connect_args={"check_same_thread": False, "timeout": 60},
                pool_size=16,
                max_overflow=48,
            )
            event.listen(self.engine, "connect", self._sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.dialect = "postgresql"
            # No pre-ping on every checkout (a round trip per transaction): _checkout() pings
            # only a connection that has sat idle, where a restarted server would show.
            self.engine = sa.create_engine(self.url, pool_size=24, max_overflow=_PG_MAX_OVERFLOW)
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        self._checkpoints: threading.Thread | None = None
        self._stop_checkpoints = threading.Event()
        self._native: dict[str, str] = {}
        self._row_classes: dict[tuple[str, ...], Any] = {}

    def _checkout(self) -> Any:
        """A pooled connection; on PostgreSQL one idle for a while is pinged first, and if the
        server has gone away meanwhile (a restart, a proxy's idle timeout) every idle
        connection is replaced."""
        pooled = self.engine.raw_connection()
        if not self.is_postgres:
            return pooled
        now = time.monotonic()
        last_used = pooled.info.get("billfold_used")
        pooled.info["billfold_used"] = now
        if last_used is None or now - last_used < _PING_AFTER_IDLE:
            return pooled
        driver: Any = pooled.dbapi_connection
        try:
            driver.execute("SELECT 1")
            driver.rollback()  # back to idle, whatever autocommit mode it was left in
            return pooled
        except Exception:  # any failure: this connection, and its idle siblings, are gone
            log.info("an idle PostgreSQL connection was lost; reconnecting")
            pooled.invalidate()
            pooled.close()
            self.engine.dispose()
            pooled = self.engine.raw_connection()
            pooled.info["billfold_used"] = now
            return pooled

    def can_read_now(self) -> bool:
        """Whether a read transaction would start without waiting for a pooled connection.

        SQLite's writers queue on the process lock before taking a connection, so its pool
        always has room; on PostgreSQL every running request holds one.
        """
        if not self.is_postgres:
            return True
        pool: Any = self.engine.pool
        return bool(pool.checkedin() > 0 or pool.overflow() < _PG_MAX_OVERFLOW)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.connect() as conn:
            if self.is_postgres:
                conn.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
                conn.commit()
            try:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                conn.commit()
            finally:
                if self.is_postgres:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID})
                    conn.commit()

    def native(self, sql: str) -> str:
        """``sql`` in the driver's own parameter style (sqlite3 takes ``:name`` as written)."""
        found = self._native.get(sql)
        if found is None:
            found = sql
            if self.is_postgres:
                found = _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
            self._native[sql] = found
        return found

    def row_class(self, columns: tuple[str, ...]) -> Any:
        found = self._row_classes.get(columns)
        if found is None:
            found = self._row_classes[columns] = namedtuple("Row", columns, rename=True)
        return found

    @contextmanager
    def transaction(self, write: bool = True, snapshot: bool = False) -> Iterator[Tx]:
        """One database transaction on a pooled driver connection.

        BEGIN, COMMIT and ROLLBACK go straight to the driver: SQLAlchemy keeps the pool (and
        alembic its migrations), but its Connection and transaction objects cost more per
        request than a primary-key read.

        A PostgreSQL read runs its statements in autocommit: at READ COMMITTED every statement
        takes its own snapshot anyway, so BEGIN and COMMIT would add two round trips and nothing
        else. ``snapshot=True`` asks for a real transaction (one REPEATABLE READ snapshot, say,
        or ``SET LOCAL``). SQLite reads are always one snapshot.
        """
        lock = self._write_lock if write else None
        if lock is not None:
            lock.acquire()
        try:
            pooled = self._checkout()
            try:
                driver: Any = pooled.dbapi_connection
                if self.dialect == "sqlite":
                    driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                else:
                    autocommit = not write and not snapshot
                    if driver.autocommit != autocommit:
                        driver.autocommit = autocommit
                tx = Tx(self, driver, write)
                changes = driver.total_changes if self.dialect == "sqlite" and not write else None
                try:
                    yield tx
                    for step in tx.before_commit:
                        step(tx)
                    if changes is not None and driver.total_changes != changes:
                        # A read may run on the event loop (billfold.wire.asgi), where waiting
                        # for SQLite's write lock would stall every request: reads never write.
                        raise RuntimeError("a read-only transaction changed the database")
                except BaseException:
                    _rollback(pooled)
                    raise
                driver.commit()
            finally:
                pooled.close()  # back to the pool
            for callback in tx.after_commit:
                callback()
        finally:
            if lock is not None:
                lock.release()

    def start_checkpoints(self, interval: float = 0.05) -> None:
        """SQLite: copy the WAL into the database from a background thread, not in COMMIT.

        By default the commit that pushes the WAL past 1,000 pages runs the checkpoint (and its
        fsync) itself, so every few dozen writes one request pays for all the others. A server
        or worker process calls this once: its connections then never checkpoint, and a thread
        runs a PASSIVE checkpoint (which waits for no reader or writer) every ``interval``.
        """
        if self.is_postgres or self._checkpoints is not None:
            return
        self._checkpoints = threading.Thread(
            target=self._checkpoint_loop, args=(interval,), name="billfold-wal-checkpoints", daemon=True
        )
        self._checkpoints.start()
        # Connections already pooled were opened with SQLite's automatic checkpoints.
        self.engine.dispose()

    def _checkpoint_loop(self, interval: float) -> None:
        conn = sqlite3.connect(self.engine.url.database or "", isolation_level=None, check_same_thread=False)
        try:
            while not self._stop_checkpoints.wait(interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    log.exception("WAL checkpoint failed; trying again")
        finally:
            conn.close()

    def _sqlite_connect(self, dbapi_connection: Any, record: Any) -> None:
        _sqlite_connect(dbapi_connection, record)
        if self._checkpoints is not None:
            dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")

    def dispose(self) -> None:
        if self._checkpoints is not None:
            self._stop_checkpoints.set()
            self._checkpoints.join(timeout=5)
            self._checkpoints = None
        self.engine.dispose()


class Tx:
    """One open transaction. Everything a request changes goes through one Tx."""

    def __init__(self, db: Database, driver: Any, write: bool = True) -> None:
        self.db = db
        self.driver = driver  # the DB-API connection (sqlite3 or psycopg)
        self.write = write
        self.after_commit: list[Any] = []
        # Called with this Tx just before COMMIT, inside the transaction (the ledger's totals).
        self.before_commit: list[Any] = []
        # Ledger totals this transaction adds, by (account, livemode, currency): written by the
        # ledger's before-commit step, and rolled back with a savepoint (see Savepoint).
        self.pending_totals: dict[tuple[str, bool, str], int] = {}
        self._savepoints = 0

    def execute(self, sql: str, **params: Any) -> Result:
        cursor = self.driver.cursor()
        try:
            cursor.execute(self.db.native(sql), params)
            rows: list[Any] = []
            if cursor.description:
                make = self.db.row_class(tuple(column[0] for column in cursor.description))
                rows = [make(*values) for values in cursor.fetchall()]
            return Result(rows, cursor.rowcount)
        finally:
            cursor.close()

    def execute_many(self, sql: str, rows: list[dict[str, Any]]) -> None:
        """One statement for many parameter sets (no result rows)."""
        cursor = self.driver.cursor()
        try:
            cursor.executemany(self.db.native(sql), rows)
        finally:
            cursor.close()

    def savepoint(self) -> Savepoint:
        """A nested transaction: ``rollback()`` undoes only what ran since it began."""
        self._savepoints += 1
        name = f"billfold_sp{self._savepoints}"
        self.execute(f"SAVEPOINT {name}")
        return Savepoint(self, name)

    def one(self, sql: str, **params: Any) -> Any:
        return self.execute(sql, **params).first()

    def all(self, sql: str, **params: Any) -> list[Any]:
        return self.execute(sql, **params).fetchall()

    @property
    def for_update(self) -> str:
        """Row locks for what a write transaction reads on PostgreSQL (it may change it next);
        a read transaction takes none, so readers never queue behind writers or each other."""
        return " FOR UPDATE" if self.write and self.db.is_postgres else ""


class Savepoint:
    """Rolling back undoes the SQL since the savepoint and the Tx's own deferred work with it:
    ledger totals still to write, and callbacks promised for after the commit."""

    __slots__ = ("tx", "name", "totals", "callbacks")

    def __init__(self, tx: Tx, name: str) -> None:
        self.tx = tx
        self.name = name
        self.totals = dict(tx.pending_totals)
        self.callbacks = len(tx.after_commit)

    def commit(self) -> None:
        self.tx.execute(f"RELEASE SAVEPOINT {self.name}")

    def rollback(self) -> None:
        self.tx.execute(f"ROLLBACK TO SAVEPOINT {self.name}")
        self.tx.execute(f"RELEASE SAVEPOINT {self.name}")
        self.tx.pending_totals = self.totals
        del self.tx.after_commit[self.callbacks:]


def _rollback(pooled: Any) -> None:
    """Undo the open transaction; a connection that cannot even roll back is thrown away."""
    try:
        pooled.dbapi_connection.rollback()
    except Exception:
        pooled.invalidate()


class Result:
    """Rows (named tuples: ``row.column``) and the affected row count of one statement."""

    __slots__ = ("rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def first(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows


# ``:name`` placeholders, but not PostgreSQL's ``::type`` casts.
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode keeps every committed transaction across a process crash (kill -9).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    # Reads through a shared memory map instead of copying pages into each connection's own
    # small cache: index lookups in a large database stay cheap, and every pooled connection
    # shares the same pages.
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")
