"""Bad input to the FastAGI server: property tests of its parsers, and a real socket under attack.

The server is the production one (agi.server.FastAGIServer with agi.handlers and
the shipped map); the clients play Asterisk, well-behaved or not.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import threading
import time
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agi import routing, server
from agi.handlers import HANDLERS
from agi.server import AGIClosed, AGIResponse, FastAGIServer, parse_env, parse_response, quote, read_response
from agi.service import make_state
from hotline.metrics import AGI, AGI_SESSIONS
from hotline.settings import PROJECT_ROOT, Settings

BOUND = 1.0  # seconds: a well-formed session is answered within this while others attack

lines = st.lists(st.text(max_size=200), max_size=40)


@given(lines)
def test_parse_env_takes_any_lines(raw):
    env, script, args = parse_env(raw)
    assert all(k.startswith("agi_") for k in env)
    assert "?" not in script and not script.startswith("/")
    assert all(isinstance(v, str) for v in args.values())


names = st.from_regex(r"agi_[a-z_0-9]{1,20}", fullmatch=True)
values = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=80).map(str.strip)


@given(st.dictionaries(names, values, max_size=20))
def test_parse_env_round_trips_an_environment(env):
    got, _, _ = parse_env([f"{k}: {v}" for k, v in env.items()])
    assert got == env


@given(st.text(max_size=300))
def test_parse_response_answers_or_refuses(line):
    try:
        r = parse_response(line)
    except ValueError:
        return
    assert isinstance(r, AGIResponse) and 100 <= r.code <= 999


@given(st.binary(max_size=2000))
def test_read_response_over_any_bytes_answers_or_closes(data):
    async def go():
        reader = asyncio.StreamReader(limit=4096)
        reader.feed_data(data)
        reader.feed_eof()
        try:
            return await read_response(reader, timeout=1.0)
        except AGIClosed:  # includes a non-AGI answer (AGIProtocolError) and an over-long line
            return None
        except ValueError:  # an over-long line is the reader's limit
            return None

    r = asyncio.run(go())
    assert r is None or isinstance(r, AGIResponse)


@given(st.text(max_size=500))
def test_quote_never_lets_a_newline_through(value):
    q = quote(value)
    assert "\n" not in q and q.startswith('"') and q.endswith('"')


@pytest.fixture(scope="module")
def tmap():
    return make_state(Settings.from_env({}, transfer_map=PROJECT_ROOT / "transfer_map.yaml"))["tmap"]


dialed = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"[+0-9*#]{0,40}", fullmatch=True),
    st.sampled_from(["12345", "12349", "031012349", "+8631012349", "1001", "013800138000", "110", "00861234"]),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dialed)
def test_routing_never_sends_an_unknown_number_to_a_trunk(tmap, number):
    """Toll fraud at the decision: only a number of the map may Dial out (its seats, sub-center, province)."""
    r = routing.decide(number, datetime.now(tmap.calendar.tz), tmap)
    assert r.kind in ("queue", "dial", "ivr", "hangup")
    if r.kind == "dial":
        assert tmap.line(routing.canonical_number(number.strip(), tmap)) is not None


# the real server, on a real socket ---------------------------------------------------------


class Running:
    """The production FastAGI server with the shipped map, in a thread of its own."""

    def __init__(self):
        state = make_state(Settings.from_env({}, transfer_map=PROJECT_ROOT / "transfer_map.yaml"))
        self.server = FastAGIServer(HANDLERS, state)
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.srv = self.loop.run_until_complete(self.server.serve("127.0.0.1", 0))
            self.port = self.srv.sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(10)

    def stop(self):
        self.loop.call_soon_threadsafe(self.srv.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def running():
    r = Running()
    yield r
    r.stop()


def env_block(uid: int, dialed: str = "12349") -> bytes:
    env = {
        "agi_network": "yes",
        "agi_network_script": "route",
        "agi_channel": f"PJSIP/pstn-{uid:08x}",
        "agi_uniqueid": f"1700000000.{uid}",
        "agi_callerid": "13800138000",
        "agi_extension": dialed,
    }
    return ("".join(f"{k}: {v}\n" for k, v in env.items()) + "\n").encode()


def good_session(port: int, uid: int) -> float:
    """Play Asterisk for one well-formed call; seconds until the route's MSet arrived."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(env_block(uid))
        f = s.makefile("rb")
        cmd = f.readline()
        took = time.monotonic() - t0
        assert cmd.startswith(b"EXEC MSet ") and b"HOTLINE_KIND=" in cmd, cmd[:200]
        s.sendall(b"200 result=0\n")
        assert f.read() == b""  # the server closes after the answer
    return took


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=4000))
def test_any_bytes_end_the_session_and_break_nothing(running, data):
    with socket.create_connection(("127.0.0.1", running.port), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # a truncated session: nothing more comes
        s.settimeout(BOUND * 3)
        while s.recv(65536):  # the server may say one command before it sees the end
            pass
    assert running.server.errors == 0


def _stall(port: int, socks: list) -> None:
    s = socket.create_connection(("127.0.0.1", port))
    socks.append(s)


def test_garbage_oversized_truncated_and_slow_clients_never_stall_a_good_call(running, monkeypatch):
    monkeypatch.setattr(server, "ENV_TIMEOUT", 1.0)  # a stalled client is dropped sooner (production: 5 s)
    port = running.port
    before = {o: AGI_SESSIONS.labels(o)._value.get() for o in ("bad_env", "protocol", "ok")}
    socks: list[socket.socket] = []
    stop = threading.Event()
    rnd = random.Random(12345)

    def attack():
        while not stop.is_set():
            kind = rnd.choice(("random", "huge", "truncated", "stall", "slow", "bad_answer"))
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=3)
                socks.append(s)
                if kind == "random":
                    s.sendall(os.urandom(rnd.randint(1, 8000)))
                    s.close()
                elif kind == "huge":  # 1 MB with no end of environment
                    try:
                        s.sendall(b"agi_x: " + b"A" * (1 << 20))
                    except OSError:
                        pass  # the server cut it off at its limit
                    s.close()
                elif kind == "truncated":
                    s.sendall(env_block(1)[: rnd.randint(1, 60)])
                    s.close()
                elif kind == "slow":  # one byte at a time, never the end
                    for b in env_block(2)[:8]:
                        s.sendall(bytes([b]))
                        time.sleep(0.05)
                elif kind == "bad_answer":
                    s.sendall(env_block(3))
                    s.makefile("rb").readline()
                    s.sendall(b"\x00\xff garbage \xfe\n")
                    s.close()
                # "stall": connected, says nothing, stays open
            except OSError:
                pass

    attackers = [threading.Thread(target=attack, daemon=True) for _ in range(3)]
    for th in attackers:
        th.start()
    for _ in range(50):
        _stall(port, socks)
    try:
        took = [good_session(port, 1000 + i) for i in range(30)]
        time.sleep(1.5)  # the stalled ones time out meanwhile
        took += [good_session(port, 2000 + i) for i in range(10)]
    finally:
        stop.set()
        for th in attackers:
            th.join(5)
        for s in socks:
            s.close()
    assert max(took) < BOUND, f"a well-formed call waited {max(took):.3f} s"
    assert running.server.errors == 0
    after = {o: AGI_SESSIONS.labels(o)._value.get() for o in before}
    assert after["ok"] - before["ok"] >= 40
    assert after["bad_env"] > before["bad_env"] and after["protocol"] > before["protocol"]
    assert AGI.get_sample_value("hotline_agi_decision_seconds_count", {"script": "route"}) >= 40
    good_session(port, 9999)  # still up
