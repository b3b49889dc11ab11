#!/bin/sh
# Install trade-executor into a virtualenv exactly as the Docker image does.
#
# The Dockerfile runs this script, and tests/test_image_install.py runs the very same script
# in a fresh venv, so what the test proves is what the image gets.
#
#   install.sh deps VENV        locked runtime dependencies only: `poetry install --only main
#                               --no-root` from poetry.lock (no dev group, no project yet), so
#                               this layer is rebuilt only when the lock changes. The venv has
#                               no pip (nothing installs at run time); the stray top-level
#                               `docs` directory some wheels ship (eth-abi, eth-rlp, hexbytes)
#                               is removed
#   install.sh app VENV [REV]   the package itself, built as a wheel and installed without
#                               touching the locked dependencies (by PYTHON's pip, from outside
#                               the venv); REV (the git revision) is written to
#                               tradeexecutor/GIT_REVISION for `trade-executor version`
#   install.sh layer VENV DIR   copy what `app` installed (the package, its metadata and the
#                               `trade-executor` command) under DIR at their absolute paths, so
#                               the image ships the application as its own small layer
#                               (`COPY --from=builder DIR/ /`) on top of the dependencies' layer
#
# Env: POETRY (default: poetry), PYTHON (default: python3; needs pip >= 22.3). Run from the
# project root.
set -eu

POETRY=${POETRY:-poetry}
PYTHON=${PYTHON:-python3}
step=${1:?usage: install.sh deps|app|layer VENV [REV|DIR]}
venv=${2:?usage: install.sh deps|app|layer VENV [REV|DIR]}
# Poetry works in the activated virtualenv; the other settings keep it from making its own
# (e.g. POETRY_VIRTUALENVS_IN_PROJECT inherited from the Makefile).
export POETRY_VIRTUALENVS_CREATE=false POETRY_VIRTUALENVS_IN_PROJECT=false POETRY_NO_INTERACTION=1
pip_in_venv() { "$PYTHON" -m pip --disable-pip-version-check --python "$venv/bin/python" "$@"; }

case "$step" in
deps)
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv --without-pip "$venv"
  VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$POETRY" install --only main --no-root --compile
  site=$("$venv/bin/python" -I -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  rm -rf "$site/docs"
  ;;
app)
  rev=${3:-}
  dist=$(mktemp -d)
  trap 'rm -rf "$dist"' EXIT
  VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$POETRY" build --format wheel --output "$dist" >/dev/null
  pip_in_venv install --quiet --no-deps --no-index "$dist"/*.whl
  if [ -n "$rev" ]; then
    # -I: import the installed package, not ./tradeexecutor from the source tree
    pkg=$("$venv/bin/python" -I -c 'import os, tradeexecutor; print(os.path.dirname(tradeexecutor.__file__))')
    printf '%s\n' "$rev" > "$pkg/GIT_REVISION"
  fi
  # every installed distribution's requirements are met by what is installed
  pip_in_venv check
  ;;
layer)
  dir=${3:?usage: install.sh layer VENV DIR}
  # the files of the trade-executor distribution (RECORD), plus the package directory whole:
  # it also holds GIT_REVISION, written after the install
  "$venv/bin/python" -I -c '
import importlib.metadata, os, shutil, sys, tradeexecutor
dest = sys.argv[1]
package = os.path.dirname(tradeexecutor.__file__)
files = {str(f.locate().resolve()) for f in importlib.metadata.distribution("trade-executor").files}
files |= {os.path.join(top, name) for top, _, names in os.walk(package) for name in names}
for source in sorted(f for f in files if os.path.isfile(f)):
    target = dest + source
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(source, target)
' "$dir"
  ;;
*)
  echo "install.sh: unknown step '$step' (use deps, app or layer)" >&2
  exit 2
  ;;
esac
