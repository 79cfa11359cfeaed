"""A tiny blocking AMI client for the CLI and the tests.

The services use panoramisk (``hotline.ami``); command-line tools and test
code that just need "send this action, give me the answer" use this.  Reads
are decoded as a byte stream, so multi-byte characters split across TCP
reads are kept.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time


def _format(action: dict) -> bytes:
    lines = []
    for key, value in action.items():
        if isinstance(value, (list, tuple)):
            lines.extend(f"{key}: {v}" for v in value)
        else:
            lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def parse_message(block: str) -> dict:
    msg: dict = {}
    for line in block.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            if line.strip():
                msg.setdefault("_output", []).append(line)
            continue
        if key in msg:
            prev = msg[key]
            msg[key] = (prev if isinstance(prev, list) else [prev]) + [value]
        else:
            msg[key] = value
    return msg


class AMIConnection:
    """One logged-in AMI connection; ``events=True`` also receives events."""

    _ids = itertools.count(1)

    def __init__(self, host: str, port: int, user: str, secret: str, events: bool = False,
                 timeout: float = 10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.lock = threading.Lock()
        banner = self._read_line()
        if not banner.startswith("Asterisk Call Manager"):
            raise ConnectionError(f"not AMI: {banner!r}")
        resp = self.action({"Action": "Login", "Username": user, "Secret": secret,
                            "Events": "on" if events else "off"})
        if resp[0].get("Response") != "Success":
            raise PermissionError(f"AMI login refused: {resp[0].get('Message')}")

    def _read_line(self) -> str:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("AMI closed")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line.decode("utf-8", "replace")

    def read_message(self) -> dict:
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("AMI closed")
            self.buf += chunk
        block, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return parse_message(block.decode("utf-8", "replace"))

    def action(self, action: dict, timeout: float = 10) -> list[dict]:
        """Send an action; return its response, then any list events up to the *Complete one."""
        action = dict(action)
        action_id = action.setdefault("ActionID", f"h{next(self._ids)}")
        with self.lock:
            self.sock.sendall(_format(action))
            out: list[dict] = []
            deadline = time.monotonic() + timeout
            self.sock.settimeout(timeout)
            listing = False
            while time.monotonic() < deadline:
                msg = self.read_message()
                if msg.get("ActionID") != action_id:
                    continue
                out.append(msg)
                if "Response" in msg:
                    listing = msg.get("EventList") == "start" or "will follow" in msg.get("Message", "")
                    if not listing:
                        return out
                elif msg.get("EventList") == "Complete" or msg.get("Event", "").endswith("Complete"):
                    return out
            raise TimeoutError(f"no complete answer to {action.get('Action')}")

    def command(self, cmd: str) -> str:
        resp = self.action({"Action": "Command", "Command": cmd})[0]
        out = resp.get("Output", resp.get("_output", []))
        return "\n".join(out) if isinstance(out, list) else str(out)

    def close(self) -> None:
        try:
            self.sock.sendall(_format({"Action": "Logoff"}))
        except OSError:
            pass
        self.sock.close()


def connect(settings, secrets: dict, events: bool = False) -> AMIConnection:
    return AMIConnection(settings.bind, settings.ami_port, secrets["ami_user"], secrets["ami_secret"],
                         events=events)
