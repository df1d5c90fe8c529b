"""Database access: one engine over SQLite or PostgreSQL, and explicit transactions.

SQLite runs in WAL mode; write transactions start with ``BEGIN IMMEDIATE`` behind a
process-wide lock, so writers queue fairly instead of spinning on SQLITE_BUSY.
PostgreSQL runs at READ COMMITTED with row locks (``FOR UPDATE``) where a request
reads an object it is about to change.
"""

from __future__ import annotations

import re
import threading
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

MIGRATIONS = Path(__file__).parent / "migrations"
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
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.dialect = "postgresql"
            self.engine = sa.create_engine(self.url, pool_size=24, max_overflow=40, pool_pre_ping=True)
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        self._statements: dict[str, sa.TextClause] = {}
        self._native: dict[str, str] = {}
        self._row_classes: dict[tuple[str, ...], Any] = {}

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

    def statement(self, sql: str) -> sa.TextClause:
        clause = self._statements.get(sql)
        if clause is None:
            clause = self._statements[sql] = sa.text(sql)
        return clause

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
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        lock = self._write_lock if write else None
        if lock is not None:
            lock.acquire()
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    conn = conn.execution_options(sqlite_begin="IMMEDIATE" if write else "DEFERRED")
                tx = Tx(self, conn)
                with conn.begin():
                    yield tx
            for callback in tx.after_commit:
                callback()
        finally:
            if lock is not None:
                lock.release()

    def dispose(self) -> None:
        self.engine.dispose()


class Tx:
    """One open transaction. Everything a request changes goes through one Tx."""

    def __init__(self, db: Database, conn: Connection) -> None:
        self.db = db
        self.conn = conn
        self.after_commit: list[Any] = []

    def execute(self, sql: str, **params: Any) -> Result:
        # Straight to the driver's cursor on the transaction's connection: SQLAlchemy's
        # statement machinery cost more than the database itself on the request path.
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self.db.native(sql), params)
            rows: list[Any] = []
            if cursor.description:
                make = self.db.row_class(tuple(column[0] for column in cursor.description))
                rows = [make(*values) for values in cursor.fetchall()]
            return Result(rows, cursor.rowcount)
        finally:
            cursor.close()

    def one(self, sql: str, **params: Any) -> Any:
        return self.execute(sql, **params).first()

    def all(self, sql: str, **params: Any) -> list[Any]:
        return self.execute(sql, **params).fetchall()

    @property
    def for_update(self) -> str:
        return " FOR UPDATE" if self.db.is_postgres else ""


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
