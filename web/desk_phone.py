"""The agent desktop's telephone: the browser softphone's registration, and the
transfer targets the desktop offers (blind or attended).

The softphone registers the agent's WebRTC endpoint ``webrtc-<extension>``
(asterisk_conf/templates/pjsip_webrtc.conf.j2) over WSS to the Asterisk of the
page's own host; its password is the agent's SIP password (the secrets file),
handed only to that agent's session.

Transfer targets are what the agents' dialplan context can dial
(extensions_agents.conf.j2 includes hotline-transfer): every line of the map
that has a target trunk (department seats, a sub-center, the province
platform), the 行业专家 of the lines with ``expert_seats`` (``*8<number>``),
from the map Asterisk was last rendered with, and the supervisors
bound to a phone (``hotline user add --role supervisor --extension``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hotline.names import agent_endpoint
from hotline.secrets import ensure_sip_password
from hotline.settings import Settings, load_calendar
from hotline.transfer_map import load_map
from hotline.yamlsrc import ConfigError
from queues.config import FEATURE_CODES
from web.accounts import Account

KIND_TEXT = {
    "expert": "行业专家",
    "seats": "部门坐席",
    "subcenter": "分中心",
    "province": "省平台",
    "supervisor": "班长",
}


def softphone_config(settings: Settings, host: str, extension: str, display: str) -> dict[str, Any]:
    """What HotlineSoftphone.start() needs, without the password (GET /agent/softphone hands it)."""
    return {
        "wsUrl": f"wss://{host}:{settings.wss_port}/ws",
        "uri": f"sip:{agent_endpoint(extension, 'browser')}@{settings.bind}",
        "displayName": display or extension,
        "endpoint": agent_endpoint(extension, "browser"),
    }


def softphone_password(settings: Settings, extension: str) -> str:
    return ensure_sip_password(settings.secrets_file, extension)


def _rendered_map(settings: Settings):
    """The map the dialplan was rendered with: the last accepted one, else the file."""
    calendar = load_calendar(settings)
    for path in (Path(settings.accepted_map), Path(settings.transfer_map)):
        try:
            return load_map(path, calendar=calendar)
        except (ConfigError, OSError):
            continue
    return None


def transfer_targets(settings: Settings, accounts: list[Account]) -> list[dict[str, str]]:
    """[{number, name, kind, kind_text}] in the order the desktop lists them."""
    out: list[dict[str, str]] = []
    tmap = _rendered_map(settings)
    if tmap is not None:
        rows = []
        for ln in tmap.lines:
            trunk = tmap.target_of(ln)
            if trunk and trunk in tmap.trunks:
                kind = tmap.trunks[trunk].kind
                rows.append({"number": ln.number, "name": ln.name, "kind": kind, "kind_text": KIND_TEXT[kind]})
            if ln.expert_seats:  # the expert queue of the line's skill (extensions_routes.conf hotline-transfer)
                number = FEATURE_CODES["expert"] + ln.number
                rows.append({"number": number, "name": ln.name, "kind": "expert", "kind_text": KIND_TEXT["expert"]})
        order = list(KIND_TEXT)
        out += sorted(rows, key=lambda r: (order.index(r["kind"]), r["number"]))
    for a in accounts:
        if a.role == "supervisor" and a.active and a.extension:
            out.append({"number": a.extension, "name": a.display or a.name, "kind": "supervisor", "kind_text": "班长"})
    return out
