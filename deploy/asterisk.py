"""Find, install and run Asterisk for one platform instance.

Two ways to have Asterisk >= 20:

- a **system** Asterisk (``asterisk -V`` on the PATH) is used as it is;
- otherwise a **Debian unstable root file system** with Asterisk 22 is built
  once with ``mmdebstrap`` into the cache (``~/.cache/hotline/rootfs-sid``)
  and Asterisk runs there under ``chroot``, sharing the host's loopback.

Each instance has its own directory (config, logs, run socket, spool, astdb,
prompts).  In chroot mode it must live inside the root file system, so the
instance directory is ``<rootfs>/srv/hotline/<key>``; ``host_path`` and
``ast_path`` translate between the two views.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from asterisk_conf import prompts
from asterisk_conf.render import AstPaths
from deploy import tls
from deploy.packages import apt_install
from deploy.procs import reap
from hotline.instance import InstancePaths, call_recordings_dir, write_instance_paths

MMDEBSTRAP = [
    "mmdebstrap",
    "--variant=essential",
    '--aptopt=Acquire::Check-Valid-Until "false"',
    "--include=asterisk,asterisk-modules,asterisk-config",
    "sid",
]


def say(msg: str) -> None:
    print(f"[hotline] {msg}", file=sys.stderr, flush=True)


def system_asterisk() -> str | None:
    """Path of a system Asterisk >= 20, if there is one."""
    exe = shutil.which("asterisk")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "-V"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"Asterisk (\d+)", out)
    return exe if m and int(m.group(1)) >= 20 else None


def ensure_rootfs(cache_dir: Path) -> Path:
    """Build (once) the Debian sid root file system that carries Asterisk."""
    rootfs = cache_dir / "rootfs-sid"
    if (rootfs / "usr/sbin/asterisk").exists():
        _write_hosts(rootfs)
        return rootfs
    if not shutil.which("mmdebstrap"):
        apt_install(["mmdebstrap"])
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f"rootfs-sid.building.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    say(f"building a Debian unstable root file system with Asterisk into {rootfs} (about 30 s)")
    started = time.monotonic()
    subprocess.run(MMDEBSTRAP + [str(tmp)], check=True)
    tmp.rename(rootfs)
    say(f"root file system ready in {time.monotonic() - started:.0f} s")
    _write_hosts(rootfs)
    return rootfs


def _write_hosts(rootfs: Path) -> None:
    # Without the host's name in /etc/hosts Asterisk makes a failing DNS
    # look-up on every call and falls over at about 20 calls/s.
    name = socket.gethostname()
    want = f"127.0.0.1\tlocalhost {name}\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    hosts = rootfs / "etc/hosts"
    if not hosts.exists() or hosts.read_text() != want:
        hosts.write_text(want)
    resolv = rootfs / "etc/resolv.conf"
    if not resolv.exists():
        resolv.write_text("")


@dataclass
class Asterisk:
    """One Asterisk instance: where it lives and how to talk to it."""

    settings: object
    rootfs: Path | None  # None: system Asterisk
    exe: str = "/usr/sbin/asterisk"
    proc: subprocess.Popen | None = None

    @classmethod
    def locate(cls, settings, install: bool = True) -> Asterisk:
        exe = system_asterisk()
        if exe and not settings.force_rootfs:
            return cls(settings, None, exe)
        if install:
            return cls(settings, ensure_rootfs(settings.cache_dir))
        rootfs = settings.cache_dir / "rootfs-sid"
        return cls(settings, rootfs if rootfs.exists() else None)

    # paths ---------------------------------------------------------------
    @property
    def key(self) -> str:
        return hashlib.sha1(str(Path(self.settings.home).resolve()).encode()).hexdigest()[:12]

    @property
    def ast_root(self) -> str:
        """Instance directory as Asterisk sees it."""
        if self.rootfs is None:
            return str(Path(self.settings.home).resolve() / "asterisk")
        return f"/srv/hotline/{self.key}"

    def host_path(self, ast_path: str) -> Path:
        if self.rootfs is None:
            return Path(ast_path)
        return self.rootfs / ast_path.lstrip("/")

    @property
    def paths(self) -> AstPaths:
        return AstPaths.under(self.ast_root)

    @property
    def etc(self) -> Path:
        return self.host_path(self.paths.etc)

    @property
    def log_dir(self) -> Path:
        return self.host_path(self.paths.log)

    @property
    def sounds(self) -> Path:
        return self.host_path(self.paths.sounds)

    @property
    def control_socket(self) -> Path:
        """The instance's CLI control socket (``asterisk -r`` talks to it), on the host."""
        return self.host_path(self.paths.run) / "asterisk.ctl"

    def cli_argv(self, *args: str) -> list[str]:
        """The argv of ``asterisk <args>`` against this instance (inside the chroot when there is one)."""
        return self._cmd(*args)

    def _cmd(self, *args: str) -> list[str]:
        base = [self.exe, "-C", f"{self.paths.etc}/asterisk.conf", *args]
        return ["chroot", str(self.rootfs), *base] if self.rootfs else base

    def run_as(self) -> tuple[int, int] | None:
        """(uid, gid) Asterisk runs as, seen from the host; None: root (``asterisk_user = root``).

        In the chroot the user is the root file system's own (its Debian
        package made it); a system Asterisk uses the host's.  A missing user is
        an error, never a silent run as root."""
        user = getattr(self.settings, "asterisk_user", "asterisk")
        if user == "root":
            return None
        if self.rootfs is not None:
            _align_user(self.rootfs, user)
        found = _lookup_user(self.host_path("/etc/passwd"), user)
        if found is None:
            where = f"the root file system {self.rootfs}" if self.rootfs else "this machine"
            raise RuntimeError(
                f"no user {user!r} in {where} to run Asterisk as: create it (adduser --system {user}),"
                " or set HOTLINE_ASTERISK_USER=root to run Asterisk as root"
            )
        return found

    def daemon_argv(self) -> list[str]:
        """Asterisk in the foreground as its own user (``hotline up`` and the systemd unit)."""
        user = getattr(self.settings, "asterisk_user", "asterisk")
        as_user = [] if self.run_as() is None else ["-U", user, "-G", user]
        return self._cmd("-f", "-n", "-q", *as_user)

    def own(self) -> None:
        """Asterisk's own directories belong to its user; the rendered config (secrets
        in it) is readable by its group only."""
        ids = self.run_as()
        if ids is None:
            return
        uid, gid = ids
        for attr in ("log", "run", "spool", "lib"):
            top = self.host_path(getattr(self.paths, attr))
            for path in (top, *top.rglob("*")):
                if not path.is_symlink():
                    os.chown(path, uid, gid)
        etc = self.etc
        os.chown(etc, 0, gid)
        os.chmod(etc, 0o750)
        for f in etc.iterdir():
            if f.is_file():
                os.chown(f, 0, gid)
                os.chmod(f, 0o640)

    # lifecycle -------------------------------------------------------------
    def prepare(self) -> None:
        for attr in ("etc", "log", "run", "spool", "lib", "sounds"):
            self.host_path(getattr(self.paths, attr)).mkdir(parents=True, exist_ok=True)
        recordings = self.host_path(self.paths.spool) / "recording"
        recordings.mkdir(parents=True, exist_ok=True)  # ARI's record fails (500) without it
        calls = call_recordings_dir(self.settings, self.paths.spool)  # MixMonitor of agent calls
        self.host_path(calls).mkdir(parents=True, exist_ok=True)
        write_instance_paths(
            self.settings,
            InstancePaths(
                sounds_host=self.sounds,
                sounds_asterisk=self.paths.sounds,
                recordings_host=recordings,
                queue_log=self.log_dir / "queue_log",
                calls_host=self.host_path(calls),
                calls_asterisk=calls,
            ),
        )
        _ensure_moh(self.sounds / "moh")
        _ensure_zh_digits(self.host_path("/usr/share/asterisk/sounds/zh/digits"))
        # the HTTPS server of the browser softphones (http.conf: tlscertfile, tlsprivatekey)
        certs = tls.ensure_certificates(tls.state_dir(self.settings.home), self.settings.bind)
        tls.install_for_asterisk(certs, self.host_path(self.paths.lib) / tls.ASTERISK_KEYS)
        link = Path(self.settings.home) / "asterisk"
        if self.rootfs is not None and not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(self.host_path(self.ast_root))

    def start(self, timeout: float = 60) -> None:
        """Start in the foreground (as a child) and wait until fully booted."""
        self.prepare()
        if self.running():
            say("Asterisk of this instance already runs; stopping it first")
            self.stop()
        out = open(self.log_dir / "console.log", "ab")
        self.own()
        self.proc = subprocess.Popen(
            self.daemon_argv(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Asterisk exited with {self.proc.returncode}; see {self.log_dir}/console.log")
            if "fully booted" in self.rx("core waitfullybooted", timeout=5).lower():
                return
            time.sleep(0.2)
        raise RuntimeError("Asterisk did not boot in time")

    def rx(self, command: str, timeout: float = 15) -> str:
        """Run one CLI command over the control socket."""
        try:
            r = subprocess.run(self._cmd("-rx", command), capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return ""
        return r.stdout

    def running(self) -> bool:
        return self.control_socket.exists() and bool(self.rx("core show version", timeout=5).strip())

    def stop(self, timeout: float = 20) -> None:
        self.rx("core stop now", timeout=timeout)
        if self.proc is not None:
            reap(self.proc, timeout)
            self.proc = None


def _align_user(rootfs: Path, user: str) -> None:
    """Give the chroot's ``user`` the uid and gid of the same system user on the host.

    The root file system's Debian package numbered its user on its own (101,
    say), which on the host may be another account (postgres): files Asterisk
    owns would then belong to that account.  So the host gets a system user of
    that name (created once, no login), and the chroot's passwd and group entries
    and the files they owned take its ids."""
    try:
        host = pwd.getpwnam(user)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
            check=True,
            capture_output=True,
        )
        host = pwd.getpwnam(user)
    inside = _lookup_user(rootfs / "etc/passwd", user)
    if inside == (host.pw_uid, host.pw_gid):
        return
    say(f"giving the chroot's {user} user the host's ids ({host.pw_uid}:{host.pw_gid})")
    old_uid, old_gid = inside if inside else (None, None)
    for name, uid_field, new in (("passwd", 2, host.pw_uid), ("group", 2, host.pw_gid)):
        f = rootfs / "etc" / name
        lines = f.read_text(encoding="utf-8").splitlines()
        out = []
        for line in lines:
            parts = line.split(":")
            if parts[0] == user:
                parts[uid_field] = str(new)
                if name == "passwd":
                    parts[3] = str(host.pw_gid)
            out.append(":".join(parts))
        f.write_text("\n".join(out) + "\n", encoding="utf-8")
    if old_uid is not None:
        for path in (rootfs / "var", rootfs / "etc/asterisk", rootfs / "usr/share/asterisk"):
            for p in (path, *path.rglob("*")) if path.exists() else ():
                st = p.lstat()
                if st.st_uid == old_uid or st.st_gid == old_gid:
                    os.lchown(
                        p,
                        host.pw_uid if st.st_uid == old_uid else -1,
                        host.pw_gid if st.st_gid == old_gid else -1,
                    )


def _lookup_user(passwd: Path, user: str) -> tuple[int, int] | None:
    """(uid, gid) of ``user`` in a passwd file, or None."""
    try:
        lines = passwd.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":")
        if len(parts) >= 4 and parts[0] == user and parts[2].isdigit() and parts[3].isdigit():
            return int(parts[2]), int(parts[3])
    return None


def _ensure_moh(moh: Path) -> None:
    """Hold music: a soft generated tone unless the admin put files there."""
    moh.mkdir(parents=True, exist_ok=True)
    if any(moh.iterdir()) or not shutil.which("sox"):
        return
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            str(moh / "hold.wav"),
            "synth",
            "4",
            "sine",
            "440",
            "vol",
            "0.05",
            "fade",
            "0.5",
            "4",
            "0.5",
        ],
        check=False,
    )


def _ensure_zh_digits(digits: Path) -> None:
    """Mandarin number words where Asterisk's say.c looks for a zh channel
    (queue positions, hold times); files already there are kept."""
    if prompts.tools_available() is not None:
        say(f"espeak-ng/sox missing: numbers in announcements stay English ({prompts.tools_available()})")
        return
    want = {name: text for name, text in prompts.zh_digit_prompts().items() if not (digits / f"{name}.wav").exists()}
    if want:
        say(f"generating {len(want)} Mandarin number prompts into {digits}")
        prompts.ensure_prompts(want, digits)
