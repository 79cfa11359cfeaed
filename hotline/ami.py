"""The AMI client of the platform: one module, two ways to use it.

- :func:`manager`: an asyncio :class:`LeanManager` (panoramisk's Manager: login, re-login,
  Ping, actions) for the long-running consumers (statistics, hand-off), with a reader of our
  own (:class:`LeanAMIProtocol`): bytes split into whole messages before they are decoded, only
  the events a callback wants parsed, into plain dicts.  It costs a fraction of panoramisk's
  parser per event (``bench/bench_consumers.py``) and keeps multi-byte characters split across
  reads, which panoramisk 1.4 loses.
- :func:`connect`: a blocking :class:`AMIConnection` for one-shot work
  (``hotline reload``, the CLI, the end-to-end tests): send an action, get its
  answer (and list events).  It reads bytes and decodes whole messages, so
  characters split across reads are kept too.

Both log in with the generated credentials of the instance (:func:`credentials`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from hotline.log import Outage


class LeanAMIProtocol(AMIProtocol):  # type: ignore[misc]  # panoramisk ships no types
    """The consumers' AMI reader: bytes split on the blank line, each message decoded whole (so
    a multi-byte character split across TCP reads is kept: panoramisk 1.4 decodes every chunk on
    its own with errors ignored, ``CallerIDName: 张三`` arriving as ``三``), events parsed into a
    plain ``dict`` (:func:`parse_message`) and handed to :meth:`LeanManager.dispatch` -- only
    those some callback wants.  Responses to our actions, and the events of a listing (with
    our ``ActionID``), take panoramisk's own path (its ``Message``, the action's future)."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.version: str | None = None  # the banner's protocol version (panoramisk's attribute)
        self._buf = b""
        self._resume: asyncio.TimerHandle | None = None
        self.reads = 0  # data_received calls (the wake-ups this connection cost)

    def data_received(self, data: bytes) -> None:
        self.reads += 1
        buf = self._buf + data if self._buf else data
        if b"\r\n\r\n" in buf:
            *blocks, self._buf = buf.split(b"\r\n\r\n")
            for raw in blocks:
                self._message(raw.decode("utf-8", "replace"))
        else:
            self._buf = buf
        self._rest()

    def _rest(self) -> None:
        """With the manager's ``read_every`` set and no action waiting for its answer: stop
        reading for that long, so that the events of the next moments come in one read rather
        than a wake-up each (Asterisk writes every event on its own; at 30 calls/s a consumer
        woke ~400 times a second, most of its CPU).  The kernel keeps the bytes meanwhile."""
        every = getattr(self.factory, "read_every", 0.0)
        if not every or self.responses or self.closed or self._resume is not None:
            return
        self.transport.pause_reading()
        self._resume = asyncio.get_running_loop().call_later(every, self._wake)

    def _wake(self) -> None:
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
            if not self.closed:
                self.transport.resume_reading()

    def send(self, data: Any, as_list: bool = False) -> Any:
        """panoramisk's send; reading resumes at once, so an answer is never held back."""
        future = super().send(data, as_list=as_list)
        self._wake()
        return future

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        super().connection_lost(exc)

    def _message(self, text: str) -> None:
        if text.startswith("Event: ") and "\r\nActionID: " not in text:
            end = text.find("\r\n")
            name = text[7:end] if end >= 0 else text[7:]
            if self.factory.wants(name):
                picks = self.factory.picks.get(name)
                self.factory.dispatch(parse_message(text) if picks is None else pick_headers(text, name, picks))
            if name == "Shutdown":  # Asterisk is stopping: reconnect (as panoramisk does)
                self.connection_lost(None)
            return
        if FIRE_ID in text:  # answers and listings only: the answer to a fire(), which nobody awaits
            return
        text = text.strip()
        if self.version is None and text.startswith("Asterisk Call Manager/"):
            self.version = text.partition("\r\n")[0].partition("/")[2].strip()
        message = Message.from_line(text)
        if message is not None:
            self.handle_message(message)


# the ActionID prefix of the actions nobody waits an answer for (LeanManager.fire)
FIRE_ID = "\r\nActionID: fire-"


class LeanManager(Manager):  # type: ignore[misc]
    """panoramisk's Manager (login, re-login, Ping, actions and their answers) with a dispatch of
    its own: callbacks by exact event name (or ``"*"``), called with the event as a plain dict.

    ``reads``: event name -> the headers the callbacks read of it (``Event`` always comes); such
    an event is handed over with those headers only (:func:`pick_headers`, about half the cost
    of parsing it whole), the others whole (:func:`parse_message`)."""

    def __init__(self, read_every: float = 0.0, reads: dict[str, tuple[str, ...]] | None = None, **config: Any) -> None:
        self.by_name: dict[str, list[Callable[..., Any]]] = {}
        self.picks = picks_of(reads or {})
        self.every: list[Callable[..., Any]] = []
        # seconds the reader rests after a read while no action awaits its answer (0: never);
        # events then reach the callbacks up to that much later, in bursts (LeanAMIProtocol._rest)
        self.read_every = read_every
        self._fired: list[bytes] = []  # actions fired in this turn of the loop (fire)
        self.fired = 0
        super().__init__(**config)

    def fire(self, action: dict[str, str]) -> bool:
        """Send ``action`` without waiting for its answer (the reader drops it unparsed): no
        future, no wake-up of a resting reader, and the actions fired in one turn of the loop
        go in one write.  For actions whose failure changes nothing the caller would do (the
        hand-off's ``Setvar`` of the order number: a channel gone meanwhile has no use for it).
        False when not connected (the action is not sent)."""
        proto = self.protocol
        if proto is None or proto.closed:
            return False
        if not self._fired:
            asyncio.get_running_loop().call_soon(self._fire_out)
        self.fired += 1
        self._fired.append(_format({**action, "ActionID": f"fire-{self.fired}"}))
        return True

    def _fire_out(self) -> None:
        data, self._fired = b"".join(self._fired), []
        proto = self.protocol
        if data and proto is not None and not proto.closed:
            proto.transport.write(data)

    def register_event(self, pattern: str, callback: Callable[..., Any] | None = None) -> Any:
        if callback is None:
            return lambda cb: self.register_event(pattern, cb)
        if pattern == "*":
            self.every.append(callback)
        elif any(c in pattern for c in "*?["):
            raise ValueError(f"AMI event callbacks are by exact name or '*', not {pattern!r}")
        else:
            self.by_name.setdefault(pattern, []).append(callback)
        return callback

    def wants(self, name: str) -> bool:
        return bool(self.every) or name in self.by_name

    def dispatch(self, event: Any) -> None:
        if not isinstance(event, dict):  # an event that took panoramisk's path
            event = dict(event.items())
        for callback in (*self.by_name.get(event.get("Event", ""), ()), *self.every):
            ret = callback(self, event)
            if ret is not None and (asyncio.iscoroutine(ret) or isinstance(ret, asyncio.Future)):
                asyncio.ensure_future(ret)


def credentials(settings: Any, secrets: dict[str, Any]) -> tuple[str, int, str, str]:
    """(host, port, user, secret) of this instance's AMI."""
    return settings.bind, int(settings.ami_port), str(secrets["ami_user"]), str(secrets["ami_secret"])


def consumer_user(secrets: dict[str, Any], consumer: str) -> str:
    """The AMI user name of one long-running consumer (``hotline.secrets.AMI_CONSUMERS``)."""
    return f"{secrets['ami_user']}-{consumer}"


def consumer_credentials(settings: Any, secrets: dict[str, Any], consumer: str) -> tuple[str, int, str, str]:
    """(host, port, user, secret) of one consumer's AMI user: its manager.conf section
    filters the events Asterisk sends it."""
    host, port, _, _ = credentials(settings, secrets)
    return host, port, consumer_user(secrets, consumer), str(secrets["ami_consumers"][consumer])


def manager(settings: Any, secrets: dict[str, Any], consumer: str | None = None, **kwargs: Any) -> LeanManager:
    """A :class:`LeanManager` for this instance's AMI (not yet connected); ``consumer``: log in
    as that consumer's own user (see :func:`consumer_credentials`).  Event callbacks get plain
    dicts, by exact event name or ``"*"``."""
    if consumer is None:
        host, port, user, secret = credentials(settings, secrets)
    else:
        host, port, user, secret = consumer_credentials(settings, secrets, consumer)
    config: dict[str, Any] = dict(
        host=host,
        port=port,
        username=user,
        secret=secret,
        encoding="utf-8",
        protocol_factory=LeanAMIProtocol,
        ping_delay=10,
        reconnect_timeout=1,
    )
    config.update(kwargs)
    return LeanManager(**config)


def watch(
    mgr: Manager,
    logger: logging.Logger,
    on_login: Callable[[Manager], None],
    on_lost: Callable[[], None] | None = None,
) -> Outage:
    """A long-running consumer's view of its AMI connection: ``on_login(mgr)`` after every
    re-login (panoramisk reconnects every ``reconnect_timeout`` s by itself), and the outage
    in ``logger`` as :class:`hotline.log.Outage` lines (``Asterisk AMI unavailable`` when the
    connection drops, ``Asterisk AMI back`` at the next login) instead of panoramisk's own
    line per failed attempt and its tracebacks.  ``on_lost()`` when the connection drops."""
    outage = Outage(logger, "Asterisk AMI")
    logging.getLogger("panoramisk").setLevel(logging.CRITICAL)

    def lost(_mgr: Manager, exc: BaseException | None) -> None:
        outage.down(exc if exc is not None else "connection closed")
        if on_lost is not None:
            on_lost()

    def logged_in(m: Manager) -> None:
        outage.up()
        on_login(m)

    mgr.on_disconnect = lost
    mgr.on_login = logged_in
    return outage


# --- blocking: one action, its answer --------------------------------------------


def _format(action: dict[str, Any]) -> bytes:
    lines: list[str] = []
    for key, value in action.items():
        if isinstance(value, (list, tuple)):
            lines.extend(f"{key}: {v}" for v in value)
        else:
            lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def parse_message(block: str) -> dict[str, Any]:
    """One AMI message (its lines, without the blank line) -> its headers as a dict; a header
    that comes more than once -> the list of its values; lines that are no header -> ``_output``.
    (~12 us for a 530-byte event here: ``dict(line.split(": ", 1) ...)`` is no faster.)"""
    msg: dict[str, Any] = {}
    for line in block.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            if line.strip():
                msg.setdefault("_output", []).append(line)
            continue
        prev = msg.get(key)
        if prev is None:
            msg[key] = value
        elif type(prev) is list:
            prev.append(value)
        else:
            msg[key] = [prev, value]
    return msg


def _picks(headers: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    names = dict.fromkeys(h for h in headers if h != "Event")  # Event comes first, with no CRLF before it
    return tuple((h, f"\r\n{h}: ") for h in names)


def picks_of(reads: dict[str, tuple[str, ...]]) -> dict[str, tuple[tuple[str, str], ...]]:
    """``reads`` (event name -> the headers read of it) as :func:`pick_headers` takes them."""
    return {name: _picks(headers) for name, headers in reads.items()}


def pick_headers(block: str, event: str, picks: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """An event's ``Event`` and those of its headers ``picks`` names (:func:`_picks`), as
    :func:`parse_message` would give them -- for a header that comes once (a repeated one: its
    first value).  A header's line is found by its name between CRLF and ": ", which no value
    contains (values end at the CRLF)."""
    msg: dict[str, Any] = {"Event": event}
    find = block.find
    for key, mark in picks:
        i = find(mark)
        if i >= 0:
            i += len(mark)
            j = find("\r\n", i)
            msg[key] = block[i:j] if j >= 0 else block[i:]
    return msg


class AMIConnection:
    """One logged-in AMI connection; ``events=True`` also receives events."""

    _ids = itertools.count(1)

    def __init__(self, host: str, port: int, user: str, secret: str, events: bool | str = False, timeout: float = 10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.lock = threading.Lock()
        banner = self._read_line()
        if not banner.startswith("Asterisk Call Manager"):
            raise ConnectionError(f"not AMI: {banner!r}")
        resp = self.action({"Action": "Login", "Username": user, "Secret": secret, "Events": _event_mask(events)})
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

    def read_message(self) -> dict[str, Any]:
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("AMI closed")
            self.buf += chunk
        block, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return parse_message(block.decode("utf-8", "replace"))

    def action(self, action: dict[str, Any], timeout: float = 10) -> list[dict[str, Any]]:
        """Send an action; return its response, then any list events up to the *Complete one."""
        action = dict(action)
        action_id = action.setdefault("ActionID", f"h{next(self._ids)}")
        with self.lock:
            self.sock.sendall(_format(action))
            out: list[dict[str, Any]] = []
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

    def send(self, action: dict[str, Any]) -> str:
        """Send an action without waiting; returns its ActionID.  The answer arrives through
        :meth:`read_message` (with the events), for a caller that reads everything itself."""
        action = dict(action)
        action_id = str(action.setdefault("ActionID", f"h{next(self._ids)}"))
        with self.lock:
            self.sock.sendall(_format(action))
        return action_id

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


def _event_mask(events: bool | str) -> str:
    """Login's Events: True all, False none, or a class list such as ``"user"`` (UserEvent only)."""
    if isinstance(events, str):
        return events
    return "on" if events else "off"


def connect(settings: Any, secrets: dict[str, Any], events: bool | str = False) -> AMIConnection:
    """A logged-in blocking connection to this instance's AMI (``events``: see :func:`_event_mask`)."""
    host, port, user, secret = credentials(settings, secrets)
    return AMIConnection(host, port, user, secret, events=events)
