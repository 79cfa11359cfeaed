"""Driving Debian's Chromium with Selenium (through /usr/bin/chromedriver; never a
downloaded browser): the one browser helper of the pages' browser tests and the
end-to-end ones (tests/e2e/browser.py adds the softphone's test page on top).

``start_browser(profile, media=True)`` adds Chromium's fake media devices (a
beeping tone stands in for the agent's microphone), lets WebRTC use loopback,
and accepts the WSS certificate of this installation's own CA (deploy/tls.py).

``serve(site)`` serves a test site (tests/web/conftest.py's ``make_site``) with uvicorn on a
free loopback port for the browser to open."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from hotline.settings import PROJECT_ROOT
from tests.web.conftest import PASSWORD

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1440,1000",
    "--lang=zh-CN",
)
MEDIA_FLAGS = (
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    # the platform is on loopback: let WebRTC use it, and show real addresses instead of mDNS names
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    # the WSS server's certificate comes from this installation's own CA (deploy/tls.py)
    "--ignore-certificate-errors",
)
SHOTS = PROJECT_ROOT / "docs" / "img"


@contextlib.contextmanager
def serve(site) -> Iterator[None]:
    """Serve ``site.app`` on 127.0.0.1 (``site.url``) until the block ends; then dispose of its store."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(site.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    site.url = f"http://127.0.0.1:{port}"
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(5)
        site.store.db.dispose()


def start_browser(profile: Path, media: bool = False):
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"browser tests need Debian's chromium and chromium-driver ({', '.join(missing)} missing): "
            "run ./scripts/test (it installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS + (MEDIA_FLAGS if media else ()):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")  # an empty profile per test module
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.implicitly_wait(0)
    driver.set_script_timeout(30)
    return driver


def console(driver) -> list[str]:
    """The page's console messages so far (for failure messages)."""
    try:
        return [f"{m['level']} {m['message']}" for m in driver.get_log("browser")]
    except Exception:  # noqa: BLE001 - only ever used to explain another failure
        return []


def wait_for(predicate, timeout: float = 10, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def by_id(driver, element_id: str):
    return driver.find_element(By.ID, element_id)


def text_of(driver, element_id: str) -> str:
    try:
        return by_id(driver, element_id).text
    except (NoSuchElementException, StaleElementReferenceException):  # not there (yet), or the page moved on
        return ""


def sign_in(driver, base_url: str, name: str, next_path: str = "", password: str = PASSWORD) -> None:
    driver.delete_all_cookies()
    driver.get(base_url + "/login" + (f"?next={next_path}" if next_path else ""))
    by_id(driver, "name").send_keys(name)
    by_id(driver, "password").send_keys(password)
    by_id(driver, "login").click()
    wait_for(lambda: "/login" not in driver.current_url, what=f"{name} to be signed in")


def shot(driver, role: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{role}.png"))


def no_alert(driver) -> bool:
    try:
        _ = driver.switch_to.alert
    except NoAlertPresentException:
        return True
    return False
