"""kill -9 during a burst of creates: every acknowledged create is there, nothing is partial."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import httpx

from hotline.secrets import load_secrets


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kill_9_during_creates_loses_nothing_acknowledged(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "HOTLINE_HOME": str(tmp_path),
        "HOTLINE_API_PORT": str(port),
        "HOTLINE_BIND": "127.0.0.1",
        "HOTLINE_LOG_LEVEL": "WARNING",
    }
    token = load_secrets(tmp_path / "secrets.json")["api_tokens"]["agent"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/v1/departments", headers=headers, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "API did not come up"
            time.sleep(0.1)

        acked: list[tuple[int, str, str]] = []
        lock = threading.Lock()
        stop = threading.Event()

        def client(n: int):
            with httpx.Client(base_url=base, headers=headers, timeout=5) as c:
                i = 0
                while not stop.is_set():
                    i += 1
                    content = f"压力测试 client{n} 第{i}单 " + "内容" * 50
                    try:
                        r = c.post(
                            "/api/v1/orders",
                            json={"type": "consult", "content": content, "caller_phone": "13800000000", "accept": True},
                        )
                    except httpx.HTTPError:
                        return  # the server died mid-request: not acknowledged
                    if r.status_code == 201:
                        with lock:
                            acked.append((r.json()["id"], r.json()["number"], content))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        os.kill(proc.pid, signal.SIGKILL)  # mid-burst
        proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()

    assert len(acked) > 20, f"only {len(acked)} creates acknowledged before the kill"
    db = sqlite3.connect(tmp_path / "hotline.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = {r[0]: r[1:] for r in db.execute("SELECT id, number, content, status, version FROM orders")}
        for oid, number, content in acked:
            assert oid in rows, f"acknowledged order {oid} lost"
            assert rows[oid][:3] == (number, content, "accepted")
        # nothing partial: every order has its history and its outbox event, and vice versa
        hist = {r[0] for r in db.execute("SELECT order_id FROM transitions WHERE action = 'create'")}
        acc = {r[0] for r in db.execute("SELECT order_id FROM transitions WHERE action = 'accept'")}
        box = {r[0] for r in db.execute("SELECT order_id FROM outbox WHERE kind = 'order.created'")}
        fts = {r[0] for r in db.execute("SELECT rowid FROM orders_fts")}
        assert set(rows) == hist == acc == box == fts
        numbers = [r[0] for r in rows.values()]
        assert len(set(numbers)) == len(numbers)
    finally:
        db.close()
