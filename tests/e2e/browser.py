"""A real browser for the end-to-end tests: Debian's Chromium driven by Selenium.

The browser itself is tests/web/browser.py's (Debian's Chromium, fake media
devices); the page's origin is a loopback HTTP server, a secure context for
getUserMedia.

    with StaticServer(directory) as base_url, Browser() as browser:
        browser.open(f"{base_url}/test.html")
        browser.run("return 1 + 1")
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import tempfile
import threading
import time
from pathlib import Path

from tests.web.browser import console, start_browser


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class StaticServer:
    """Serve one directory on 127.0.0.1 (a free port) for the browser."""

    def __init__(self, directory: Path):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True, name="static-http")

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Browser:
    """One headless Chromium with fake media devices and an empty profile (tests/web/browser.py)."""

    def __init__(self):
        self.profile = Path(tempfile.mkdtemp(prefix="hotline-chromium-"))
        self.driver = None

    def __enter__(self) -> Browser:
        self.driver = start_browser(self.profile, media=True)
        return self

    def __exit__(self, *exc) -> None:
        if self.driver is not None:
            with contextlib.suppress(Exception):
                self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, url: str) -> None:
        self.driver.get(url)

    def run(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def console(self) -> list[str]:
        return console(self.driver)

    def screenshot(self, path: Path) -> None:
        self.driver.save_screenshot(str(path))


class SoftphonePage:
    """web/static/softphone/test.html in a browser: the softphone's API and its events."""

    def __init__(self, browser: Browser, url: str):
        self.browser = browser
        self.url = url
        browser.open(url)
        if not browser.run("return !!(window.HotlineSoftphone && window.JsSIP)"):
            raise AssertionError(f"softphone scripts not loaded at {url}: {browser.console()[-5:]}")

    def call(self, method: str, *args):
        """HotlineSoftphone.<method>(*args); a JavaScript exception becomes an AssertionError."""
        return self.browser.run(
            "try { var r = window.HotlineSoftphone[arguments[0]].apply(null, arguments[1]);"
            " return {ok: true, value: r === undefined ? null : r}; }"
            " catch (e) { return {ok: false, error: String(e)}; }",
            method,
            list(args),
        )

    def ok(self, method: str, *args):
        r = self.call(method, *args)
        assert r["ok"], f"HotlineSoftphone.{method}{args}: {r['error']}"
        return r["value"]

    @property
    def state(self) -> dict:
        return self.browser.run("return window.HotlineSoftphone.state")

    def mark(self) -> int:
        return self.browser.run("return window.softphoneLog.length")

    def events(self, since: int = 0) -> list[dict]:
        return self.browser.run("return window.softphoneLog.slice(arguments[0])", since)

    def wait_for(self, name: str, since: int = 0, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events(since):
                if ev["event"] == name:
                    return ev
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no softphone:{name} within {timeout} s; events {self.events(since)}; "
                    f"console {self.browser.console()[-10:]}"
                )
            time.sleep(0.1)

    def rtp_stats(self) -> dict:
        """Packets the page's peer connection sent and received (RTCPeerConnection.getStats)."""
        return self.browser.driver.execute_async_script("""
            var done = arguments[arguments.length - 1];
            window.HotlineSoftphone.stats().then(done, function (e) { done({error: String(e)}); });
        """)
