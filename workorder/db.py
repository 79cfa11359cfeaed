"""Engine and sessions: SQLite in WAL mode by default, PostgreSQL (psycopg 3) supported.

SQLite specifics:
* ``journal_mode=WAL`` and ``synchronous=FULL``: an acknowledged commit survives kill -9 and power loss;
* ``busy_timeout`` so concurrent writers wait instead of failing;
* write sessions start with ``BEGIN IMMEDIATE`` (:func:`write_session`) so a read-then-write
  transaction never dies with SQLITE_BUSY half-way; reads use plain deferred ``BEGIN``.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               pool_size=kw.pop("pool_size", 16), max_overflow=kw.pop("max_overflow", 48), **kw)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            immediate = conn.get_execution_options().get("sqlite_immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_size=kw.pop("pool_size", 16), max_overflow=kw.pop("max_overflow", 48),
                         pool_pre_ping=True, **kw)


class Database:
    """One engine, a read session factory and a write session factory."""

    def __init__(self, url: str, **kw):
        self.url = url
        self.engine = make_engine(url, **kw)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        self._write = sessionmaker(writer, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as s:
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error."""
        with self._write() as s:
            with s.begin():
                yield s

    def dispose(self) -> None:
        self.engine.dispose()
