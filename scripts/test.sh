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
python -c 'import pandas; print("pandas", pandas.__version__)'
# pytest exits 5 when it collects no test: that fails here like any other failure.
python -m pytest -q
echo "== pytest: DataFrames on pandas 2"
# Users have either major version. pandas 2 goes into a directory ahead of the environment's
# packages on the path, so the environment keeps its own pandas; with it, what pandas 2 needs
# and pandas 3 does not (pytz), while NumPy stays the environment's.
pandas2="$(mktemp -d)"
trap 'rm -rf "$pandas2"' EXIT
python -m pip install --quiet --no-deps --target "$pandas2" "pandas>=2.3,<3" pytz tzdata \
    python-dateutil
PYTHONPATH="$pandas2" python -c 'import pandas; print("pandas", pandas.__version__)'
PYTHONPATH="$pandas2" python -m pytest -q tests/test_tabular.py tests/test_frame_dtypes.py \
    tests/test_chunks.py tests/test_impute.py
echo "== wheel"
bash scripts/wheel.sh
bash scripts/wheel-check.sh
