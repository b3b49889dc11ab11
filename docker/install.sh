#!/bin/sh
# Install trade-executor into a virtualenv exactly as the Docker image does.
#
# The Dockerfile runs this script, and tests/test_image_install.py runs the very same script
# in a fresh venv, so what the test proves is what the image gets.
#
#   install.sh deps VENV       locked runtime dependencies only: `poetry install --only main
#                              --no-root` from poetry.lock (no dev group, no project yet), so
#                              this layer is rebuilt only when the lock changes
#   install.sh app VENV [REV]  the package itself, built as a wheel and installed without
#                              touching the locked dependencies; REV (the git revision) is
#                              written to tradeexecutor/GIT_REVISION for `trade-executor version`
#
# Env: POETRY (default: poetry), PYTHON (default: python3). Run from the project root.
set -eu

POETRY=${POETRY:-poetry}
PYTHON=${PYTHON:-python3}
step=${1:?usage: install.sh deps|app VENV [REV]}
venv=${2:?usage: install.sh deps|app VENV [REV]}
# Poetry works in the activated virtualenv; the other settings keep it from making its own
# (e.g. POETRY_VIRTUALENVS_IN_PROJECT inherited from the Makefile).
export POETRY_VIRTUALENVS_CREATE=false POETRY_VIRTUALENVS_IN_PROJECT=false POETRY_NO_INTERACTION=1

case "$step" in
deps)
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$POETRY" install --only main --no-root --compile
  ;;
app)
  rev=${3:-}
  dist=$(mktemp -d)
  trap 'rm -rf "$dist"' EXIT
  VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$POETRY" build --format wheel --output "$dist" >/dev/null
  "$venv/bin/python" -m pip install --quiet --no-deps --no-index "$dist"/*.whl
  if [ -n "$rev" ]; then
    # -I: import the installed package, not ./tradeexecutor from the source tree
    pkg=$("$venv/bin/python" -I -c 'import os, tradeexecutor; print(os.path.dirname(tradeexecutor.__file__))')
    printf '%s\n' "$rev" > "$pkg/GIT_REVISION"
  fi
  # every installed distribution's requirements are met by what is installed
  "$venv/bin/python" -m pip check
  ;;
*)
  echo "install.sh: unknown step '$step' (use deps or app)" >&2
  exit 2
  ;;
esac
