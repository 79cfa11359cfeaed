"""Debian packages the platform needs, installed only when missing."""

from __future__ import annotations

import shutil
import subprocess
import sys

# command that proves the package is there -> Debian package
NEEDED = {
    "sipp": "sip-tester",
    "redis-server": "redis-server",
    "espeak-ng": "espeak-ng",
    "sox": "sox",
    "mmdebstrap": "mmdebstrap",
    "openssl": "openssl",  # the browser softphones' certificates (deploy/tls.py)
    "npm": "npm",  # builds the browser softphone's SIP library (deploy/softphone.py)
}
TEST_NEEDED = {
    "/usr/lib/postgresql": "postgresql",
    # the pages' browser tests (tests/web/test_browser.py): Debian's Chromium, never a downloaded browser
    "/usr/bin/chromium": "chromium",
    "/usr/bin/chromedriver": "chromium-driver",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc": "fonts-wqy-microhei",  # Chinese text in the screenshots
    # the scale-out test (tests/e2e/test_kamailio.py): Kamailio's dispatcher in front of two Asterisk nodes
    "/usr/sbin/kamailio": "kamailio",
    "ip": "iproute2",  # the two-level test's network namespaces (tests/e2e/netns.py)
}
# Debian starts a package's service on install; the tests run their own Kamailio on their own
# address, never the package's default one listening on every interface
NO_SERVICE = {"kamailio": "kamailio.service"}

_updated = False


def missing(table: dict[str, str]) -> list[str]:
    out = []
    for probe, pkg in table.items():
        present = shutil.os.path.exists(probe) if probe.startswith("/") else shutil.which(probe)
        if not present:
            out.append(pkg)
    return out


def apt_install(packages: list[str]) -> None:
    global _updated
    if not packages:
        return
    print(f"[hotline] installing Debian packages: {' '.join(packages)}", file=sys.stderr, flush=True)
    env = {**shutil.os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _updated:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        _updated = True
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], check=True, env=env)


def ensure(tests: bool = False) -> None:
    need = missing(NEEDED) + (missing(TEST_NEEDED) if tests else [])
    apt_install(need)
    units = [NO_SERVICE[p] for p in need if p in NO_SERVICE]
    if units and shutil.which("systemctl") and shutil.os.path.isdir("/run/systemd/system"):
        subprocess.run(["systemctl", "disable", "--now", *units], check=False, capture_output=True)
