"""The certificates of the agents' browser softphones (SIP over WSS).

Generated at set-up with ``openssl``, never committed: a local certificate
authority of this installation and, signed by it, a server certificate for
the bind address, 127.0.0.1 and ``localhost``.  They live in the state
directory (``<home>/tls``): keys mode 0600.  Asterisk's HTTPS server gets a
copy of the server certificate and key in its instance (``<lib>/keys``).

An agent's browser trusts ``ca.crt`` once (docs/softphone.md); a new server
certificate from the same CA needs nothing more.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CA_DAYS = 3650
SERVER_DAYS = 397  # what browsers accept for a server certificate
RENEW_SECONDS = 30 * 86400  # a server certificate that expires within 30 days is renewed
# where Asterisk's HTTPS server reads them, under the instance's lib directory (http.conf.j2)
ASTERISK_KEYS = "keys"
ASTERISK_CERT = "hotline-wss.crt"
ASTERISK_KEY = "hotline-wss.key"
CA_SUBJECT = "/O=12345 hotline platform/CN=12345 hotline local CA"
SERVER_SUBJECT = "/O=12345 hotline platform/CN=localhost"


class TLSError(RuntimeError):
    """The certificates could not be made."""


@dataclass(frozen=True)
class TLSFiles:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"


def subject_alt_names(bind: str) -> list[str]:
    """SAN entries of the server certificate: the bind address, 127.0.0.1, ::1, localhost."""
    ips = {"127.0.0.1", "::1"}
    try:
        ips.add(str(ipaddress.ip_address(bind)))
    except ValueError as exc:
        raise TLSError(f"bind address {bind!r} is not an IP address") from exc
    return ["DNS:localhost"] + [f"IP:{ip}" for ip in sorted(ips)]


def _openssl(*args: str) -> str:
    exe = shutil.which("openssl")
    if exe is None:
        raise TLSError("openssl not found: install the Debian package openssl (hotline setup does)")
    r = subprocess.run([exe, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise TLSError(f"openssl {args[0]} failed: {r.stderr.strip()[-500:]}")
    return r.stdout


def _new_key(path: Path) -> None:
    """An EC P-256 private key, created with mode 0600 (never readable by others, even briefly)."""
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        os.chmod(tmp, 0o700)
        out = Path(tmp) / "key.pem"
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(out))
        os.chmod(out, 0o600)
        out.replace(path)


def _valid(cert: Path, ca: Path, sans: list[str]) -> bool:
    """The certificate is signed by ``ca``, names every SAN and is good for RENEW_SECONDS more."""
    if not cert.exists() or not ca.exists():
        return False
    try:
        _openssl("verify", "-CAfile", str(ca), str(cert))
        _openssl("x509", "-in", str(cert), "-noout", "-checkend", str(RENEW_SECONDS))
        names = _openssl("x509", "-in", str(cert), "-noout", "-ext", "subjectAltName") if sans else ""
    except TLSError:
        return False
    have = {n.strip().replace("IP Address:", "IP:").lower() for line in names.splitlines()[1:] for n in line.split(",")}
    return all(_canonical(s) in have for s in sans)


def _canonical(san: str) -> str:
    kind, _, value = san.partition(":")
    if kind == "IP":  # openssl prints IPv6 expanded and upper case: 0:0:0:0:0:0:0:1
        ip = ipaddress.ip_address(value)
        value = ":".join(part.lstrip("0") or "0" for part in ip.exploded.split(":")) if ip.version == 6 else str(ip)
    return f"{kind}:{value}".lower()


def state_dir(home: Path) -> Path:
    """Where the CA and the server certificate live: ``<home>/tls``."""
    return Path(home) / "tls"


def ensure_certificates(directory: Path, bind: str = "127.0.0.1") -> TLSFiles:
    """Make what is missing or stale: the CA once, the server certificate when needed."""
    files = TLSFiles(directory)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    sans = subject_alt_names(bind)
    if not files.ca_key.exists() or not _valid(files.ca_cert, files.ca_cert, []):
        _new_key(files.ca_key)
        _openssl(
            "req",
            "-x509",
            "-new",
            "-key",
            str(files.ca_key),
            "-sha256",
            "-days",
            str(CA_DAYS),
            "-subj",
            CA_SUBJECT,
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            str(files.ca_cert),
        )
        files.server_cert.unlink(missing_ok=True)
    if files.server_key.exists() and _valid(files.server_cert, files.ca_cert, sans):
        return files
    _new_key(files.server_key)
    _openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        str(files.server_key),
        "-CA",
        str(files.ca_cert),
        "-CAkey",
        str(files.ca_key),
        "-sha256",
        "-days",
        str(SERVER_DAYS),
        "-subj",
        SERVER_SUBJECT,
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "keyUsage=critical,digitalSignature",
        "-addext",
        "extendedKeyUsage=serverAuth",
        "-addext",
        "subjectAltName=" + ",".join(sans),
        "-out",
        str(files.server_cert),
    )
    if not _valid(files.server_cert, files.ca_cert, sans):
        raise TLSError(f"the new server certificate {files.server_cert} does not verify against {files.ca_cert}")
    return files


def install_for_asterisk(files: TLSFiles, keys_dir: Path) -> None:
    """Copy the server certificate and key where Asterisk's HTTPS server reads them (http.conf)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    for src, name in ((files.server_cert, ASTERISK_CERT), (files.server_key, ASTERISK_KEY)):
        dst = keys_dir / name
        tmp = keys_dir / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(src.read_bytes())
        tmp.replace(dst)
