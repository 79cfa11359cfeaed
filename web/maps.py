"""The transfer map as the admin page sees it: the file stays the source of truth.

An edit is checked with the map's own checks (hotline.transfer_map) and written
only when it passes, after the previous version was copied aside as
``<name>.<YYYYmmdd-HHMMSS>.bak``.  The reload is ``hotline reload`` (validate,
render, reload over AMI; a bad map changes nothing), run as a child process
with this platform's settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.settings import settings_env
from hotline.transfer_map import check
from hotline.yamlsrc import ConfigError, Problem, loads

KEEP_BACKUPS = 20


@dataclass
class Saved:
    problems: list[Problem]
    backup: Path | None = None


class MapFile:
    def __init__(self, path: Path | str, timezone: str):
        self.path = Path(path)
        self.tz = ZoneInfo(timezone)

    def today(self) -> date:
        return datetime.now(self.tz).date()

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def problems(self) -> list[Problem]:
        """The check result of the file as it is (problems name the file by its name: transfer_map.yaml:12:5)."""
        try:
            text = self.text()
        except OSError as exc:
            return [Problem(self.path.name, 1, 1, f"cannot read the map: {exc}")]
        return self.check_text(text)

    def check_text(self, text: str) -> list[Problem]:
        try:
            data, src = loads(text, self.path.name)
        except ConfigError as exc:
            return exc.problems
        return check(data, src, self.today())[1]

    def save(self, text: str) -> Saved:
        """Write ``text`` if it passes the check; else change nothing."""
        problems = self.check_text(text)
        if problems:
            return Saved(problems)
        stamp = datetime.now(self.tz).strftime("%Y%m%d-%H%M%S")
        backup = self.path.with_name(f"{self.path.name}.{stamp}.bak")
        n = 1
        while backup.exists():
            n += 1
            backup = self.path.with_name(f"{self.path.name}.{stamp}-{n}.bak")
        shutil.copy2(self.path, backup)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)
        for old in self.backups()[KEEP_BACKUPS:]:
            old.unlink()
        return Saved([], backup)

    def backups(self) -> list[Path]:
        """Earlier versions, newest first."""
        return sorted(self.path.parent.glob(f"{self.path.name}.*.bak"), key=lambda p: p.name, reverse=True)


def hotline_command() -> list[str]:
    script = Path(sys.executable).parent / "hotline"
    if script.exists():
        return [str(script)]
    found = shutil.which("hotline")
    if found is None:
        raise FileNotFoundError("the hotline command is not installed next to this Python")
    return [found]


def run_reload(settings, timeout: float = 120) -> tuple[bool, str]:
    """``hotline reload`` for this platform: (succeeded, what it printed)."""
    try:
        done = subprocess.run(
            [*hotline_command(), "reload"], env=settings_env(settings), capture_output=True, text=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"hotline reload did not run: {exc}"
    return done.returncode == 0, (done.stdout + done.stderr).strip()
