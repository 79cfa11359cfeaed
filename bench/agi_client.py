"""Playing Asterisk to a FastAGI server, for the benchmarks (bench_agi_routing.py, fuzz_agi.py):
the environment a session opens with, and a free loopback port to serve on."""

from __future__ import annotations

import socket

# what Asterisk 22 sends beyond the fields the route reads (the routing benchmark sends them all,
# for a session of the real size)
FULL_ONLY = frozenset(
    {
        "agi_version",
        "agi_calleridname",
        "agi_callingpres",
        "agi_callingani2",
        "agi_callington",
        "agi_callingtns",
        "agi_dnid",
        "agi_rdnis",
        "agi_enhanced",
        "agi_accountcode",
        "agi_threadid",
    }
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_block(uid: int, dialed: str = "12349", caller: str = "13800138000", full: bool = False) -> bytes:
    """The ``agi_*`` environment of a call from ``caller`` to ``dialed``, ended by its blank line;
    ``full``: every field Asterisk 22 sends, not only the ones around the route's."""
    env = {
        "agi_network": "yes",
        "agi_network_script": "route",
        "agi_request": "agi://127.0.0.1/route",
        "agi_channel": f"PJSIP/pstn-{uid:08x}",
        "agi_language": "zh",
        "agi_type": "PJSIP",
        "agi_uniqueid": f"1700000000.{uid}",
        "agi_version": "22.0.0",
        "agi_callerid": caller,
        "agi_calleridname": "unknown",
        "agi_callingpres": "0",
        "agi_callingani2": "0",
        "agi_callington": "0",
        "agi_callingtns": "0",
        "agi_dnid": dialed,
        "agi_rdnis": "unknown",
        "agi_context": "hotline-inbound",
        "agi_extension": dialed,
        "agi_priority": "3",
        "agi_enhanced": "0.0",
        "agi_accountcode": "",
        "agi_threadid": "140000000000000",
    }
    return ("".join(f"{k}: {v}\n" for k, v in env.items() if full or k not in FULL_ONLY) + "\n").encode()
