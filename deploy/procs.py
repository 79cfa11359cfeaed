"""Ending a child process: wait for it to exit, kill it when it does not."""

from __future__ import annotations

import subprocess


def reap(proc: subprocess.Popen, timeout: float) -> None:
    """Wait up to ``timeout`` seconds for ``proc`` (already told to stop) to exit; then kill it.

    Returns once the process is gone, so no zombie is left behind."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
