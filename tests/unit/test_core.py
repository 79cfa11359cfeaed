"""Core pieces: masking, secrets, settings, positioned YAML, deterministic rendering."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest

from asterisk_conf.render import AstPaths
from deploy.configure import render_instance
from hotline.log import JsonFormatter, event, mask_number, mask_text
from hotline.secrets import ensure_sip_password, load_secrets
from hotline.settings import Settings
from hotline.transfer_map import load_map_for
from hotline.yamlsrc import ConfigError, loads


def test_mask_number():
    assert mask_number("13812345678") == "138****5678"
    assert mask_number("031012345678") == "031*****5678"
    assert mask_number("12345") == "1***5"
    assert mask_number("") == ""
    assert mask_text("call from 13812345678 to 12345") == "call from 138****5678 to 12345"


def test_json_log_masks_caller_fields():
    logger = logging.getLogger("t")
    rec = logger.makeRecord(
        "t",
        logging.INFO,
        __file__,
        1,
        "route 13812345678",
        (),
        None,
        extra={"fields": {"caller": "13812345678", "dialed": "12345"}},
    )
    out = json.loads(JsonFormatter().format(rec))
    assert out["caller"] == "138****5678" and out["dialed"] == "12345"
    assert "13812345678" not in out["msg"]
    assert callable(event)


def test_secrets_are_generated_private_and_stable(tmp_path):
    path = tmp_path / "secrets.json"
    a = load_secrets(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(a["ami_secret"]) >= 24 and a["ami_secret"] != load_secrets(tmp_path / "other.json")["ami_secret"]
    assert load_secrets(path) == a
    pw = ensure_sip_password(path, "1001")
    assert ensure_sip_password(path, "1001") == pw
    assert set(a["api_tokens"]) >= {"agent", "dispatcher", "department", "supervisor", "admin"}


def test_settings_from_env():
    s = Settings.from_env({"HOTLINE_AGI_PORT": "4600", "HOTLINE_BIND": "127.0.0.2", "HOTLINE_HOME": "/x"})
    assert s.agi_port == 4600 and s.bind == "127.0.0.2" and str(s.home) == "/x"
    assert Settings().bind == "127.0.0.1"
    assert s.database_url == "sqlite:////x/hotline.db"


def test_yaml_positions_and_errors():
    data, src = loads("a: 1\nlines:\n  - number: '12349'\n    mode: bogus\n", "m.yaml")
    assert str(src.problem(("lines", 0, "mode"), "unknown mode")) == "m.yaml:4:5: unknown mode"
    with pytest.raises(ConfigError) as e:
        loads("a: 1\na: 2\n", "d.yaml")
    assert "d.yaml:2:1: duplicate key" in str(e.value)
    with pytest.raises(ConfigError) as e:
        loads("a: [1\n", "s.yaml")
    assert str(e.value).startswith("s.yaml:")


def _render(tmp_path):
    s = Settings(home=tmp_path)
    secrets = load_secrets(s.secrets_file)
    return render_instance(
        s,
        secrets,
        AstPaths.under("/srv/hotline/x"),
        load_map_for(s),
        agents=[{"name": "1001", "password": "pw", "skills": {}}],
    )


def test_render_is_deterministic_and_complete(tmp_path):
    a, b = _render(tmp_path), _render(tmp_path)
    assert a == b
    for name in (
        "pjsip.conf",
        "extensions.conf",
        "queues.conf",
        "manager.conf",
        "ari.conf",
        "http.conf",
        "modules.conf",
    ):
        assert name in a
    assert "chan_sip" not in a["modules.conf"].replace("no chan_sip", "")
    assert "autoload = no" in a["modules.conf"]
    for name in ("manager.conf", "http.conf", "pjsip.conf"):
        assert "127.0.0.1" in a[name]
    secrets = load_secrets(tmp_path / "secrets.json")
    assert secrets["ami_secret"] in a["manager.conf"] and secrets["ari_password"] in a["ari.conf"]


def test_platform_refuses_ports_already_in_use(tmp_path):
    import socket

    from deploy.platform import Platform

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        others = dict.fromkeys(  # port 0: always free
            ("sip_agent_port", "sip_trunk_port", "http_port", "wss_port", "agi_port", "api_port", "redis_port"), 0
        )
        p = Platform(Settings(home=tmp_path, ami_port=port, **others))
        busy = p.busy_ports()
        assert busy == [f"AMI 127.0.0.1:{port}"]
        with pytest.raises(RuntimeError, match="already in use"):
            p.start()


def _grab_passwords(path: str, start: int, n: int, out) -> None:
    for i in range(start, start + n):
        out.put((f"e{i}", ensure_sip_password(Path(path), f"e{i}")))


def test_secrets_written_by_many_processes_at_once_stay_whole(tmp_path):
    """Processes generating secrets together: one consistent file, no secret lost or changed."""
    import multiprocessing

    path = tmp_path / "secrets.json"
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_grab_passwords, args=(str(path), k * 20, 20, q)) for k in range(4)]
    for p in procs:
        p.start()
    got = dict(q.get(timeout=30) for _ in range(80))
    for p in procs:
        p.join(10)
        assert p.exitcode == 0
    data = json.loads(path.read_text())
    assert data["sip"] == got  # every password any process handed out is the stored one
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".secrets.json.")]  # no temp file left
