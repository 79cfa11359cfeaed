"""Engine and sessions: SQLite in WAL mode by default, PostgreSQL (psycopg 3) supported.

SQLite specifics:
* ``journal_mode=WAL`` and ``synchronous=FULL``: an acknowledged commit survives kill -9 and power loss;
* ``busy_timeout`` so concurrent writers wait instead of failing;
* write sessions start with ``BEGIN IMMEDIATE`` (:func:`write_session`) so a read-then-write
  transaction never dies with SQLITE_BUSY half-way; reads use plain deferred ``BEGIN``;
* on a file, the WAL checkpoint runs on a thread of the :class:`Database` from its own
  connection (:class:`_Checkpointer`), not inside a commit (``wal_autocheckpoint=0``).
"""

from __future__ import annotations

import contextvars
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from hotline.log import Outage

T = TypeVar("T")
log = logging.getLogger("workorder.db")

# The WAL checkpoint of a SQLite file, off the commit path.  SQLite's automatic checkpoint (every
# 1000 pages) runs inside the COMMIT that crosses the mark: on the group-commit thread, so every
# request waiting for that batch's fsync (a GET's audit row included) also waited while the
# checkpoint copied the pages into the main file and synced it.  So the engine's connections set
# ``wal_autocheckpoint=0`` and a thread of each Database checkpoints from its own connection:
CHECKPOINT_INTERVAL = 1.0  # s between two looks at the WAL
# Each look that finds commits since the last one (PRAGMA data_version, any process) or frames the
# last checkpoint could not copy runs a PASSIVE checkpoint: it waits for no lock and nobody waits
# for it (readers and writers go on; it copies what no reader still needs).  Every second, not
# every N pages: nobody waits for it, so there is no reason to let pages pile up, and a look at an
# idle database is one PRAGMA.  The part of the WAL a reader searches (frames not yet copied) stays
# at about a second of commits.
CHECKPOINT_RESET_FRAMES = 16384  # 64 MiB at 4 KiB pages
# When, after the PASSIVE, the WAL holds this many frames, a RESTART: under a steady stream of
# commits the checkpoint beside the writers never finds the WAL fully copied when a writer begins,
# so SQLite never starts it again from the beginning and it grows by every commit.  The RESTART
# takes this process's writer lock (the group commit waits on a Python lock, woken at once, not in
# SQLite's busy handler that sleeps in steps) and SQLite's, copies the frames since the PASSIVE,
# waits at most CHECKPOINT_RESET_BUSY_MS for readers of older snapshots, and the next commit writes
# the WAL from its start, into the same file (no new blocks on the commit path).  The one moment
# commits wait: a few ms every CHECKPOINT_RESET_FRAMES frames; a reader still there: retried a
# second later.
CHECKPOINT_RESET_BUSY_MS = 20
# A checkpoint SQLite refuses as busy (SQLITE_BUSY: another connection's write transaction held
# its lock past CHECKPOINT_RESET_BUSY_MS, or another process's checkpoint ran) is tried again at
# the next look and not logged: it is the normal case beside writers that do not take this
# process's writer lock (another process, a session of its own).  Refused this long without a
# break (the WAL then grows by every commit), it is logged as an outage.
CHECKPOINT_BUSY_LOG_AFTER = 60.0
CHECKPOINT_TRUNCATE_BYTES = 4 * CHECKPOINT_RESET_FRAMES * 4096
# The WAL file past this (readers held old snapshots through many RESTART attempts): a TRUNCATE
# instead, which also gives the file's space back.  Several processes on one file (the API, the
# jobs, the CLI) each run a checkpointer: SQLite lets one checkpoint run at a time (the others get
# SQLITE_BUSY at once and try again a second later), and a checkpoint from any connection is safe.


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL, None for PostgreSQL and in-memory databases."""
    if not url.startswith("sqlite"):
        return None
    path, _, query = (url.split("///", 1)[-1] if "///" in url else "").partition("?")
    if not path or path == ":memory:" or path.startswith("file::memory:") or "mode=memory" in query:
        return None
    return path


def make_engine(url: str, wal_autocheckpoint: bool = True, **kw) -> Engine:
    """``wal_autocheckpoint=False``: SQLite's automatic checkpoint is off on every connection
    (for a Database, which checkpoints on its own thread)."""
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
            if not wal_autocheckpoint:
                cur.execute("PRAGMA wal_autocheckpoint=0")
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
        path = sqlite_file(url)
        self.engine = make_engine(url, wal_autocheckpoint=path is None, **kw)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        self._write = sessionmaker(writer, expire_on_commit=False)
        self._lock = threading.Lock() if self.is_sqlite else None
        self._batcher = _GroupCommitter(self) if self.is_sqlite and group_commit else None
        self._checkpointer = _Checkpointer(path, self._lock) if path is not None and self._lock else None

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
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
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


def _busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY (or SQLITE_LOCKED): the lock was held; nothing is wrong with the file."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "database is locked" in str(exc)


class _Checkpointer:
    """The WAL checkpoints of one SQLite file, on a thread with its own connection (the
    constants above say when and why).  A failure is logged (one line per
    ``hotline.log.OUTAGE_LOG_INTERVAL`` while it lasts) and tried again at the next look; the
    thread never stops on one, and a failed checkpoint holds no lock a commit waits for."""

    def __init__(self, path: str, writer_lock: threading.Lock):
        self.path, self.writer_lock = path, writer_lock
        self.interval = CHECKPOINT_INTERVAL
        self.reset_frames, self.reset_busy_ms = CHECKPOINT_RESET_FRAMES, CHECKPOINT_RESET_BUSY_MS
        self.truncate_bytes = CHECKPOINT_TRUNCATE_BYTES
        self.busy_log_after = CHECKPOINT_BUSY_LOG_AFTER
        self.busy_since: float | None = None  # monotonic time of the first of the busy refusals in a row
        self.outage = Outage(log, "wal checkpoint")
        self.con: sqlite3.Connection | None = None
        self.seen_version: int | None = None
        self.pending = True  # frames the last checkpoint left (or not looked yet)
        self.last: tuple[str, int, int, int] | None = None  # (mode, busy, log, checkpointed), for tests
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="wal-checkpoint", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=10)

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.tick()
                    self.outage.up()
                    self.busy_since = None
                except sqlite3.OperationalError as exc:
                    if not _busy(exc):
                        self.outage.down(exc)
                        self._close()
                        continue
                    now = time.monotonic()
                    self.busy_since = now if self.busy_since is None else self.busy_since
                    self.pending = True
                    if now - self.busy_since >= self.busy_log_after:
                        self.outage.down(exc)
                except Exception as exc:  # noqa: BLE001 - logged, tried again at the next look
                    self.outage.down(exc)
                    self._close()
        finally:
            self._close()

    def _close(self) -> None:
        if self.con is not None:
            try:
                self.con.close()
            except sqlite3.Error:
                pass
            self.con, self.seen_version = None, None

    def tick(self) -> None:
        """One look: a PASSIVE checkpoint when something was committed since the last one, then a
        RESTART (or TRUNCATE) when the WAL is past its bound."""
        if self.con is None:
            # timeout=0: a PASSIVE checkpoint never waits; the RESTART sets its own short wait
            self.con = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        version = self.con.execute("PRAGMA data_version").fetchone()[0]
        if version == self.seen_version and not self.pending:
            return
        self.seen_version = version
        busy, frames, done = self._checkpoint("PASSIVE")
        self.pending = bool(busy) or done < frames
        if frames < self.reset_frames:
            return
        try:
            size = os.path.getsize(self.path + "-wal")
        except OSError:
            size = 0
        mode = "TRUNCATE" if size > self.truncate_bytes else "RESTART"
        self.con.execute(f"PRAGMA busy_timeout={int(self.reset_busy_ms)}")
        try:
            with self.writer_lock:
                busy, frames, done = self._checkpoint(mode)
        finally:
            self.con.execute("PRAGMA busy_timeout=0")
        self.pending = bool(busy) or done < frames

    def _checkpoint(self, mode: str) -> tuple[int, int, int]:
        assert self.con is not None
        busy, frames, done = self.con.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        self.last = (mode, busy, frames, done)
        return busy, frames, done
