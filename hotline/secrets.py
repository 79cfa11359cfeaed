"""Secrets generated on first set-up, stored 0600 in the state directory.

Nothing secret is ever fixed in the repository: the AMI and ARI passwords,
the API tokens of the built-in roles and the agents' SIP passwords are drawn
from :func:`secrets.token_urlsafe` the first time a state directory is used
and read back afterwards.
"""

from __future__ import annotations

import json
import os
import secrets as _secrets
from pathlib import Path

# people: agent, dispatcher, department, supervisor, admin; services: ivr (the ARI app), calls (AMI hand-off)
ROLES = ("agent", "dispatcher", "department", "supervisor", "admin", "ivr", "calls")


def _new() -> dict:
    return {
        "ami_user": "hotline",
        "ami_secret": _secrets.token_urlsafe(24),
        "ari_user": "hotline",
        "ari_password": _secrets.token_urlsafe(24),
        "api_tokens": {role: _secrets.token_urlsafe(24) for role in ROLES},
        "sip": {},  # endpoint name -> password, filled by ensure_sip_password
    }


def load_secrets(path: Path) -> dict:
    """Read the secrets file, creating it (mode 0600) on first use."""
    if path.exists():
        data = json.loads(path.read_text())
        changed = False
        for key, value in _new().items():
            if key not in data:
                data[key] = value
                changed = True
        if changed:
            _write(path, data)
        return data
    data = _new()
    _write(path, data)
    return data


def ensure_sip_password(path: Path, endpoint: str) -> str:
    data = load_secrets(path)
    if endpoint not in data["sip"]:
        data["sip"][endpoint] = _secrets.token_urlsafe(16)
        _write(path, data)
    return data["sip"][endpoint]


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
