"""The FastAGI server speaks AGI correctly and survives peers that go away."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from agi import routing
from agi.server import AGIClosed, FastAGIServer, parse_env, parse_response, read_response
from agi.service import NoMap, initial_map, make_state
from agi.service import run as service_run
from hotline.settings import PROJECT_ROOT, Settings

ENV = [
    "agi_network: yes",
    "agi_network_script: route?dialed=12349&x=1",
    "agi_request: agi://127.0.0.1:4573/route?dialed=12349&x=1",
    "agi_channel: PJSIP/pstn-00000001",
    "agi_uniqueid: 1700000000.1",
    "agi_callerid: 13800138000",
    "agi_calleridname: 张三",
    "agi_extension: 12349",
    "agi_arg_1: extra",
]


def test_parse_env_strips_query_string_and_passes_arguments():
    env, script, args = parse_env(ENV)
    assert script == "route"
    assert args["dialed"] == "12349" and args["x"] == "1"
    assert args["agi_arg_1"] == "extra"
    assert env["agi_calleridname"] == "张三"


def test_parse_response():
    r = parse_response("200 result=1 (timeout) endpos=1234")
    assert (r.code, r.result, r.data) == (200, 1, "timeout")
    assert parse_response("200 result=-1").result == -1
    assert parse_response("510 Invalid or unknown command").code == 510
    with pytest.raises(ValueError):
        parse_response("garbage")


async def _server(handlers):
    server = FastAGIServer(handlers, {})
    srv = await server.serve("127.0.0.1", 0)
    return server, srv, srv.sockets[0].getsockname()[1]


async def test_route_like_handler_sets_variables_in_one_round_trip():
    seen = {}

    async def handler(session):
        seen["dialed"], seen["caller"] = session.dialed, session.caller
        await session.set_variables({"HOTLINE_KIND": "queue", "__HOTLINE_DEPT": "市民政局,一科"})

    server, srv, port = await _server({"route": handler})
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(("\n".join(ENV) + "\n\n").encode())
    cmd = (await reader.readline()).decode()
    assert cmd.startswith("EXEC MSet ")
    assert "HOTLINE_KIND=queue" in cmd and "__HOTLINE_DEPT=市民政局\\\\,一科" in cmd
    writer.write(b"200 result=0\n")
    assert await reader.read() == b""  # handler done, server closed
    assert seen == {"dialed": "12349", "caller": "13800138000"}
    srv.close()


async def test_asynchronous_hangup_line_is_understood():
    async def handler(session):
        resp = await session.command("ANSWER")
        session.state["resp"] = resp

    server, srv, port = await _server({"route": handler})
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(("\n".join(ENV) + "\n\n").encode())
    await reader.readline()
    writer.write(b"HANGUP\n200 result=0\n")
    await reader.read()
    assert server.state["resp"].code == 200
    srv.close()


async def test_peer_closing_early_ends_the_session_without_spinning():
    started = asyncio.Event()

    async def handler(session):
        started.set()
        await session.command("ANSWER")  # the peer never answers: it closes

    server, srv, port = await _server({"route": handler})
    # 1) closes in the middle of the environment
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"agi_network: yes\nagi_network_script: route\n")
    w.close()
    # 2) closes while a command waits for its answer
    r2, w2 = await asyncio.open_connection("127.0.0.1", port)
    w2.write(("\n".join(ENV) + "\n\n").encode())
    await started.wait()
    await r2.readline()
    cpu0 = time.process_time()
    w2.close()
    await asyncio.sleep(0.3)
    assert time.process_time() - cpu0 < 0.1  # no busy loop on a dead socket
    assert server.errors == 0
    srv.close()


async def test_unknown_script_is_refused_politely():
    server, srv, port = await _server({})
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"agi_network_script: nosuch\n\n")
    line = await r.readline()
    assert line.startswith(b"VERBOSE")
    w.write(b"200 result=1\n")
    assert await r.read() == b""
    srv.close()


async def test_many_concurrent_sessions():
    async def handler(session):
        await session.set_variables({"A": session.args.get("n", "")})

    server, srv, port = await _server({"route": handler})

    async def one(n):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(f"agi_network_script: route?n={n}\n\n".encode())
        line = await r.readline()
        w.write(b"200 result=0\n")
        await r.read()
        w.close()
        return line.decode()

    lines = await asyncio.gather(*(one(n) for n in range(200)))
    assert all(f"A={n}" in line for n, line in enumerate(lines))
    assert server.sessions == 200 and server.errors == 0
    srv.close()


def test_agiclosed_is_an_exception():
    assert issubclass(AGIClosed, Exception)


def _reader(text: str) -> asyncio.StreamReader:
    r = asyncio.StreamReader()
    r.feed_data(text.encode())
    r.feed_eof()
    return r


async def test_100_trying_is_skipped_and_the_answer_read():
    resp = await read_response(_reader("100 result=0 Trying...\n200 result=1\n"))
    assert (resp.code, resp.result) == (200, 1)


async def test_multi_line_520_usage_is_read_whole():
    text = (
        "520-Invalid command syntax.  Proper usage follows:\n"
        "Usage: EXEC <application> <options>\n"
        "   Executes application with given options.\n"
        "520 End of proper usage.\n"
        "200 result=0\n"
    )
    reader = _reader(text)
    resp = await read_response(reader)
    assert resp.code == 520 and "Usage: EXEC" in resp.rest and "Executes application" in resp.rest
    # the reader is left at the next answer: nothing of the usage text leaks into it
    assert (await read_response(reader)).code == 200


async def test_a_truncated_520_is_a_closed_session_not_a_hang():
    with pytest.raises(AGIClosed):
        await read_response(_reader("520-Invalid command syntax.\nUsage: EXEC\n"))


async def test_hangup_notice_then_dead_channel():
    with pytest.raises(AGIClosed, match="dead"):
        await read_response(_reader("HANGUP\n511 Command Not Permitted on a dead channel\n"))


def test_the_service_serves_the_last_accepted_map_when_the_file_is_refused(tmp_path, caplog):
    good = (PROJECT_ROOT / "transfer_map.yaml").read_text(encoding="utf-8")
    s = Settings.from_env({}, home=tmp_path, transfer_map=tmp_path / "transfer_map.yaml")
    s.transfer_map.write_text(good.replace('  - number: "12336"', '  - number: "12349"', 1), encoding="utf-8")
    with pytest.raises(NoMap, match="static dialplan takes the calls"):
        initial_map(s)  # refused, and nothing accepted yet
    s.accepted_map.write_text(good, encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        tmap = initial_map(s)
    assert tmap.line("12349") is not None and routing.decide("110", None, tmap).kind == "hangup"
    assert "serving the last accepted transfer map" in caplog.text
    assert any("duplicate number 12349" in str(r.__dict__) for r in caplog.records)  # the problems are logged
    state = make_state(s)
    s.transfer_map.write_text(good, encoding="utf-8")
    state["reload"]()
    assert state["tmap"] is not tmap  # a good file is taken on reload
    s.transfer_map.write_text("version: 1\nlines: [\n", encoding="utf-8")
    kept = state["tmap"]
    state["reload"]()
    assert state["tmap"] is kept  # a refused reload keeps the last good map


def test_agi_service_exits_without_listening_when_no_map_can_be_served(tmp_path, capsys):
    s = Settings.from_env({}, home=tmp_path, transfer_map=tmp_path / "missing.yaml")

    class Args:
        port = None

    assert service_run(Args, s) == 2
    assert "static dialplan takes the calls" in capsys.readouterr().err
