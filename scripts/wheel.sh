#!/usr/bin/env bash
# Builds the release wheel and the sdist into dist/.
#
# The wheel is abi3 (one wheel for CPython >= 3.11) and holds only genaug: libtorch and the CUDA
# libraries come from the installed `torch` package at run time (the extension's RUNPATH points
# into it), so auditwheel's repair, which would copy them in, is skipped. Its platform tag is
# manylinux_2_34: the newest glibc symbol the extension may use is checked below, since the tag
# is a promise to every machine that installs it (glibc 2.34, libstdc++'s GLIBCXX 3.4.29 and
# CXXABI 1.3.13 at most, as the manylinux_2_34 policy says).
set -euo pipefail
cd "$(dirname "$0")/.."
policy="2_34"

if [ ! -x .venv/bin/python ]; then
    bash scripts/setup.sh
fi
# shellcheck disable=SC1091
source .venv/bin/activate
rm -rf dist
maturin build --release --compatibility "manylinux_${policy}" --auditwheel skip --out dist
maturin sdist --out dist

wheel="$(ls dist/*.whl)"
python - "$wheel" "$policy" <<'PY'
import re
import subprocess
import sys
import tempfile
import zipfile

wheel, policy = sys.argv[1], tuple(int(p) for p in sys.argv[2].split("_"))
limits = {"GLIBC": policy, "GLIBCXX": (3, 4, 29), "CXXABI": (1, 3, 13)}
with zipfile.ZipFile(wheel) as z, tempfile.TemporaryDirectory() as tmp:
    names = z.namelist()
    libs = [n for n in names if n.endswith(".so") or ".so." in n]
    if libs != ["genaug/_core.abi3.so"]:
        sys.exit(f"the wheel should hold one native library, genaug/_core.abi3.so, not {libs}")
    path = z.extract(libs[0], tmp)
    try:
        symbols = subprocess.run(["objdump", "-T", path], capture_output=True, text=True).stdout
    except FileNotFoundError:
        sys.exit("objdump (binutils) is needed to check the wheel's manylinux tag")
for name, limit in limits.items():
    versions = re.findall(rf"\b{name}_([0-9.]+)", symbols)
    newest = max((tuple(int(p) for p in v.split(".")) for v in versions), default=())
    if newest > limit:
        sys.exit(f"the extension needs {name} {newest}, newer than manylinux_{sys.argv[2]} allows")
    print(f"needs {name} {'.'.join(map(str, newest))} (at most {'.'.join(map(str, limit))})")
print(f"{wheel}: abi3, manylinux_{sys.argv[2]}")
PY
ls -l dist
