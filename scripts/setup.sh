#!/usr/bin/env bash
# Creates (or reuses) .venv, installs torch from the package index, and builds and installs
# genaug into it with the extras named in $1 (default: demo).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-demo}"
python="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate
python -m pip install --quiet --upgrade pip
# torch first: the build links against the libtorch inside it (.cargo/config.toml).
python -m pip install --quiet "torch==2.13.*" "maturin>=1.9,<2"
python -m pip install --quiet --no-build-isolation ".[${extras}]"
