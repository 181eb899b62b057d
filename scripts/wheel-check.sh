#!/usr/bin/env bash
# Installs the wheel from dist/ (scripts/wheel.sh) into a brand-new virtual environment whose
# PATH has no Rust toolchain, as a user's machine would be, then imports genaug, fits and
# samples there. The environment is removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
wheels=("$PWD"/dist/genaug-*.whl)
if [ "${#wheels[@]}" -ne 1 ]; then
    echo "expected one wheel in dist/ (bash scripts/wheel.sh), found ${#wheels[@]}" >&2
    exit 1
fi
wheel="${wheels[0]}"
python="${PYTHON:-python3}"
python="$(command -v "$python")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$python" -m venv "$work/venv"
# Only the new environment and the system's own directories: no ~/.cargo/bin.
export PATH="$work/venv/bin:/usr/bin:/bin"
unset VIRTUAL_ENV CARGO_HOME RUSTUP_HOME
if command -v cargo >/dev/null || command -v rustc >/dev/null; then
    echo "a Rust toolchain is still on PATH: $(command -v cargo rustc)" >&2
    exit 1
fi
# Binary packages only: nothing may be compiled here.
pip install --quiet --only-binary=:all: "$wheel"
cd "$work"
OMP_NUM_THREADS=1 python - <<'PY'
import numpy as np

import genaug

x = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
y = np.repeat([0, 1, 2], 100)
model = genaug.VAE(seed=0).fit(x, y, epochs=3, progress=False)
rows = model.sample(50, y=2)
assert rows.shape == (50, 4) and rows.dtype == np.float32, (rows.shape, rows.dtype)
assert np.isfinite(rows).all()
print(f"wheel in a fresh environment: genaug {genaug.__version__} from {genaug.__file__}")
print(repr(model))
PY
