"""A Redis server from the distribution, one per instance."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path


class RedisServer:
    def __init__(self, port: int, data_dir: Path, bind: str = "127.0.0.1"):
        self.port, self.data_dir, self.bind = port, Path(data_dir), bind
        self.proc: subprocess.Popen | None = None

    def argv(self) -> list[str]:
        """The command line of this instance's redis-server (also the systemd unit's ExecStart)."""
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        return [
            exe,
            "--port",
            str(self.port),
            "--bind",
            self.bind,
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--save",
            "60 1",
            "--protected-mode",
            "yes",
            "--logfile",
            str(self.data_dir / "redis.log"),
            "--daemonize",
            "no",
        ]

    def start(self, timeout: float = 15) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            self.argv(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {self.data_dir}/redis.log")
            try:
                with socket.create_connection((self.bind, self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not answer in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None
