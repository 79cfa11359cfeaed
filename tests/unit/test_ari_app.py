"""The thin ARI adapter: argument parsing, lag, shedding decisions, RTP, and dispatch
against a recording stand-in for the REST side (no Asterisk here; the e2e tests use the real one)."""

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from ari_apps import app as A
from ari_apps import flow as F
from ari_apps.ari import event_lag, parse_args
from ari_apps.callback import estimate_wait
from ari_apps.speech import be_to_le16, grammar_json, rtp_payload

ROOT = Path(__file__).resolve().parents[2]


def test_parse_args():
    assert parse_args([], "12345") == ("12345", None, {})  # the hotline's flow when none is named
    assert parse_args([], "12346") == ("12346", None, {})
    assert parse_args(["survey", "linkedid=1.2", "HOTLINE_QUEUE=q"], "12345") == (
        "survey",
        None,
        {"linkedid": "1.2", "HOTLINE_QUEUE": "q"},
    )
    assert parse_args(["12345:progress_number"], "12345") == ("12345", "progress_number", {})
    assert parse_args(["linkedid=9"], "12345") == ("12345", None, {"linkedid": "9"})


def test_event_lag():
    now = datetime(2026, 11, 23, 23, 10, 2, 500000, tzinfo=UTC)
    assert event_lag({"timestamp": "2026-11-23T23:10:01.000+0000"}, now) == 1.5
    assert event_lag({}, now) == 0.0
    assert event_lag({"timestamp": "garbage"}, now) == 0.0


def test_overloaded_with_hysteresis():
    cap = A.Capacity(max_calls=100, max_event_lag=0.5, max_loop_lag=0.25, resume_ratio=0.7)
    assert not A.overloaded(cap, 99, 0.1, 0.0, False)
    assert A.overloaded(cap, 100, 0.1, 0.0, False)
    assert A.overloaded(cap, 10, 0.6, 0.0, False)
    assert A.overloaded(cap, 10, 0.0, 0.3, False)
    # while shedding, resume only well below the limits
    assert A.overloaded(cap, 80, 0.1, 0.0, True)
    assert not A.overloaded(cap, 60, 0.1, 0.0, True)


def test_rtp_payload_and_byte_order():
    hdr = bytes([0x80, 118]) + (1).to_bytes(2, "big") + (160).to_bytes(4, "big") + (7).to_bytes(4, "big")
    assert rtp_payload(hdr + b"\x01\x02\x03\x04") == b"\x01\x02\x03\x04"
    # with one CSRC and padding of 2
    hdr2 = bytes([0xA1, 118]) + hdr[2:] + b"\0\0\0\1"
    assert rtp_payload(hdr2 + b"\x01\x02\x00\x02") == b"\x01\x02"
    assert rtp_payload(b"\x00" * 20) == b""
    assert be_to_le16(b"\x01\x02\x03\x04\x05") == b"\x02\x01\x04\x03"


def test_grammar_keeps_chinese():
    g = grammar_json(["查询进度", "人工"])
    assert "查询进度" in g and json.loads(g) == ["查询进度", "人工", "[unk]"]


def test_estimate_wait():
    assert estimate_wait(0, 2, 180) == 90
    assert estimate_wait(5, 3, 60) == 120
    assert estimate_wait(0, 0, 60) == 3600


class FakeAri:
    """Records REST calls; events are fed by the test."""

    app = "hotline-ivr"

    def __init__(self):
        self.calls = []
        self.connected = asyncio.Event()
        self.connected.set()

    async def post(self, path, ok_missing=False, **params):
        self.calls.append(("POST", path, params))
        return {"id": "x"}

    async def delete(self, path, ok_missing=True, **params):
        self.calls.append(("DELETE", path, params))

    async def get(self, path, **params):
        self.calls.append(("GET", path, params))
        return []

    async def request(self, method, path, params=None, json_body=None, ok_missing=False, missing=None):
        self.calls.append((method, path, params))


def _start(cid, args):
    return {
        "type": "StasisStart",
        "channel": {"id": cid, "name": "PJSIP/pstn-1", "caller": {"number": "13800138000"}},
        "args": args,
    }


async def test_call_runs_the_flow_and_sheds_over_capacity():
    flows = F.load_dir(ROOT / "ivr_flows")
    ari = FakeAri()

    class P(A.Prompts):
        def uri(self, name, text):
            return "sound:/s/" + name

    app = A.IvrApp(ari, flows, prompts=P(None, None), capacity=A.Capacity(max_calls=1))
    app.dispatch(_start("c1", ["12345", "linkedid=L1", "HOTLINE_PRIORITY=0"]))
    await asyncio.sleep(0.05)
    post = [c for c in ari.calls if c[0] == "POST"]
    assert post[0][1] == "/channels/c1/play/c1-p1" and post[0][2]["media"] == "sound:/s/ivr-12345-greet"
    # a second call while one is in flight: over capacity -> the dialplan fallback, not the flow
    app.dispatch(_start("c2", ["12345"]))
    await asyncio.sleep(0.05)
    assert (
        "POST",
        "/channels/c2/continue",
        {"context": A.FALLBACK_CONTEXT, "extension": "s", "priority": 1},
    ) in ari.calls
    assert ("POST", "/asterisk/variable", {"variable": "HOTLINE_IVR_UNTIL", "value": "0"}) in ari.calls
    assert app.stats["shed"] == 1 and "c2" not in app.calls
    # caller presses 0: queue via the dialplan with queue, priority, after-flow in the extension
    app.dispatch({"type": "ChannelDtmfReceived", "digit": "0", "channel": {"id": "c1"}})
    await asyncio.sleep(0.05)
    assert ("DELETE", "/playbacks/c1-p1", {}) in ari.calls
    assert (
        "POST",
        "/channels/c1/continue",
        {"context": "hotline-ivr-queue", "extension": "q-hotline-0-survey", "priority": 1},
    ) in ari.calls
    assert "c1" not in app.calls
    # helper channels of our own (speech) are never treated as calls
    app.dispatch(_start("s1", ["hotline-internal"]))
    assert "s1" not in app.calls


async def test_unknown_flow_goes_to_fallback_and_hangup_ends_task():
    flows = F.load_dir(ROOT / "ivr_flows")
    ari = FakeAri()
    app = A.IvrApp(ari, flows)
    app.dispatch(_start("c9", ["nosuchflow"]))
    await asyncio.sleep(0.05)
    assert ari.calls[-1][1] == "/channels/c9/continue" and "c9" not in app.calls
    app.dispatch(_start("c10", ["survey", "linkedid=L"]))
    await asyncio.sleep(0.05)
    assert "c10" in app.calls
    app.dispatch({"type": "StasisEnd", "channel": {"id": "c10"}})
    await asyncio.sleep(0.05)
    assert "c10" not in app.calls


async def test_rest_pool_keeps_alive_decodes_chunked_and_retries_a_closed_connection():
    from ari_apps.ari import Ari

    seen = []

    async def handle(reader, writer):
        n = 0
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = await reader.readexactly(length) if length else b""
            first = head.split(b"\r\n")[0].decode()
            seen.append((first, body, b"authorization: basic" in head.lower()))
            n += 1
            if "/chunked" in first:
                writer.write(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n')
            elif "/missing" in first:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}")
            else:
                writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"ok":true}')
            await writer.drain()
            if n == 2:  # drop the kept-alive connection after two requests
                writer.close()
                break

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ari = Ari("127.0.0.1", port, "u", "p", "app")
    try:
        assert await ari.get("/x", a="1,2") == {"ok": True}
        assert await ari.get("/chunked") == {"a": 1}
        # the server closed that connection: the pool retries on a fresh one
        assert await ari.request("POST", "/y", json_body={"variables": {"K": "V"}}) == {"ok": True}
        assert await ari.delete("/missing") is None
    finally:
        await ari.close()
        server.close()
    assert seen[0][0] == "GET /ari/x?a=1%2C2 HTTP/1.1" and seen[0][2]
    assert seen[2][0] == "POST /ari/y HTTP/1.1" and json.loads(seen[2][1]) == {"variables": {"K": "V"}}


async def test_events_reconnect_after_the_websocket_drops():
    import websockets

    from ari_apps.ari import Ari

    connections = []

    async def handler(ws):
        connections.append(ws.request.path if hasattr(ws, "request") else "")
        await ws.send(json.dumps({"type": "Ping", "n": len(connections)}))
        await ws.close()  # Asterisk drops us

    server = await websockets.serve(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ari = Ari("127.0.0.1", port, "u", "p w", "hotline-ivr")
    connects = []

    async def on_connect():
        connects.append(1)

    got = []
    try:

        async def consume():
            async for ev in ari.events(on_connect=on_connect, max_backoff=0.05):
                got.append(ev["n"])
                if len(got) == 3:
                    return

        await asyncio.wait_for(consume(), 10)
    finally:
        server.close()
        await ari.close()
    assert got == [1, 2, 3] and len(connects) == 3 and ari.reconnects >= 2
    assert "app=hotline-ivr" in connections[0] and "api_key=u:p%20w" in connections[0]


async def test_resync_sends_unknown_calls_in_stasis_to_the_fallback_and_forgets_gone_ones():
    flows = F.load_dir(ROOT / "ivr_flows")
    ari = FakeAri()

    async def channels(path, **params):
        ari.calls.append(("GET", path, params))
        return [
            {"id": "old", "name": "PJSIP/pstn-9", "dialplan": {"app_name": "Stasis", "app_data": "hotline-ivr,12345"}},
            {"id": "snoop", "name": "Snoop/x", "dialplan": {"app_name": "Stasis", "app_data": "hotline-ivr,x"}},
            {"id": "other", "name": "PJSIP/1001-1", "dialplan": {"app_name": "Queue", "app_data": "hotline"}},
        ]

    ari.get = channels
    app = A.IvrApp(ari, flows)
    app.dispatch(_start("tracked", ["survey"]))
    await asyncio.sleep(0.05)
    assert "tracked" in app.calls
    await app.resync()
    await asyncio.sleep(0.05)
    assert (
        "POST",
        "/channels/old/continue",
        {"context": A.FALLBACK_CONTEXT, "extension": "s", "priority": 1},
    ) in ari.calls
    assert not any(c[1].startswith(("/channels/snoop", "/channels/other")) for c in ari.calls)
    assert "tracked" not in app.calls  # no longer in Stasis: its task ended


async def test_hot_prompts_are_made_ahead_once_by_content_hash():
    from ari_apps.engine_text import hot_answer_text, hot_menu_text, say_name

    flows = F.load_dir(ROOT / "ivr_flows")
    made = []

    class P(A.Prompts):
        def uri(self, name, text):
            if name not in self.cache:
                made.append((name, text))
                self.cache[name] = "sound:/s/" + name
            return self.cache[name]

    items = [{"id": 7, "version": 1, "title": "社保卡补办", "body": "携带身份证办理。"}]

    class Store:
        async def kb_hot(self, limit):
            assert limit == 5  # the largest limit of the flows' hot nodes
            return "ok", items

    app = A.IvrApp(FakeAri(), flows, store=Store(), prompts=P(None, None))
    assert await app.warm_hot() == 2
    menu, answer = hot_menu_text(["社保卡补办"], agent=True), hot_answer_text(items[0])
    assert made == [(say_name(menu), menu), (say_name(answer), answer)]
    assert await app.warm_hot() == 0  # nothing new: nothing made
    # a Play of those texts finds them made
    assert await app.prompt_uris(((say_name(answer), answer),)) == ["sound:/s/" + say_name(answer)]
