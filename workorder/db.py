"""Engine and sessions: SQLite in WAL mode by default, PostgreSQL (psycopg 3) supported.

SQLite specifics:
* ``journal_mode=WAL`` and ``synchronous=FULL``: an acknowledged commit survives kill -9 and power loss;
* ``busy_timeout`` so concurrent writers wait instead of failing;
* write sessions start with ``BEGIN IMMEDIATE`` (:func:`write_session`) so a read-then-write
  transaction never dies with SQLITE_BUSY half-way; reads use plain deferred ``BEGIN``.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=kw.pop("pool_size", 16),
            max_overflow=kw.pop("max_overflow", 48),
            **kw,
        )

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
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(
        url, pool_size=kw.pop("pool_size", 16), max_overflow=kw.pop("max_overflow", 48), pool_pre_ping=True, **kw
    )


class Database:
    """One engine, a read session factory and a write session factory."""

    def __init__(self, url: str, group_commit: bool = True, **kw):
        self.url = url
        self.engine = make_engine(url, **kw)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        self._write = sessionmaker(writer, expire_on_commit=False)
        self._lock = threading.Lock() if self.is_sqlite else None
        self._batcher = _GroupCommitter(self) if self.is_sqlite and group_commit else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as s:
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error.

        On SQLite, writers of this process queue on a Python lock first: SQLite's own
        busy handler sleeps in steps of up to 100 ms, which would ruin latency under load."""
        if self._lock is None:
            with self._write() as s:
                with s.begin():
                    yield s
            return
        with self._lock:
            with self._write() as s:
                with s.begin():
                    yield s

    def run(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in a write transaction and return its result once committed.

        On SQLite, concurrent callers are group-committed: one writer thread runs queued
        jobs each inside its own SAVEPOINT of a shared transaction and commits once for
        the batch, so one fsync covers many orders.  A job that raises rolls back only its
        savepoint and gets its exception; nobody gets a result before the commit is durable."""
        if self._batcher is None:
            with self.write() as s:
                return fn(s)
        return self._batcher.submit(fn)

    def submit(self, fn: Callable[[Session], T]) -> Future | None:
        """:meth:`run` without waiting, for a caller on an event loop: the future of ``fn``'s result,
        set once the batch is durable (``asyncio.wrap_future`` awaits it with no worker thread
        parked on it); None without a group commit (PostgreSQL, ``group_commit=False``): use
        :meth:`run` in a thread then."""
        return None if self._batcher is None else self._batcher.enqueue(fn)

    def dispose(self) -> None:
        if self._batcher is not None:
            self._batcher.stop()
            self._batcher = None
        self.engine.dispose()


class _GroupCommitter:
    def __init__(self, db: Database, max_batch: int = 64):
        self.db, self.max_batch = db, max_batch
        self.q: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="group-commit", daemon=True)
        self.thread.start()

    def submit(self, fn):
        return self.enqueue(fn).result()

    def enqueue(self, fn) -> Future:
        fut: Future = Future()
        ctx = contextvars.copy_context()  # the caller's context (e.g. the request being audited)
        self.q.put((lambda s: ctx.run(fn, s), fut))
        return fut

    def stop(self):
        self.q.put(None)
        self.thread.join(timeout=10)

    def _loop(self):
        while True:
            item = self.q.get()
            if item is None:
                return
            jobs = [item]
            while len(jobs) < self.max_batch:
                try:
                    nxt = self.q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self.q.put(None)
                    break
                jobs.append(nxt)
            self._run_batch(jobs)

    def _run_batch(self, jobs):
        done = []
        try:
            with self.db._lock:
                with self.db._write() as s:
                    with s.begin():
                        for fn, fut in jobs:
                            try:
                                with s.begin_nested():
                                    done.append((fut, fn(s), None))
                            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                                done.append((fut, None, exc))
        except BaseException as exc:  # the commit itself failed: nothing of the batch is durable
            for _fn, fut in jobs:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for fut, result, exc in done:
            if exc is not None:
                fut.set_exception(exc)
            else:
                fut.set_result(result)
