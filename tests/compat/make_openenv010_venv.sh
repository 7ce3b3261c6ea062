#!/usr/bin/env bash
# Creates the separate venv for the openenv 0.10 compatibility tests (idempotent).
# openenv==0.10.0 and openenv-core==0.3.0 install the same top-level `openenv` module, so they never
# share a venv: the main .venv has openenv-core (the client's extra `openenv`), this one has openenv plus
# the Python client and its contract stubs (nothing of the services).
# Usage: tests/compat/make_openenv010_venv.sh [VENV_DIR]   (default: .venv-openenv010 at the repo root)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${1:-$repo/.venv-openenv010}"
py="${PYTHON:-python3}"
if [ -f "$venv/.installed" ] && [ "$venv/.installed" -nt "$repo/clients/python/pyproject.toml" ] \
  && [ "$venv/.installed" -nt "$repo/protos/python/pyproject.toml" ]; then
  exit 0
fi
uv="$repo/.venv-uv/bin/uv"  # ./dev setup's pinned uv: much faster than pip here; pip otherwise
if [ -x "$uv" ]; then
  [ -x "$venv/bin/python" ] || "$uv" venv --quiet --python "$py" "$venv"
  "$uv" pip install --quiet --python "$venv/bin/python" \
    -e "$repo/protos/python" -e "$repo/clients/python" "openenv==0.10.0"
else
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e "$repo/protos/python" -e "$repo/clients/python" "openenv==0.10.0"
fi
touch "$venv/.installed"
