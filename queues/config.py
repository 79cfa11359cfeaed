"""Queue and agent data for the renderer (asterisk_conf/render.py).

* :func:`queue_specs` - one queue per skill of the transfer map (``queues:``):
  the general 12345 queue, each merged department, each dual-mode department.
  Pure: a function of the map and a few knobs.
* :func:`agents_for_render` - the agents' softphone endpoints, from the agent
  registry (:mod:`queues.models`), with generated SIP passwords.
* :func:`render_context` - the Mandarin queue announcements (generated once,
  cached) and the softphone feature codes.

Knobs (environment, read at render time; defaults in brackets):
``HOTLINE_QUEUE_STRATEGY`` [rrmemory], ``HOTLINE_QUEUE_WRAPUPTIME`` seconds [5],
``HOTLINE_QUEUE_RING_TIMEOUT`` seconds one member rings [15].
"""

from __future__ import annotations

import logging
import os

from hotline.secrets import ensure_sip_password

log = logging.getLogger("hotline.queues")

DEMO_AGENTS = ("1001", "1002", "1003")
STRATEGIES = ("ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "rrordered", "linear", "wrandom")
DEFAULT_STRATEGY = "rrmemory"
DEFAULT_WRAPUP = 5
DEFAULT_RING_TIMEOUT = 15
SERVICE_LEVEL = 15  # GB/T 33358: answer within 15 s
# a caller does not join (and a waiting caller leaves) a skill queue when none
# of its members could take a call; the dialplan then overflows to 12345's queue
SKILL_EMPTY = "paused,unavailable,invalid,unknown"

# feature codes dialled from an agent's softphone
FEATURE_CODES = {"login": "*71", "logout": "*72", "pause": "*73", "unpause": "*74"}
# *73N pauses with a reason
PAUSE_CODES = {"1": "break", "2": "lunch", "3": "training", "4": "meeting", "5": "after-call"}

# Mandarin announcements: name -> text (app_queue sound keys in QUEUE_SOUND_KEYS)
PROMPTS = {
    "queue-youarenext": "您是下一位",
    "queue-thereare": "您前面还有",
    "queue-callswaiting": "位来电在等待",
    "queue-holdtime": "预计等待时间约",
    "queue-minutes": "分钟",
    "queue-minute": "分钟",
    "queue-seconds": "秒",
    "queue-thankyou": "感谢您的耐心等待",
    "queue-reporthold": "等待时间",
    "queue-periodic": "您好，这里是12345政务服务便民热线，7×24小时为您服务。现在坐席忙，请不要挂机，我们将尽快为您接通。",
    "agent-loggedin": "已签入",
    "agent-loggedout": "已签出",
    "agent-paused": "已暂停接听",
    "agent-unpaused": "已恢复接听",
}
QUEUE_SOUND_KEYS = {
    "queue-youarenext": "queue-youarenext",
    "queue-thereare": "queue-thereare",
    "queue-callswaiting": "queue-callswaiting",
    "queue-holdtime": "queue-holdtime",
    "queue-minutes": "queue-minutes",
    "queue-minute": "queue-minute",
    "queue-seconds": "queue-seconds",
    "queue-thankyou": "queue-thankyou",
    "queue-reporthold": "queue-reporthold",
    "periodic-announce": "queue-periodic",
}


def _env_int(name: str, default: int, lo: int, hi: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: not a whole number")
    if not lo <= v <= hi:
        raise ValueError(f"{name}={v}: must be {lo}..{hi}")
    return v


def knobs() -> dict:
    strategy = os.environ.get("HOTLINE_QUEUE_STRATEGY", DEFAULT_STRATEGY) or DEFAULT_STRATEGY
    if strategy not in STRATEGIES:
        raise ValueError(f"HOTLINE_QUEUE_STRATEGY={strategy!r}: one of {', '.join(STRATEGIES)}")
    return {"strategy": strategy,
            "wrapuptime": _env_int("HOTLINE_QUEUE_WRAPUPTIME", DEFAULT_WRAPUP, 0, 600),
            "ring_timeout": _env_int("HOTLINE_QUEUE_RING_TIMEOUT", DEFAULT_RING_TIMEOUT, 5, 120)}


def skills_of(tmap) -> tuple[str, dict[str, str]]:
    """(general queue, {queue: description}) from the map, or the bare general queue."""
    from agi.routing import GENERAL_QUEUE

    if tmap is None:
        return GENERAL_QUEUE, {GENERAL_QUEUE: "12345"}
    general = getattr(getattr(tmap, "hotline", None), "queue", None) or GENERAL_QUEUE
    queues = dict(getattr(tmap, "queues", {}) or {})
    queues.setdefault(general, "12345")
    return general, queues


def build_specs(general: str, queues: dict[str, str], strategy: str = DEFAULT_STRATEGY,
                wrapuptime: int = DEFAULT_WRAPUP, ring_timeout: int = DEFAULT_RING_TIMEOUT) -> list[dict]:
    """Pure: one spec per skill queue, the general queue first."""
    out = []
    for name in [general] + sorted(q for q in queues if q != general):
        is_general = name == general
        out.append({
            "name": name,
            "description": str(queues.get(name, "")).replace("\n", " "),
            "strategy": strategy,
            "wrapuptime": wrapuptime,
            "timeout": ring_timeout,
            "servicelevel": SERVICE_LEVEL,
            # 12345 itself never turns a citizen away (7x24 manual service): callers
            # wait even when nobody is logged in; skill queues hand over to it
            "joinempty": "yes" if is_general else SKILL_EMPTY,
            "leavewhenempty": "no" if is_general else SKILL_EMPTY,
            "overflow": "" if is_general else general,
            # a cross-skilled agent free for both takes the skill queue's caller first
            "weight": 0 if is_general else 1,
        })
    return out


def queue_specs(tmap, settings) -> list[dict]:
    general, queues = skills_of(tmap)
    return build_specs(general, queues, **knobs())


def agents_for_render(settings, secrets) -> list[dict]:
    """Softphone endpoints: every agent of the registry (demo agents 1001-1003 while it is empty).

    The endpoint name is the agent's extension (the queue member is PJSIP/<extension>)."""
    from agi.routing import GENERAL_QUEUE

    rows: list[dict] = []
    try:
        from queues.models import Registry

        rows = Registry(settings.database_url).all()
    except Exception:  # no database yet: render the demo agents
        log.warning("agent registry unavailable; rendering demo agents", exc_info=True)
    if not rows:
        rows = [{"name": n, "extension": n, "display": "", "skills": {GENERAL_QUEUE: 0}} for n in DEMO_AGENTS]
    return [{"name": a["extension"], "agent": a["name"], "display": a.get("display") or a["name"],
             "password": ensure_sip_password(settings.secrets_file, a["extension"]), "skills": dict(a["skills"])}
            for a in rows]


def _prompts(paths, sounds_host) -> dict[str, str]:
    """Generate the Mandarin announcements (cached); {prompt name: path as Asterisk sees it}."""
    if sounds_host is None or paths is None:
        return {}
    try:
        from asterisk_conf import prompts as P

        if P.tools_available() is not None:
            return {}
        P.ensure_prompts(PROMPTS, sounds_host)
    except Exception:
        log.warning("queue announcements not generated; queues run without them", exc_info=True)
        return {}
    return {name: f"{paths.sounds}/{name}" for name in PROMPTS}


def render_context(*, settings, tmap=None, paths=None, sounds_host=None, ctx=None) -> dict:
    """Extra context for queues.conf.j2, pjsip_agents.conf.j2 and extensions_agents.conf.j2."""
    from agi.routing import GENERAL_QUEUE

    prompts = _prompts(paths, sounds_host)
    general, _ = skills_of(tmap)
    agents = (ctx or {}).get("agents") or []
    logins = []
    for a in agents:
        skills = dict(a.get("skills") or {}) or {general or GENERAL_QUEUE: 0}
        logins.append({"endpoint": a["name"], "member": a.get("agent") or a["name"],
                       "skills": sorted(skills.items())})
    return {
        "queue_sounds": {key: prompts[name] for key, name in QUEUE_SOUND_KEYS.items()} if prompts else {},
        "agent_prompts": {k: v for k, v in prompts.items() if k.startswith("agent-")},
        "feature_codes": FEATURE_CODES,
        "pause_codes": sorted(PAUSE_CODES.items()),
        "agent_logins": logins,
    }
