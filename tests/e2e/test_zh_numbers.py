"""Asterisk finds Mandarin number words for zh channels (queue positions, hold times)."""

from __future__ import annotations

import httpx


def test_asterisk_has_mandarin_digits(stack):
    s, sec = stack.settings, stack.secrets
    r = httpx.get(
        f"http://{s.bind}:{s.http_port}/ari/sounds/digits%2F23", auth=(sec["ari_user"], sec["ari_password"]), timeout=10
    )
    assert r.status_code == 200, r.text
    langs = {f["language"] for f in r.json()["formats"]}
    assert "zh" in langs, r.json()
