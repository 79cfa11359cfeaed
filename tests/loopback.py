"""Real servers on a free loopback port for the tests: HTTP for the platform's HTTP clients
(hotline.http_pool), uvicorn in a thread serving an ASGI app, either the real API
(tests/workorder/conftest.py's ``make_api``) or :func:`json_app`, a handler's canned answers;
and a throw-away redis-server (:func:`redis_server`)."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def redis_server(port: int, folder: Path) -> Iterator[int]:
    """A redis-server on 127.0.0.1:``port`` (nothing saved, working in ``folder``), answering
    PING when the block starts, stopped when it ends; the test is skipped without redis-server."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    try:
        with redis.Redis(port=port) as r:
            for _ in range(200):
                try:
                    r.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.02)
            else:
                raise RuntimeError(f"redis-server on port {port} did not answer")
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def serve_app(app) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 until the block ends -> its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Request:
    def __init__(self, method: str, url: str, headers: dict[str, str], content: bytes):
        self.method, self.url, self.headers, self.content = method, url, headers, content


def json_app(handler: Callable[[Request], tuple[int, object]]):
    """An ASGI app answering each request with ``handler(request)`` -> (status, a JSON body)."""

    async def app(scope, receive, send) -> None:
        assert scope["type"] == "http"
        content = b""
        while True:
            msg = await receive()
            content += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        host, port = scope["server"]
        query = scope["query_string"].decode()
        url = f"http://{host}:{port}{scope['path']}" + (f"?{query}" if query else "")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        status, body = handler(Request(scope["method"], url, headers, content))
        raw = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    return app
