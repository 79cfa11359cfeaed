"""What extensions_ivr.conf.j2 needs from the IVR side (gathered by deploy/configure.py)."""

from __future__ import annotations

from typing import Any

# the trunk of the emergency linkage (110/119/120/122), when the map defines one
LINKAGE_TRUNK = "linkage"


def ivr_context(settings: Any, tmap: Any) -> dict[str, str]:
    return {"ivr_app": settings.ari_app, "ivr_linkage_trunk": LINKAGE_TRUNK if LINKAGE_TRUNK in tmap.trunks else ""}
