"""Real HTTP servers on a free loopback port for the tests of the platform's HTTP clients
(hotline.http_pool): uvicorn in a thread serving an ASGI app, either the real API
(tests/workorder/conftest.py's ``make_api``) or :func:`json_app`, a handler's canned answers."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
