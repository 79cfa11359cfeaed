"""The WAL checkpoint of a SQLite file runs on the Database's own thread, not inside a commit
(workorder/db.py, ``_Checkpointer``): real SQLite files, real threads and processes, no mocks.

The engine's connections have ``wal_autocheckpoint=0``; the checkpointer copies the WAL into the
main file beside the commits (PASSIVE) and starts it again (RESTART/TRUNCATE) past its bound, so
the WAL stays bounded under a steady stream of commits with readers holding old snapshots."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import workorder.db as wdb
from workorder.db import Database, make_engine, sqlite_file

ROOT = Path(__file__).resolve().parents[2]
PAGE = 4096


def wal_size(path: Path) -> int:
    try:
        return os.path.getsize(f"{path}-wal")
    except OSError:
        return 0


def make_table(db: Database) -> None:
    with db.write() as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, who TEXT, x BLOB)"))


def insert(db: Database, size: int = 3000, who: str = "a") -> None:
    db.run(lambda s: s.execute(text("INSERT INTO t (who, x) VALUES (:w, randomblob(:n))"), {"w": who, "n": size}))


def wait_for(cond, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


@pytest.fixture
def fast(monkeypatch):
    """Small bounds and a short interval, so a test sees many checkpoints and resets."""
    monkeypatch.setattr(wdb, "CHECKPOINT_INTERVAL", 0.05)
    monkeypatch.setattr(wdb, "CHECKPOINT_RESET_FRAMES", 300)
    monkeypatch.setattr(wdb, "CHECKPOINT_TRUNCATE_BYTES", 4 * 300 * PAGE)


def test_commits_do_not_checkpoint(tmp_path, monkeypatch):
    """With the thread asleep, 1,500 pages of commits stay in the WAL: SQLite's automatic checkpoint
    (1,000 pages, inside the COMMIT that crosses the mark) is off on every engine connection."""
    monkeypatch.setattr(wdb, "CHECKPOINT_INTERVAL", 3600)
    path = tmp_path / "h.db"
    db = Database(f"sqlite:///{path}")
    try:
        make_table(db)
        with db.read() as s:
            assert s.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
        for _ in range(500):
            insert(db, 8000)  # 3 pages each
        assert wal_size(path) > 1500 * PAGE
        # the checkpointer's own look copies it all
        db._checkpointer.tick()
        mode, busy, frames, done = db._checkpointer.last
        assert (mode, busy) == ("PASSIVE", 0) and frames == done > 1500
    finally:
        db.dispose()


def test_checkpoint_follows_the_commits(tmp_path, fast):
    path = tmp_path / "h.db"
    db = Database(f"sqlite:///{path}")
    try:
        make_table(db)
        for _ in range(50):
            insert(db)
        ck = db._checkpointer
        frames = (wal_size(path) - 32) // (24 + PAGE)  # the WAL's header, then a header and a page a frame
        assert frames > 50  # the file's extent: a look may have copied part and the WAL begun again
        assert wait_for(lambda: ck.last is not None and 0 < ck.last[2] == ck.last[3])
        # the looks settle: once the last commit's frames are copied, nothing more is committed and
        # no checkpoint runs at all (one PRAGMA data_version a look); a look that copied an earlier
        # part may still be followed by the one of the last commits, hence a few tries
        end = time.monotonic() + 10
        last = ck.last
        while True:
            time.sleep(0.3)
            if ck.last is last:
                break
            assert time.monotonic() < end, "checkpoints went on with nothing committed"
            last = ck.last
        assert last[2] == last[3] > 0  # all copied
    finally:
        db.dispose()


def test_wal_stays_bounded_under_commits_and_a_reader(tmp_path, monkeypatch, fast):
    """A steady stream of commits for 4 s while a reader holds a snapshot 0.2 s out of every
    0.4: the WAL file never passes its bound (a RESTART when past the frames' bound, retried while
    the reader holds the WAL, a TRUNCATE past the file's bound), though the commits wrote many
    times that; the bound: the file's, plus what the commits add while the reader holds on."""
    monkeypatch.setattr(wdb, "CHECKPOINT_RESET_FRAMES", 100)
    monkeypatch.setattr(wdb, "CHECKPOINT_TRUNCATE_BYTES", 4 * 100 * PAGE)
    path = tmp_path / "h.db"
    db = Database(f"sqlite:///{path}")
    stop = threading.Event()
    sizes: list[int] = []
    held = []
    hold = 0.2

    def reader():
        con = sqlite3.connect(path, isolation_level=None)
        try:
            while not stop.is_set():
                con.execute("BEGIN")
                held.append(con.execute("SELECT count(*) FROM t").fetchone()[0])  # the snapshot is held
                stop.wait(hold)
                con.execute("COMMIT")
                stop.wait(hold)
        finally:
            con.close()

    def watch():
        while not stop.is_set():
            sizes.append(wal_size(path))
            time.sleep(0.002)

    try:
        make_table(db)
        threads = [threading.Thread(target=reader), threading.Thread(target=watch)]
        for t in threads:
            t.start()
        commits, took = 0, 4.0
        end = time.monotonic() + took
        while time.monotonic() < end:
            insert(db, 8000)
            commits += 1
        stop.set()
        for t in threads:
            t.join()
    finally:
        stop.set()
        db.dispose()
    per_s = commits * 3 * (PAGE + 24) / took  # WAL bytes a second: at least 3 frames a commit
    bound = wdb.CHECKPOINT_TRUNCATE_BYTES + per_s * (hold + 3 * wdb.CHECKPOINT_INTERVAL)
    assert len(held) >= 5, "the reader held a snapshot several times"
    assert per_s * took > 4 * bound, f"only {commits} commits: the stream did not test the bound"
    assert max(sizes) <= bound, f"WAL reached {max(sizes)} bytes (bound {bound:.0f}, {per_s * took:.0f} written)"


def test_a_commit_does_not_wait_for_a_checkpoint(tmp_path, monkeypatch):
    """A PASSIVE checkpoint of a large WAL (about 120 MB of pages, copied and synced into the main
    file) is running on the checkpointer's connection while a commit is made: the commit is
    durable long before the checkpoint ends."""
    monkeypatch.setattr(wdb, "CHECKPOINT_INTERVAL", 3600)  # only the test's own tick
    monkeypatch.setattr(wdb, "CHECKPOINT_RESET_FRAMES", 10**9)  # the PASSIVE alone
    path = tmp_path / "h.db"
    db = Database(f"sqlite:///{path}")
    keep = sqlite3.connect(path, isolation_level=None)  # keeps the WAL from the last-close checkpoint
    try:
        make_table(db)
        with db.write() as s:
            s.execute(
                text(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000) "
                    "INSERT INTO t (who, x) SELECT 'big', randomblob(3500) FROM n"
                )
            )
        keep.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the pages exist in the main file
        with db.write() as s:  # ... and the WAL holds a new version of each: ~30,000 frames to copy
            s.execute(text("UPDATE t SET x = randomblob(3500)"))
        assert wal_size(path) > 100_000_000
        os.sync()

        ck = db._checkpointer
        started, took = threading.Event(), []

        def checkpoint():
            started.set()
            t0 = time.perf_counter()
            ck.tick()
            took.append(time.perf_counter() - t0)

        th = threading.Thread(target=checkpoint)
        th.start()
        started.wait()
        time.sleep(0.01)  # the checkpoint under way (its PRAGMA releases the GIL)
        t0 = time.perf_counter()
        insert(db, 100, who="during")
        commit = time.perf_counter() - t0
        during = th.is_alive()
        th.join()
        assert ck.last[0] == "PASSIVE" and ck.last[3] >= 30000
        assert during, f"the checkpoint ({took[0]:.3f} s) ended before the commit ({commit:.3f} s)"
        assert commit < took[0] / 2
        print(f"checkpoint {took[0]:.3f} s, the commit during it {commit * 1000:.1f} ms")
        with db.read() as s:
            assert s.execute(text("SELECT count(*) FROM t WHERE who = 'during'")).scalar() == 1
    finally:
        keep.close()
        db.dispose()


def test_dispose_stops_the_thread(tmp_path, fast):
    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    make_table(db)
    insert(db)
    ck = db._checkpointer
    assert ck.thread.is_alive() and ck.thread.name == "wal-checkpoint"
    assert wait_for(lambda: ck.con is not None)
    db.dispose()
    assert not ck.thread.is_alive()
    assert ck.con is None
    assert db._checkpointer is None
    assert ck.thread not in threading.enumerate()


def test_a_failing_checkpoint_is_logged_once_and_retried(tmp_path, fast, caplog):
    """A checkpointer whose file cannot be opened logs one line (not one a look), keeps its
    thread, and the Database's commits go on."""
    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    broken = wdb._Checkpointer(str(tmp_path / "missing" / "dir" / "h.db"), threading.Lock())
    try:
        with caplog.at_level(logging.WARNING, logger="workorder.db"):
            make_table(db)
            for _ in range(20):
                insert(db)
                time.sleep(0.02)
            time.sleep(0.3)  # ~10 failed looks
        lines = [r for r in caplog.records if r.name == "workorder.db"]
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert lines[0].getMessage() == "wal checkpoint unavailable"
        assert "unable to open" in lines[0].fields["error"]
        assert broken.thread.is_alive()
        assert broken.outage.unlogged >= 3  # the later failures counted, not logged
        with db.read() as s:
            assert s.execute(text("SELECT count(*) FROM t")).scalar() == 20
    finally:
        broken.stop()
        db.dispose()
    assert not broken.thread.is_alive()


WRITER = """
import sys, time
sys.path.insert(0, {root!r})
import workorder.db as wdb
wdb.CHECKPOINT_INTERVAL, wdb.CHECKPOINT_RESET_FRAMES = 0.05, 100
wdb.CHECKPOINT_TRUNCATE_BYTES = 4 * 100 * 4096
from sqlalchemy import text
db = wdb.Database({url!r})
end = time.monotonic() + 3
n = 0
while time.monotonic() < end:
    db.run(lambda s: s.execute(text("INSERT INTO t (who, x) VALUES ('other', randomblob(8000))")))
    n += 1
db.dispose()
print(n)
"""


def test_two_processes_checkpoint_one_file(tmp_path, monkeypatch, fast, caplog):
    """Two processes write one file, each with its checkpointer (SQLite runs one checkpoint at a
    time; the other's PASSIVE or RESTART gets SQLITE_BUSY and tries again): every commit is
    there, nothing was logged as failed, and the WAL stayed bounded."""
    monkeypatch.setattr(wdb, "CHECKPOINT_RESET_FRAMES", 100)  # as the other process
    monkeypatch.setattr(wdb, "CHECKPOINT_TRUNCATE_BYTES", 4 * 100 * PAGE)
    path = tmp_path / "h.db"
    url = f"sqlite:///{path}"
    db = Database(url)
    make_table(db)
    other = subprocess.Popen(
        [sys.executable, "-c", WRITER.format(root=str(ROOT), url=url)], stdout=subprocess.PIPE, text=True
    )
    sizes, mine = [], 0
    try:
        with caplog.at_level(logging.WARNING, logger="workorder.db"):
            end = time.monotonic() + 3
            while time.monotonic() < end or other.poll() is None:
                insert(db, 8000, who="me")
                mine += 1
                sizes.append(wal_size(path))
        theirs = int(other.communicate(timeout=30)[0])
        assert other.returncode == 0
        assert not [r for r in caplog.records if r.name == "workorder.db"]
        with db.read() as s:
            got = dict(s.execute(text("SELECT who, count(*) FROM t GROUP BY who")).all())
        assert got == {"me": mine, "other": theirs}
        assert max(sizes) <= 2 * wdb.CHECKPOINT_TRUNCATE_BYTES
        assert (mine + theirs) * 3 * PAGE > 4 * 2 * wdb.CHECKPOINT_TRUNCATE_BYTES
    finally:
        if other.poll() is None:
            other.kill()
        db.dispose()


def test_memory_and_alembic_engines_keep_sqlites_own_checkpoint(tmp_path):
    """No checkpointer without a file (``:memory:``: nothing to copy into), so those engines keep
    SQLite's automatic checkpoint, as does make_engine's default (the migrations' engine)."""
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///file::memory:?cache=shared") is None
    assert sqlite_file("sqlite:///x.db?mode=memory&cache=shared") is None
    assert sqlite_file("postgresql+psycopg://u@h/d") is None
    assert sqlite_file("sqlite:////var/x/hotline.db") == "/var/x/hotline.db"
    assert sqlite_file("sqlite:///rel/hotline.db") == "rel/hotline.db"
    e = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with e.connect() as c:
        assert c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    e.dispose()


def checkpointers() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "wal-checkpoint")


@pytest.mark.postgres
def test_postgresql_has_no_checkpointer(pg_cluster):
    before = checkpointers()
    db = Database(pg_cluster.new_database(pg_cluster.template))
    try:
        assert db._checkpointer is None
        assert checkpointers() == before
        with db.read() as s:
            assert s.execute(text("SELECT 1")).scalar() == 1
    finally:
        db.dispose()


def _lock_out(path: Path) -> sqlite3.Connection:
    """A WAL file, and a connection that holds it locked for itself (``locking_mode=EXCLUSIVE``)
    until it is closed: another connection's reads get SQLITE_BUSY ("database is locked"), as a
    checkpointer's did while the bench's other connections opened a copied file."""
    con = sqlite3.connect(path, isolation_level=None, timeout=5)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY)")
    con.execute("PRAGMA locking_mode=EXCLUSIVE")
    con.execute("BEGIN EXCLUSIVE")
    con.execute("INSERT INTO t DEFAULT VALUES")
    con.execute("COMMIT")
    return con


def test_a_checkpoint_refused_as_busy_is_retried_quietly_and_logged_only_when_it_lasts(tmp_path, fast, caplog):
    """The file is locked by another connection: each look gets SQLITE_BUSY.  Tried again at the
    next look and not logged while it is short, and the checkpoints go on once the lock is gone;
    refused for longer than CHECKPOINT_BUSY_LOG_AFTER, it is one logged outage, and "back"
    when it ends."""
    with caplog.at_level(logging.INFO, logger="workorder.db"):
        other = _lock_out(tmp_path / "a.db")
        ck = wdb._Checkpointer(str(tmp_path / "a.db"), threading.Lock())
        try:
            assert wait_for(lambda: ck.busy_since is not None, 5)
            time.sleep(0.3)  # ~6 looks refused, well under the minute
            assert ck.thread.is_alive() and ck.last is None
            other.close()
            assert wait_for(lambda: ck.busy_since is None and ck.last is not None, 5)  # a checkpoint ran
        finally:
            ck.stop()
        assert not [r for r in caplog.records if r.name == "workorder.db"]

        other = _lock_out(tmp_path / "b.db")
        ck = wdb._Checkpointer(str(tmp_path / "b.db"), threading.Lock())
        ck.busy_log_after = 0.3
        try:
            assert wait_for(lambda: [r for r in caplog.records if r.name == "workorder.db"], 5)
            time.sleep(0.3)  # refused on: counted, not logged again
            other.close()
            assert wait_for(lambda: ck.busy_since is None, 5)
        finally:
            ck.stop()
    lines = [r for r in caplog.records if r.name == "workorder.db"]
    assert [r.getMessage() for r in lines] == ["wal checkpoint unavailable", "wal checkpoint back"]
    assert "locked" in lines[0].fields["error"]
