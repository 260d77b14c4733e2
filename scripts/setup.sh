#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the locked dependencies and this
# project into it, with uv. Idempotent; `make setup` runs it when the lock
# changes.
#
# It needs bash, a C++ compiler (pyfarmhash, which TFDV needs, has no wheel),
# and uv or any Python 3 to fetch uv with. Python 3.10 it finds ($PYTHON,
# python3.10, pyenv, uv's own installs) or has uv install.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
LOCK=requirements.lock
UV_VERSION=$(sed -n 's/^uv==\([^ ]*\).*/\1/p' "$LOCK")
UV_CACHE_HOME="${XDG_CACHE_HOME:-$HOME/.cache}/mnist-tfx/uv-$UV_VERSION"

is_py310() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }
uv_version() { "$1" --version 2>/dev/null | cut -d' ' -f2; }
have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ] || ! have sudo; then echo "$*"; else echo "sudo $*"; fi; }

find_python310() {
  # 1. An explicit choice, then whatever `python3.10` on PATH runs.
  for candidate in "${PYTHON:-}" python3.10; do
    if is_py310 "$candidate"; then command -v "$candidate"; return; fi
  done
  # 2. pyenv's 3.10 installs, selected or not (a pyenv shim fails until one
  #    is selected, so call the interpreter behind it directly).
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  if have pyenv; then root="$(pyenv root)"; fi
  local candidate
  for candidate in $(ls -d "$root"/versions/3.10*/bin/python3.10 2>/dev/null | sort -V -r); do
    if is_py310 "$candidate"; then echo "$candidate"; return; fi
  done
  # 3. System locations that a shim on PATH may hide.
  for candidate in /usr/local/bin/python3.10 /usr/bin/python3.10; do
    if is_py310 "$candidate"; then echo "$candidate"; return; fi
  done
  return 1
}

# A uv: the venv's (the lock's version), one fetched before, one installed
# on this machine, else the lock's version fetched from PyPI with any Python 3.
find_uv() {
  local candidate
  for candidate in "$VENV/bin/uv" "$UV_CACHE_HOME/uv"; do
    if [ -x "$candidate" ] && [ "$(uv_version "$candidate")" = "$UV_VERSION" ]; then echo "$candidate"; return; fi
  done
  for candidate in "$(command -v uv || true)" "$HOME/.local/bin/uv" "$HOME/.cargo/bin/uv"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && uv_version "$candidate" >/dev/null; then echo "$candidate"; return; fi
  done
  local python
  for python in "$(find_python310 || true)" python3 python3.13 python3.12 python3.11 python3.9 python3.8 python; do
    if [ -n "$python" ] && "$python" -c 'import sys; sys.exit(sys.version_info < (3, 8))' >/dev/null 2>&1; then
      echo "Fetching uv $UV_VERSION from PyPI into $UV_CACHE_HOME (checked against $LOCK)" >&2
      "$python" scripts/fetch_uv.py "$UV_CACHE_HOME" && return
      no_uv "fetching it failed (above)."
    fi
  done
  no_uv "this machine has no uv, and no Python 3 to fetch it with."
}

no_uv() {
  {
    echo "error: set-up needs uv (https://docs.astral.sh/uv/): $1"
    echo "  Install Python 3 or uv, then run this again:"
    if have apt-get; then echo "    $(as_root apt-get install -y python3)"; fi
    if have dnf; then echo "    $(as_root dnf install -y python3)"; fi
    if have curl; then echo "    curl -LsSf https://astral.sh/uv/install.sh | sh"
    elif have wget; then echo "    wget -qO- https://astral.sh/uv/install.sh | sh"; fi
    if ! have apt-get && ! have dnf && ! have curl && ! have wget; then
      echo "    (with this system's package manager: python3, or uv)"
    fi
  } >&2
  exit 1
}

no_python() {
  cat >&2 <<MSG
error: no Python 3.10 found, and uv could not install one (above).
  TFX 1.16 (the newest TFX that installs on glibc < 2.39) needs Python 3.10.
  Looked for: \$PYTHON, python3.10 on PATH, pyenv's versions/3.10.*, /usr/bin/python3.10,
  and uv's Python installs. uv downloads its Pythons from GitHub (python-build-standalone);
  where that is blocked, set UV_PYTHON_INSTALL_MIRROR to a mirror of it. Then either
    $UV python install 3.10 && bash scripts/setup.sh
  or use an interpreter of your own:
    PYTHON=/path/to/python3.10 bash scripts/setup.sh
MSG
  exit 1
}

if [ "${1:-}" = "--find-python" ]; then  # report the choice only (used by the tests)
  find_python310
  exit
fi

if [ -n "${PYTHON:-}" ] && ! is_py310 "$PYTHON"; then
  echo "error: PYTHON=$PYTHON is not a working Python 3.10; unset it, or name one." >&2
  exit 1
fi

NEW_VENV=
if [ ! -x "$VENV/bin/python" ] || ! is_py310 "$VENV/bin/python"; then
  rm -rf "$VENV"
  NEW_VENV=1
fi
UV=$(find_uv)
if [ -n "$NEW_VENV" ]; then
  # An interpreter found here, else "3.10": uv's own installs, then PATH, then
  # a download (its python-build-standalone builds).
  PY=$(find_python310) || PY=3.10
  echo "Creating $VENV with Python $PY (uv $(uv_version "$UV"))"
  "$UV" venv --quiet --python "$PY" "$VENV" || no_python
fi

echo "Installing the locked dependencies ($LOCK)"
# --compile-bytecode: write every .pyc now. Without it each process compiles
# the ~7,000 modules TFX imports from source whenever .pyc files can't be
# written (PYTHONDONTWRITEBYTECODE=1, read-only images): 15 s of CPU a start.
if ! "$UV" pip sync --quiet --python "$VENV/bin/python" --require-hashes --compile-bytecode "$LOCK"; then
  if ! have c++ && ! have g++; then
    echo "error: installing $LOCK failed; pyfarmhash (for TFDV) is built from source and needs a C++ compiler:" >&2
    have apt-get && echo "    $(as_root apt-get install -y g++)" >&2
  fi
  exit 1
fi
# The lock holds uv itself: from here on, the venv's copy.
"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps --no-build-isolation -e .
# The tfx CLI imports TensorFlow before it runs any of the project's code, so
# TensorFlow's C++ start-up lines (CUDA stubs, cuFFT, cuDNN, TensorRT) reach
# the terminal unless TF_CPP_MIN_LOG_LEVEL is set when the process starts. A
# .pth file runs at every start of the venv's Python: it sets it, unless set
# already, for the `tfx` program only (every other entry point sets it itself).
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo 'import os, sys; os.path.basename(sys.argv[0] if sys.argv else "") == "tfx" and os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")' \
  > "$SITE/mnist_tfx_quiet_tfx_cli.pth"
echo "Set up: $("$VENV/bin/python" --version) in $VENV"
