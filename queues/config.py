"""Queue and agent data for the renderer (asterisk_conf/render.py).

* :func:`queue_specs` - one queue per skill of the transfer map (``queues:``):
  the general 12345 queue, each merged department, each dual-mode department.
  Pure: a function of the map and a few knobs.
* :func:`agents_for_render` - the agents' softphone endpoints, from the agent
  registry (:mod:`queues.models`), with generated SIP passwords; it raises
  :class:`RegistryUnavailable` rather than render anything else.
* :func:`queue_context` - the Mandarin queue announcements that exist
  (:data:`PROMPTS` are synthesised by the deploy layer) and the softphone
  feature codes (:data:`FEATURE_CODES`, the one home of the codes).

Knobs (settings, :mod:`hotline.settings`; defaults in brackets):
``HOTLINE_QUEUE_STRATEGY`` [rrmemory], ``HOTLINE_QUEUE_WRAPUPTIME`` seconds [5],
``HOTLINE_QUEUE_RING_TIMEOUT`` seconds one member rings [15], ``HOTLINE_QUEUE_MAXLEN`` callers
waiting in one queue at most [200] (0: no limit); checked by :func:`knobs`.
"""

from __future__ import annotations

import re
from typing import Any

from hotline.secrets import ensure_sip_password
from queues.models import Registry

DEMO_AGENTS = ("1001", "1002", "1003")  # seeded by `hotline up` into an empty registry
STRATEGIES = ("ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "rrordered", "linear", "wrandom")
DEFAULT_STRATEGY = "rrmemory"
DEFAULT_WRAPUP = 5
DEFAULT_RING_TIMEOUT = 15
SERVICE_LEVEL = 15  # GB/T 33358: answer within 15 s
# a caller does not join (and a waiting caller leaves) a skill queue when none
# of its members could take a call; the dialplan then overflows to 12345's queue
SKILL_EMPTY = "paused,unavailable,invalid,unknown"

# feature codes dialled from an agent's softphone
# expert: *8<number> consults the 行业专家 queue of that line (expert_seats), by attended transfer
FEATURE_CODES = {"login": "*71", "logout": "*72", "pause": "*73", "unpause": "*74", "expert": "*8"}
# pressed during a call (DTMF, features.conf applicationmap): this prefix and an emergency
# number that has a linkage trunk (*0110, *0119 ...) makes the three-way linkage call
# with that line (queues/linkage.py)
LINKAGE_CODE = "*0"
# *73N pauses with a reason
PAUSE_CODES = {"1": "break", "2": "lunch", "3": "training", "4": "meeting", "5": "after-call"}

# Mandarin announcements: name -> text, {hotline} = the map's hotline name
# (app_queue sound keys in QUEUE_SOUND_KEYS); see prompt_texts()
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
    "queue-periodic": "您好，这里是{hotline}，7×24小时为您服务。现在坐席忙，请不要挂机，我们将尽快为您接通。",
    # the busy announcement: the hotline's queue is full (HOTLINE_QUEUE_MAXLEN callers waiting);
    # short on purpose: in an overload every second of it is a channel held
    "queue-full": "坐席全忙，请您稍后再拨。",
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


def _bounded(name: str, v: int, lo: int, hi: int) -> int:
    if not lo <= v <= hi:
        raise ValueError(f"{name}={v}: must be {lo}..{hi}")
    return v


def knobs(settings: Any) -> dict:
    """The queue knobs of ``settings``, checked; ValueError naming the variable."""
    strategy = settings.queue_strategy or DEFAULT_STRATEGY
    if strategy not in STRATEGIES:
        raise ValueError(f"HOTLINE_QUEUE_STRATEGY={strategy!r}: one of {', '.join(STRATEGIES)}")
    return {
        "strategy": strategy,
        "wrapuptime": _bounded("HOTLINE_QUEUE_WRAPUPTIME", settings.queue_wrapuptime, 0, 600),
        "ring_timeout": _bounded("HOTLINE_QUEUE_RING_TIMEOUT", settings.queue_ring_timeout, 5, 120),
        "maxlen": _bounded("HOTLINE_QUEUE_MAXLEN", settings.queue_maxlen, 0, 100000),
    }


class RegistryUnavailable(RuntimeError):
    """The agent registry could not be read: nothing may be rendered from it."""


def skills_of(tmap: Any) -> tuple[str, dict[str, str]]:
    """(the hotline's queue, {queue: description}) from the map, the expert queues included."""
    general = tmap.hotline.queue
    queues = {name: tmap.queue_description(name) for name in tmap.queues}
    queues.setdefault(general, tmap.hotline.name)
    queues.update(tmap.expert_queues())
    return general, queues


def build_specs(
    general: str,
    queues: dict[str, str],
    strategy: str = DEFAULT_STRATEGY,
    wrapuptime: int = DEFAULT_WRAPUP,
    ring_timeout: int = DEFAULT_RING_TIMEOUT,
    maxlen: int = 0,
    limits: dict[str, tuple[int | None, str]] | None = None,
    experts: frozenset[str] = frozenset(),
) -> list[dict]:
    """Pure: one spec per skill queue, the general queue first.

    ``limits``: {queue: (longest wait in seconds or None, next queue)} (the
    map's ``overflow_after`` / ``overflow_to``; default: no limit, the general
    queue next).  ``experts``: the 行业专家 queues, which agents consult: they
    hand nobody on, and a consult finds out at once when no expert is there."""
    limits = limits or {}
    out = []
    for name in [general] + sorted(q for q in queues if q != general):
        is_general = name == general
        max_wait, nxt = limits.get(name, (None, "" if is_general else general))
        if name in experts:
            max_wait, nxt = None, ""
        out.append(
            {
                "name": name,
                "description": str(queues.get(name, "")).replace("\n", " "),
                "strategy": strategy,
                "wrapuptime": wrapuptime,
                "timeout": ring_timeout,
                # full: a skill queue hands the caller on (as when empty), the hotline's plays queue-full
                "maxlen": maxlen,
                "servicelevel": SERVICE_LEVEL,
                # the hotline itself never turns a citizen away (7x24 manual service): callers
                # wait even when nobody is logged in; skill queues hand over to it
                "joinempty": "yes" if is_general else SKILL_EMPTY,
                "leavewhenempty": "no" if is_general else SKILL_EMPTY,
                "overflow": nxt,
                "max_wait": max_wait,
                # a cross-skilled agent free for both takes the skill queue's caller first
                "weight": 0 if is_general else 1,
            }
        )
    return out


def queue_specs(tmap: Any, settings: Any) -> list[dict]:
    general, queues = skills_of(tmap)
    limits = {name: tmap.queue_overflow(name) for name in tmap.queues}
    experts = frozenset(tmap.expert_queues())
    return build_specs(general, queues, **knobs(settings), limits=limits, experts=experts)


def agents_for_render(settings: Any, secrets: dict) -> list[dict]:
    """Softphone endpoints: every agent of the registry.

    The endpoint name is the agent's extension (the queue member is PJSIP/<extension>).
    Raises :class:`RegistryUnavailable` when the registry cannot be read: a
    reload during a database outage must not replace the real agents.  An
    empty registry renders no agent (``hotline up`` seeds demo agents into it)."""
    try:
        rows = Registry(settings.database_url).all()
    except Exception as exc:
        raise RegistryUnavailable(
            f"the agent registry ({_safe_url(settings.database_url)}) cannot be read: {type(exc).__name__}: {exc}"
        ) from exc
    return [
        {
            "name": a["extension"],
            "agent": a["name"],
            "display": a.get("display") or a["name"],
            "password": ensure_sip_password(settings.secrets_file, a["extension"]),
            "skills": dict(a["skills"]),
        }
        for a in rows
    ]


def _safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def prompt_paths(paths: Any, available: set[str]) -> dict[str, str]:
    """{prompt name: path as Asterisk sees it} for the announcements that exist."""
    return {name: f"{paths.sounds}/{name}" for name in PROMPTS if name in available}


def queue_context(tmap: Any, agents: list[dict], prompts: dict[str, str]) -> dict:
    """Extra context for queues.conf.j2, pjsip_agents.conf.j2 and extensions_agents.conf.j2 (pure).

    ``prompts`` are the announcements that exist (:func:`prompt_paths`); with
    none, the queues run without Mandarin announcements."""
    general = tmap.hotline.queue
    logins = []
    for a in agents:
        skills = dict(a.get("skills") or {}) or {general: 0}
        logins.append({"endpoint": a["name"], "member": a.get("agent") or a["name"], "skills": sorted(skills.items())})
    complete = all(name in prompts for name in PROMPTS)
    return {
        "queue_sounds": {key: prompts[name] for key, name in QUEUE_SOUND_KEYS.items()} if complete else {},
        "agent_prompts": {k: v for k, v in prompts.items() if k.startswith("agent-")} if complete else {},
        "feature_codes": FEATURE_CODES,
        "pause_codes": sorted(PAUSE_CODES.items()),
        "queue_full_prompt": prompts.get("queue-full", ""),
        "agent_logins": logins,
    }


def prompt_texts(tmap: Any) -> dict[str, str]:
    """The queue announcements to synthesise, with the map's hotline name."""
    return {name: text.replace("{hotline}", tmap.hotline.name) for name, text in PROMPTS.items()}
