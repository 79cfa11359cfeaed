"""Queue and agent data for the renderer (asterisk_conf/render.py).

Foundation version: one general queue, and demo agents 1001-1003 when no
registry exists.  The queues issue extends this from the transfer map's
skills and the agent registry.
"""

from __future__ import annotations

from hotline.secrets import ensure_sip_password

DEMO_AGENTS = ("1001", "1002", "1003")


def queue_specs(tmap, settings) -> list[dict]:
    from agi.routing import GENERAL_QUEUE

    return [{"name": GENERAL_QUEUE, "strategy": "rrmemory", "wrapuptime": 0, "overflow": ""}]


def agents_for_render(settings, secrets) -> list[dict]:
    """Agents whose PJSIP endpoints are rendered: name, password, skills."""
    return [
        {"name": name, "password": ensure_sip_password(settings.secrets_file, name), "skills": {"general": 0}}
        for name in DEMO_AGENTS
    ]
