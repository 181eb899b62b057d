#!/usr/bin/env bash
# Sets up from nothing and runs the digits demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh demo
.venv/bin/python -m genaug demo "$@"
