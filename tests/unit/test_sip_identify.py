"""Toll fraud, in the rendered PJSIP configuration: who may send Asterisk a call.

The e2e proof is tests/e2e/test_guard.py (SIPp from 127.0.0.2); this checks the
rule on every endpoint the renderer writes, for any map and agent list.
"""

from __future__ import annotations

import re
from pathlib import Path

from asterisk_conf import render as R
from deploy.configure import render_instance
from hotline.secrets import load_secrets
from hotline.settings import Settings
from hotline.transfer_map import load_map
from tests.dbutil import migrated

ROOT = Path(__file__).resolve().parents[2]


def sections(text: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for m in re.finditer(r"^\[([^\]]+)\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M):
        body = {}
        for line in m.group(2).splitlines():
            key, sep, value = line.partition("=")
            if sep and not line.lstrip().startswith(";"):
                body[key.strip()] = value.strip()
        out.append((m.group(1), body))
    return out


def test_every_endpoint_is_identified_by_address_or_authenticated(tmp_path):
    settings = migrated(Settings.from_env({}, home=tmp_path))
    agents = [{"name": "1001", "password": "pw1", "skills": {}}, {"name": "1002", "password": "pw2", "skills": {}}]
    files = render_instance(
        settings,
        load_secrets(settings.secrets_file),
        R.AstPaths.under("/srv/h"),
        load_map(ROOT / "transfer_map.yaml"),
        agents=agents,
    )
    pjsip = "\n".join(files[n] for n in ("pjsip.conf", "pjsip_trunks.conf", "pjsip_agents.conf", "pjsip_webrtc.conf"))
    all_sections = sections(pjsip)
    glob = next(body for name, body in all_sections if body.get("type") == "global")
    assert "anonymous" not in glob["endpoint_identifier_order"]  # no request is taken without an identity
    identified = {body["endpoint"] for _, body in all_sections if body.get("type") == "identify"}
    endpoints = [(name, body) for name, body in all_sections if body.get("type") == "endpoint"]
    assert "anonymous" not in {name for name, _ in endpoints}
    seen_peers, seen_agents = 0, 0
    for name, body in endpoints:
        if "auth" in body:  # an agent: digest, and never an address
            seen_agents += 1
            assert name not in identified and body.get("identify_by") == "username", name
            assert body["context"] == "agents"
        else:  # the PSTN and the trunks: by address only, never by a From user anyone can write
            seen_peers += 1
            assert name in identified and body.get("identify_by") == "ip", name
    assert seen_agents == 4 and seen_peers == 1 + len(load_map(ROOT / "transfer_map.yaml").trunks)
