"""Two network namespaces joined by a veth pair, for the two-level test (tests/e2e/test_twolevel.py).

    hl-city  198.18.0.1/30  hl-city0 <==veth==> hl-prov0  198.18.0.2/30  hl-prov

198.18.0.0/15 is the benchmarking range (RFC 2544): it is not routed anywhere.
The blackhole route for 198.18.0.0/24 goes in first, in the host's namespace,
so that nothing addressed to it can leave the machine even when a namespace is
missing.  A whole platform runs in each namespace: :func:`inside` moves the
calling thread into one (``setns(2)``), so the processes it starts (Asterisk in
its chroot, Redis, the services, SIPp) and the sockets it opens live there.
Python 3.11 has no ``os.setns``: libc's is called through ctypes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import time
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
RANGE = "198.18.0.0/24"  # this test's part of 198.18.0.0/15 (others use other /24s)
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsUnavailable(RuntimeError):
    pass


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=15)
    if check and r.returncode != 0:
        raise NetnsUnavailable(f"`ip {' '.join(args)}` failed ({r.returncode}): {r.stderr.strip()}")
    return r


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def inside(name: str) -> Iterator[None]:
    """Run the block (this thread, and what it starts) in network namespace ``name``."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


class Pair:
    """The two namespaces; :meth:`cut` and :meth:`restore` take the link down and up."""

    def __init__(self, a: str = "hl-city", b: str = "hl-prov", addr_a: str = "198.18.0.1", addr_b: str = "198.18.0.2"):
        self.a, self.b, self.addr_a, self.addr_b = a, b, addr_a, addr_b
        self.dev_a, self.dev_b = f"{a}0", f"{b}0"
        self.blackhole = False

    def up(self) -> Pair:
        if os.geteuid() != 0:
            raise NetnsUnavailable(f"network namespaces need root (euid {os.geteuid()}); CI runs as root")
        r = ip("route", "add", "blackhole", RANGE, check=False)
        if r.returncode != 0 and "File exists" not in r.stderr:
            raise NetnsUnavailable(f"`ip route add blackhole {RANGE}` failed: {r.stderr.strip()}")
        self.blackhole = r.returncode == 0
        for ns in (self.a, self.b):  # left over by a killed run
            ip("netns", "del", ns, check=False)
        ip("netns", "add", self.a)
        ip("netns", "add", self.b)
        ip("link", "add", self.dev_a, "netns", self.a, "type", "veth", "peer", "name", self.dev_b, "netns", self.b)
        for ns, dev, addr in ((self.a, self.dev_a, self.addr_a), (self.b, self.dev_b, self.addr_b)):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "addr", "add", f"{addr}/30", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
        self.wait_link()
        return self

    def wait_link(self, timeout: float = 10) -> None:
        """Until both ends of the veth pair have carrier (LOWER_UP) and are UP."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = [ip("-n", ns, "-o", "link", "show", "dev", dev).stdout for ns, dev in self._ends()]
            if all("LOWER_UP" in s and "state UP" in s for s in states):
                return
            time.sleep(0.1)
        raise NetnsUnavailable(f"the link {self.dev_a} <-> {self.dev_b} did not come up")

    def _ends(self) -> tuple[tuple[str, str], tuple[str, str]]:
        return (self.a, self.dev_a), (self.b, self.dev_b)

    def cut(self) -> None:
        ip("-n", self.a, "link", "set", self.dev_a, "down")

    def restore(self) -> None:
        ip("-n", self.a, "link", "set", self.dev_a, "up")
        self.wait_link()

    def down(self) -> None:
        for ns in (self.a, self.b):
            ip("netns", "del", ns, check=False)  # takes the veth pair with it
        if self.blackhole:
            ip("route", "del", "blackhole", RANGE, check=False)
