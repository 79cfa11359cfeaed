"""Build the browser softphone's SIP library at set-up.

``frontend/softphone/`` pins JsSIP and esbuild (package.json with its
package-lock.json); ``npm ci`` installs exactly those and ``npm run build``
bundles JsSIP into ``web/static/softphone/vendor/jssip.min.js`` (git-ignored)
for ``web/static/softphone/softphone.js``.  Nothing comes from a CDN: the
pages work with no internet.  The build is redone only when the lock file or
the entry point changes (a stamp beside the output says from what it was
built).

The wallboard's chart library is built the same way: ``frontend/wallboard/`` pins
uPlot (MIT, no dependencies); ``npm ci`` installs it and its prebuilt browser
file, style sheet and licence are copied into ``web/static/wallboard/vendor/``
(git-ignored) for ``web/static/wallboard.js`` (:func:`ensure_chart_built`).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from hotline.settings import PROJECT_ROOT

FRONTEND = PROJECT_ROOT / "frontend" / "softphone"
VENDOR = PROJECT_ROOT / "web" / "static" / "softphone" / "vendor"
BUNDLE = VENDOR / "jssip.min.js"
STAMP = VENDOR / ".built-from"
INPUTS = ("package.json", "package-lock.json", "jssip-global.js")

CHART_FRONTEND = PROJECT_ROOT / "frontend" / "wallboard"
CHART_VENDOR = PROJECT_ROOT / "web" / "static" / "wallboard" / "vendor"
CHART_INPUTS = ("package.json", "package-lock.json")
# vendor file <- its place in node_modules (uPlot ships a prebuilt browser build: no bundler)
CHART_FILES = {
    "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
    "uPlot-LICENSE": "uplot/LICENSE",
}


class BuildError(RuntimeError):
    """The softphone's library could not be built."""


def digest(frontend: Path = FRONTEND, inputs: tuple[str, ...] = INPUTS) -> str:
    h = hashlib.sha256()
    for name in inputs:
        path = frontend / name
        if not path.exists():
            raise BuildError(f"{path}: missing (the pinned packages of {frontend.name})")
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def is_built(frontend: Path = FRONTEND, vendor: Path = VENDOR) -> bool:
    stamp = vendor / STAMP.name
    return (vendor / BUNDLE.name).exists() and stamp.exists() and stamp.read_text().strip() == digest(frontend)


def _npm(args: list[str], cwd: Path) -> None:
    exe = shutil.which("npm")
    if exe is None:
        raise BuildError("npm not found: install Node.js and npm (Debian: apt-get install npm; hotline setup does)")
    r = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise BuildError(f"npm {' '.join(args)} in {cwd} failed ({r.returncode}):\n{(r.stdout + r.stderr)[-2000:]}")


def ensure_built(frontend: Path = FRONTEND, vendor: Path = VENDOR) -> Path:
    """The bundle, built now unless it is already built from the same inputs."""
    if is_built(frontend, vendor):
        return vendor / BUNDLE.name
    want = digest(frontend)
    _npm(["ci", "--no-audit", "--no-fund", "--loglevel=error"], frontend)
    _npm(["run", "build", "--silent"], frontend)
    bundle = vendor / BUNDLE.name
    if not bundle.exists():
        raise BuildError(f"npm run build in {frontend} wrote no {bundle}")
    shutil.copyfile(frontend / "node_modules" / "jssip" / "LICENSE.md", vendor / "jssip-LICENSE.md")
    (vendor / STAMP.name).write_text(want + "\n")
    return bundle


def is_chart_built(frontend: Path = CHART_FRONTEND, vendor: Path = CHART_VENDOR) -> bool:
    stamp = vendor / STAMP.name
    return (
        all((vendor / name).exists() for name in CHART_FILES)
        and stamp.exists()
        and stamp.read_text().strip() == digest(frontend, CHART_INPUTS)
    )


def ensure_chart_built(frontend: Path = CHART_FRONTEND, vendor: Path = CHART_VENDOR) -> Path:
    """The wallboard's uPlot, installed and copied now unless it is already from the same lock file."""
    first = vendor / next(iter(CHART_FILES))
    if is_chart_built(frontend, vendor):
        return first
    want = digest(frontend, CHART_INPUTS)
    _npm(["ci", "--no-audit", "--no-fund", "--loglevel=error"], frontend)
    vendor.mkdir(parents=True, exist_ok=True)
    for name, source in CHART_FILES.items():
        path = frontend / "node_modules" / source
        if not path.exists():
            raise BuildError(f"npm ci in {frontend} installed no {path}")
        shutil.copyfile(path, vendor / name)
    (vendor / STAMP.name).write_text(want + "\n")
    return first
