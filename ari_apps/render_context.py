"""What extensions_ivr.conf.j2 needs from the IVR side (gathered by deploy/configure.py)."""

from __future__ import annotations

from typing import Any

from hotline.names import dial_string, linkage_prompt
from hotline.policy import LINKAGE_NUMBERS


def emergency_transfers(tmap: Any) -> list[dict[str, str]]:
    """What a flow's ``transfer`` node of kind emergency does, per number (pure).

    With a linkage trunk for the number (transfer_map.yaml, trunk kind
    emergency): the node's prompt (正在为您转接110), then the trunk is dialed.
    Without one: the caller hears :func:`hotline.names.linkage_prompt` (hang up
    and dial 110 yourself) and the call ends; nobody ever hears that it is being
    connected to an emergency line that is not there."""
    trunks = tmap.linkage_trunks()
    return [
        {
            "number": n,
            "trunk": trunks.get(n, ""),
            "dial": dial_string(trunks[n], n) if n in trunks else "",
            "refusal": linkage_prompt(n),
        }
        for n in LINKAGE_NUMBERS
    ]


def ivr_context(settings: Any, tmap: Any) -> dict[str, Any]:
    return {"ivr_app": settings.ari_app, "ivr_emergency": emergency_transfers(tmap)}
