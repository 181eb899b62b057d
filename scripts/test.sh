#!/usr/bin/env bash
# Sets up from nothing and runs every check: Rust format, lints and unit tests, Python lints,
# stub checks, the pytest suite, and the wheel installed into a fresh environment.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
# shellcheck disable=SC1091
source .venv/bin/activate
# One libtorch thread: faster than the pool on small shared machines, and reproducible.
export OMP_NUM_THREADS=1
torch_lib="$(python -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"

echo "== cargo fmt"
cargo fmt --check
echo "== cargo clippy"
cargo clippy --all-targets --all-features -- -D warnings
echo "== cargo test"
LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" cargo test
echo "== ruff"
ruff check python tests benchmarks
ruff format --check python tests benchmarks
echo "== mypy"
mypy python/genaug
python -m mypy.stubtest genaug._core
echo "== pytest"
# pytest exits 5 when it collects no test: that fails here like any other failure.
python -m pytest -q
echo "== wheel"
bash scripts/wheel.sh
bash scripts/wheel-check.sh
