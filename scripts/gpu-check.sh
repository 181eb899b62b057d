#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: sets up and builds genaug (scripts/setup.sh), runs the CUDA
# tests and the GPU columns of the speed benchmark, and prints one summary.
#
# Where the package index cannot be reached but a Python with a CUDA build of torch is there,
# build a wheel against that same torch version elsewhere (`maturin build --release` with it
# installed) and pass it: GENAUG_WHEEL=path/to/genaug-*.whl PYTHON=python3 scripts/gpu-check.sh
# tch binds libtorch 2.13 exactly: for another version, build with LIBTORCH pointing at that
# torch package, LIBTORCH_BYPASS_VERSION_CHECK=1, and a local copy of torch-sys (a Cargo
# [patch.crates-io]) whose generated C++ wrappers of operators that version lacks are emptied.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -n "${GENAUG_WHEEL:-}" ]; then
    python="${PYTHON:-python3}"
    "$python" -m pip install --quiet --no-deps --no-index --force-reinstall "$GENAUG_WHEEL" || exit 1
else
    bash scripts/setup.sh test || exit 1
    python="$PWD/.venv/bin/python"
fi
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
if ! "$python" -c 'import genaug, sys; sys.exit(0 if genaug.cuda_is_available() else 1)'; then
    echo "genaug sees no CUDA device: nothing to check here" >&2
    exit 1
fi
logs="${GPU_CHECK_LOGS:-gpu-check-logs}"
mkdir -p "$logs"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$logs/gpu.txt"

echo "== CUDA tests"
"$python" -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_checkpoint.py \
    2>&1 | tee "$logs/tests.log"
tests=${PIPESTATUS[0]}

echo "== speed on the GPU: genaug against eager PyTorch"
"$python" benchmarks/run.py --device cuda --threads 1 --no-memory 2>&1 | tee "$logs/speed.md"
speed=${PIPESTATUS[0]}

echo "== summary"
echo "GPU: $(cat "$logs/gpu.txt")"
echo "CUDA tests: $(tail -n 1 "$logs/tests.log") (exit $tests)"
echo "speed benchmark: exit $speed; its table:"
grep '^|' "$logs/speed.md"
[ "$tests" -eq 0 ] && [ "$speed" -eq 0 ]
