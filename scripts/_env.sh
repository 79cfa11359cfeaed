# Shared by scripts/run and scripts/test: make sure Python and the project are installed.
# Creates .venv (Debian's python3-venv when missing) and installs the project into it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '[setup] %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
  say "run as root (the set-up installs Debian packages)"; exit 1
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

apt_ready=""
apt_get() {
  if [ -z "$apt_ready" ]; then say "apt-get update"; $SUDO apt-get update -q >/dev/null; apt_ready=1; fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

PY=python3
command -v python3 >/dev/null || apt_get python3
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  if ! python3 -m venv .venv 2>/dev/null; then
    rm -rf .venv; apt_get python3-venv; python3 -m venv .venv
  fi
fi
VENV_PY="$ROOT/.venv/bin/python"
stamp=".venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)-$1"
if [ ! -f "$stamp" ]; then
  say "installing the project into .venv (pip, about a minute the first time)"
  extras='[postgres]'; [ "$1" = test ] && extras='[test,postgres]'
  if ! "$VENV_PY" -m pip install -q -e ".$extras" > .venv/pip.log 2>&1; then
    tail -30 .venv/pip.log >&2; say "pip install failed (full log: .venv/pip.log)"; exit 1
  fi
  rm -f .venv/.installed-*-"$1"; touch "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
