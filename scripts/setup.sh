#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the locked dependencies and
# this project into it. Idempotent; `make setup` runs it when the lock changes.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
UV_VERSION=0.13.8   # the installer; everything installed *with* it is in requirements.lock

is_py310() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }

find_python310() {
  # 1. An explicit choice, then whatever `python3.10` on PATH runs.
  for candidate in "${PYTHON:-}" python3.10; do
    if is_py310 "$candidate"; then command -v "$candidate"; return; fi
  done
  # 2. pyenv's 3.10 installs, selected or not (a pyenv shim fails until one
  #    is selected, so call the interpreter behind it directly).
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  if command -v pyenv >/dev/null 2>&1; then root="$(pyenv root)"; fi
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

no_python() {
  cat >&2 <<'MSG'
error: no working Python 3.10 found.
  TFX 1.16 (the newest TFX that installs on glibc < 2.39) needs Python 3.10.
  Looked for: $PYTHON, python3.10 on PATH, pyenv's versions/3.10.*, /usr/bin/python3.10.
  Install one, then run this again:
    pyenv install 3.10        # or: apt-get install python3.10 python3.10-venv
  or point at an existing interpreter:
    make test PYTHON=/path/to/python3.10
MSG
  exit 1
}

if [ "${1:-}" = "--find-python" ]; then  # report the choice only (used by the tests)
  find_python310 || no_python
  exit 0
fi

if [ ! -x "$VENV/bin/python" ] || ! is_py310 "$VENV/bin/python"; then
  PY=$(find_python310) || no_python
  echo "Creating $VENV with $PY ($("$PY" --version 2>&1))"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi

if [ ! -x "$VENV/bin/uv" ] || [ "$("$VENV/bin/uv" --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

echo "Installing the locked dependencies (requirements.lock)"
# --compile-bytecode: write every .pyc now. Without it each process compiles
# the ~7,000 modules TFX imports from source whenever .pyc files can't be
# written (PYTHONDONTWRITEBYTECODE=1, read-only images): 15 s of CPU a start.
"$VENV/bin/uv" pip sync --quiet --python "$VENV/bin/python" --require-hashes \
  --compile-bytecode requirements.lock
"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps --no-build-isolation -e .
echo "Set up: $("$VENV/bin/python" --version) in $VENV"
