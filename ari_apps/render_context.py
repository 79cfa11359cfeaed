"""What extensions_ivr.conf.j2 needs from the IVR side (called by asterisk_conf/render.py)."""

from __future__ import annotations


def render_context(*, settings, tmap=None, paths=None, sounds_host=None, ctx=None) -> dict:
    trunks = (ctx or {}).get("trunks") or []
    names = {t["name"] for t in trunks}
    return {
        "ivr_app": settings.ari_app,
        # the emergency linkage trunk (110/119/120/122), if the map defines one
        "ivr_linkage_trunk": "linkage" if "linkage" in names else "",
    }
