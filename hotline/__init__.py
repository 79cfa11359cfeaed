"""The core of the 12345 platform, at the bottom of the layers.

Settings, the one calendar, names, the transfer-map schema, logging, secrets, the AMI client.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def optional_import(name: str) -> ModuleType | None:
    """``name`` imported, or None when that module itself is absent.

    A missing dependency *inside* the module still raises: only the module's own
    absence means "not in this build" (the CLI's subcommands, the renderer's
    optional context providers)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None
        raise
