"""Loopback placeholders of the map's trunks, and the demo peers that answer them.

The shipped transfer map points its trunks (the province platform, the 12313
sub-center, the seats kept by 12350, 12320 and 12348) at loopback addresses,
``sip:127.0.0.1:5190`` to ``:5194``: placeholders for the real peers' addresses.
A trunk on loopback is a **placeholder**; ``hotline up`` says so for each one at
start-up, and ``hotline status`` shows whether SIP OPTIONS reach it.

``./scripts/run`` (``hotline up --demo-peers``) also starts the **demo peers**: a
second, minimal Asterisk from the same root file system, listening on every
placeholder address and answering like the peer would, with a greeting that
names it, so that each of the 28 legacy numbers has the outcome docs/modes.md
describes on a fresh install.  Without them nothing answers a placeholder: the
trunk is marked unavailable by its SIP OPTIONS, and its calls come back to 12345
after the caller hears why (``unreachable-<trunk>``, extensions_routes.conf).

The decisions (what is a placeholder, what is said, the peers' configuration)
are pure functions; :class:`DemoPeers` starts and stops the Asterisk.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asterisk_conf.map_context import map_context
from asterisk_conf.prompts import ensure_prompts
from asterisk_conf.render import AstPaths, write
from deploy.asterisk import Asterisk, say
from hotline.settings import Settings

DEMO_PEERS = "demo-peers"  # the process's name (hotline status) and its instance under the platform's home
GREETING_PREFIX = "demo-"  # + the trunk's name: the greeting each demo peer plays
HOLD_SECONDS = 2  # after the greeting, before the demo peer hangs up
RTP_PORTS = 400  # the peers' RTP range, just above the platform's own


@dataclass(frozen=True)
class Placeholder:
    """A trunk whose contact is on loopback."""

    trunk: str
    kind: str
    contact: str
    host: str
    port: int
    label: str  # what the peer is called (its description up to the first bracket)
    numbers: tuple[str, ...]  # the map's lines sent to it


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def label_of(description: str, trunk: str) -> str:
    """``河北省政务服务便民热线平台（热线在省...）`` -> ``河北省政务服务便民热线平台``."""
    text = re.split(r"[（(]", description, maxsplit=1)[0].strip()
    return text or trunk


def placeholders(tmap: Any) -> list[Placeholder]:
    """The trunks of ``tmap`` whose contact is a loopback address, by name."""
    out = []
    for t in map_context(tmap)["trunks"]:
        if not is_loopback(t["host"]):
            continue
        numbers = tuple(row["number"] for row in t["lines"]) or tuple(tmap.trunks[t["name"]].numbers)
        out.append(
            Placeholder(
                trunk=t["name"],
                kind=t["kind"],
                contact=t["contact"],
                host=t["host"],
                port=t["port"],
                label=label_of(t["description"], t["name"]),
                numbers=numbers,
            )
        )
    return out


def startup_lines(found: list[Placeholder], demo: bool, hotline_number: str) -> list[str]:
    """What ``hotline up`` says of each placeholder (one line each)."""
    out = []
    for p in found:
        calls = f"calls to {', '.join(p.numbers)}" if p.numbers else "no line uses it"
        if demo:
            what = f"answered by the demo peers ({calls})"
        elif p.kind == "emergency":
            what = f"nothing answers there: {calls} cannot be linked (the caller is told to dial it)"
        else:
            what = (
                f"nothing answers there: {calls} come back to {hotline_number} after the caller hears why"
                " (start the demo peers with `hotline up --demo-peers`)"
            )
        out.append(
            f"trunk {p.trunk} ({p.kind}) {p.contact} is a loopback placeholder: {what};"
            " put the real peer's address in transfer_map.yaml"
        )
    return out


def greeting_text(p: Placeholder) -> str:
    return f"您好，这里是{p.label}，演示应答。"


def render_peers(found: list[Placeholder], paths: AstPaths, rtp: tuple[int, int]) -> dict[str, str]:
    """The demo peers' whole Asterisk configuration: one UDP transport per placeholder
    address, an endpoint for the platform (any loopback source), and per dialed number
    the greeting of the peer that serves it.  Pure."""
    files = {
        "asterisk.conf": (
            "[directories]\n"
            f"astetcdir => {paths.etc}\nastlogdir => {paths.log}\nastrundir => {paths.run}\n"
            f"astspooldir => {paths.spool}\nastvarlibdir => {paths.lib}\nastdbdir => {paths.lib}\n"
            "astdatadir => /usr/share/asterisk\nastkeydir => /usr/share/asterisk\n"
            "[options]\nverbose = 0\nnocolor = yes\ndefaultlanguage = zh\nsystemname = demo-peers\n"
        ),
        "modules.conf": "[modules]\nautoload = no\n"
        + "".join(
            f"load => {m}.so\n"
            for m in (
                "res_timing_timerfd",
                "res_sorcery_config",
                "res_sorcery_memory",
                "res_sorcery_astdb",
                "res_rtp_asterisk",
                "res_pjproject",
                "res_pjsip",
                "res_pjsip_session",
                "res_pjsip_pubsub",  # chan_pjsip requires it
                "res_pjsip_authenticator_digest",
                "res_pjsip_endpoint_identifier_ip",
                "res_pjsip_sdp_rtp",
                "res_pjsip_caller_id",
                "chan_pjsip",
                "pbx_config",
                "app_playback",
                "format_wav",
                "format_pcm",
                "codec_ulaw",
                "codec_alaw",
            )
        ),
        "logger.conf": "[logfiles]\nmessages.log => notice,warning,error\nconsole => error\n",
        "rtp.conf": f"[general]\nrtpstart = {rtp[0]}\nrtpend = {rtp[1]}\n",
        # present, so that the core does not log their absence as errors
        "cdr.conf": "[general]\nenable = no\n",
        "cel.conf": "[general]\nenable = no\n",
        **{name: "" for name in ("features.conf", "acl.conf", "udptl.conf", "pjproject.conf", "stasis.conf")},
    }
    pjsip = ["[global]\ntype = global\nuser_agent = hotline-demo-peers\n"]
    for p in found:
        pjsip.append(f"\n; {p.kind}: {p.label}\n[transport-{p.trunk}]\ntype = transport\nprotocol = udp\n")
        pjsip.append(f"bind = {p.host}:{p.port}\n")
    pjsip.append(
        "\n; the platform, calling from its trunk transport on loopback\n"
        "[platform]\ntype = endpoint\ncontext = demo-peers\ndisallow = all\nallow = ulaw,alaw\n"
        "direct_media = no\nrtp_symmetric = yes\n\n"
        "[platform]\ntype = identify\nendpoint = platform\nmatch = 127.0.0.0/8\n"
    )
    files["pjsip.conf"] = "".join(pjsip)
    ext = ["[general]\nstatic = yes\nwriteprotect = yes\n\n[demo-peers]\n"]
    for p in found:
        for number in p.numbers:
            ext.append(f"exten => {number},1,Goto(peer-{p.trunk},s,1)\n")
    ext.append("exten => _X.,1,Hangup(1)  ; a number no placeholder serves\n")
    for p in found:
        ext.append(
            f"\n[peer-{p.trunk}]\n"
            "exten => s,1,Answer()\n same => n,Wait(0.3)\n"
            f" same => n,Playback({paths.sounds}/{GREETING_PREFIX}{p.trunk})\n"
            f" same => n,Wait({HOLD_SECONDS})\n same => n,Hangup()\n"
        )
    files["extensions.conf"] = "".join(ext)
    return files


class DemoPeers:
    """The demo peers' Asterisk: its own instance under ``<home>/demo-peers``."""

    def __init__(self, settings: Settings, rtp: tuple[int, int] | None = None):
        self.settings = dataclasses.replace(settings, home=Path(settings.home) / DEMO_PEERS)
        start = settings.rtp_end + 1
        self.rtp = rtp or (start, min(65535, start + RTP_PORTS - 1))
        self.asterisk = Asterisk.locate(self.settings, install=False)
        self.found: list[Placeholder] = []

    def start(self, tmap: Any) -> list[Placeholder]:
        """Answer every placeholder of ``tmap``; nothing to answer: nothing started."""
        self.found = placeholders(tmap)
        if not self.found:
            return []
        ast = self.asterisk
        ast.prepare()
        greetings = {f"{GREETING_PREFIX}{p.trunk}": greeting_text(p) for p in self.found}
        ensure_prompts(greetings, ast.sounds)
        ids = ast.run_as()
        write(render_peers(self.found, ast.paths, self.rtp), ast.etc, group=None if ids is None else ids[1])
        ast.start()
        say(f"demo peers answer {len(self.found)} placeholder trunks (instance {self.settings.home})")
        return self.found

    def running(self) -> bool:
        return self.asterisk.running()

    def stop(self) -> None:
        if self.asterisk.proc is not None or self.asterisk.running():
            self.asterisk.stop()
