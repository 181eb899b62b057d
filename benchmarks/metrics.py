"""Speed of ``genaug.metrics``: ``report`` and each metric behind it, next to a NumPy / SciPy /
scikit-learn / ``prdc`` reference doing the same work, on one CPU thread, in one run.

Data: ``rng = np.random.default_rng(seed)``; 10,000 x 64 "real" rows from a standard normal, then
10,000 x 64 "generated" rows from a standard normal shifted by 0.1 (plain arrays: no
standardisation, the values as given). ``report(real, generated, k=5)``, so memorisation is
measured against ``real``.

Reference (written the direct way, not tuned):

- mmd: the median heuristic on the spec's 1,000 evenly spaced real rows (``scipy.spatial.
  distance.pdist``, ``np.median``), then the biased squared MMD with an RBF kernel, in NumPy, in
  blocks of 1,000 rows;
- precision / recall / density / coverage: ``prdc.compute_prdc(real, generated, nearest_k=k)``
  (its ``pairwise_distances(..., n_jobs=8)`` pinned to ``n_jobs=1`` here, for one thread);
- frechet_distance: ``np.cov`` and ``scipy.linalg.sqrtm``;
- memorisation: ``sklearn.neighbors.NearestNeighbors`` distances to the nearest training row
  (and nearest other training row); exact duplicates through a set of row bytes;
- classifier_auc: ``NearestNeighbors`` k nearest other pooled rows, ``roc_auc_score`` (its ties
  between equal distances are not broken by index as genaug's are; continuous data has none);
- column_fidelity: ``scipy.stats.ks_2samp`` per column; correlation_difference: ``np.corrcoef``.

Each is timed with ``time.perf_counter``, best of ``--repeats`` (3) runs; the reference report is
all of them in turn. Printed: seconds for genaug and the reference with their ratio (above 1:
genaug is faster), then both sets of values and their absolute difference.

Run: ``python benchmarks/metrics.py [--seeds 0] [--rows 10000] [--dim 64] [--shift 0.1]
[--repeats 3] [--no-genaug]`` (``--no-genaug`` times the reference alone). The reference needs
``prdc`` (``pip install prdc``) and holds three rows x rows distance matrices (2.4 GB at 10,000).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import time
from collections.abc import Callable
from typing import Any

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402
import prdc.prdc  # noqa: E402
import scipy.linalg  # noqa: E402
import sklearn.metrics  # noqa: E402
import torch  # noqa: E402
from scipy.spatial.distance import pdist  # noqa: E402
from scipy.stats import ks_2samp  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.neighbors import NearestNeighbors  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402


def _pairwise_one_thread(data_x, data_y=None):
    """prdc's compute_pairwise_distance with n_jobs=1 instead of 8."""
    return sklearn.metrics.pairwise_distances(
        data_x, data_x if data_y is None else data_y, metric="euclidean", n_jobs=1
    )


prdc.prdc.compute_pairwise_distance = _pairwise_one_thread


# --- reference ---------------------------------------------------------------------------------


def ref_mmd(real: np.ndarray, generated: np.ndarray, block: int = 1000) -> float:
    n = len(real)
    m = min(n, 1000)
    distances = pdist(real[(np.arange(m) * n) // m])
    distances = distances[distances > 0]
    bandwidth = float(np.median(distances)) if distances.size else 1.0
    gamma = 1.0 / (2.0 * bandwidth**2)

    def mean_kernel(a: np.ndarray, b: np.ndarray) -> float:
        b_sq = np.einsum("ij,ij->i", b, b)
        total = 0.0
        for start in range(0, len(a), block):
            rows = a[start : start + block]
            sq = np.einsum("ij,ij->i", rows, rows)[:, None] + b_sq[None, :] - 2.0 * rows @ b.T
            np.maximum(sq, 0.0, out=sq)
            total += float(np.exp(-gamma * sq).sum())
        return total / (len(a) * len(b))

    value = (
        mean_kernel(real, real)
        + mean_kernel(generated, generated)
        - 2 * mean_kernel(real, generated)
    )
    return max(value, 0.0)


def ref_prdc(real: np.ndarray, generated: np.ndarray, k: int) -> dict[str, float]:
    with contextlib.redirect_stdout(io.StringIO()):  # it prints the row counts
        values = prdc.prdc.compute_prdc(real, generated, nearest_k=k)
    return {key: float(value) for key, value in values.items()}


def ref_frechet(real: np.ndarray, generated: np.ndarray) -> float:
    diff = real.mean(axis=0) - generated.mean(axis=0)
    cov_r = np.cov(real, rowvar=False)
    cov_g = np.cov(generated, rowvar=False)
    covmean = np.real(scipy.linalg.sqrtm(cov_r @ cov_g))
    return float(diff @ diff + np.trace(cov_r + cov_g - 2.0 * covmean))


def ref_memorisation(train: np.ndarray, generated: np.ndarray) -> dict[str, float]:
    nn = NearestNeighbors(n_neighbors=1).fit(train)
    to_train = nn.kneighbors(generated)[0][:, 0]
    within = nn.kneighbors()[0][:, 0]  # no X: each row's nearest OTHER row
    denominator = float(np.median(within))
    dcr = float(np.median(to_train)) / denominator if denominator > 0 else float("nan")
    seen = {row.tobytes() for row in train + 0.0}  # + 0.0 turns -0.0 into 0.0
    duplicates = float(np.mean([row.tobytes() in seen for row in generated + 0.0]))
    return {"dcr_ratio": dcr, "duplicate_rate": duplicates}


def ref_classifier_auc(real: np.ndarray, generated: np.ndarray, k: int) -> float:
    pooled = np.vstack([real, generated])
    labels = np.r_[np.zeros(len(real)), np.ones(len(generated))]
    neighbours = NearestNeighbors(n_neighbors=k).fit(pooled).kneighbors(return_distance=False)
    return float(roc_auc_score(labels, labels[neighbours].mean(axis=1)))


def ref_ks(real: np.ndarray, generated: np.ndarray) -> float:
    columns = range(real.shape[1])
    return float(np.mean([ks_2samp(real[:, j], generated[:, j]).statistic for j in columns]))


def ref_correlation_difference(real: np.ndarray, generated: np.ndarray) -> float:
    if real.shape[1] < 2:
        return float("nan")
    upper = np.triu_indices(real.shape[1], k=1)
    corr_r = np.nan_to_num(np.corrcoef(real, rowvar=False)[upper])
    corr_g = np.nan_to_num(np.corrcoef(generated, rowvar=False)[upper])
    return float(np.mean(np.abs(corr_r - corr_g)))


def ref_report(real: np.ndarray, generated: np.ndarray, k: int) -> dict[str, float]:
    return {
        "mmd": ref_mmd(real, generated),
        **ref_prdc(real, generated, k),
        "frechet_distance": ref_frechet(real, generated),
        "classifier_auc": ref_classifier_auc(real, generated, k),
        **ref_memorisation(real, generated),
        "ks": ref_ks(real, generated),
        "tvd": float("nan"),  # no discrete columns
        "correlation_difference": ref_correlation_difference(real, generated),
    }


# --- timing ------------------------------------------------------------------------------------

# name: (genaug call, reference call), each taking (genaug.metrics, real, generated, k)
Call = Callable[[Any, np.ndarray, np.ndarray, int], Any]
COMPONENTS: dict[str, tuple[Call, Call]] = {
    "mmd": (lambda m, r, g, k: m.mmd(r, g), lambda _, r, g, k: ref_mmd(r, g)),
    "precision_recall_density_coverage": (
        lambda m, r, g, k: m.precision_recall_density_coverage(r, g, k=k),
        lambda _, r, g, k: ref_prdc(r, g, k),
    ),
    "frechet_distance": (
        lambda m, r, g, k: m.frechet_distance(r, g),
        lambda _, r, g, k: ref_frechet(r, g),
    ),
    "memorisation": (
        lambda m, r, g, k: m.memorisation(r, g),
        lambda _, r, g, k: ref_memorisation(r, g),
    ),
    "classifier_auc": (
        lambda m, r, g, k: m.classifier_auc(r, g, k=k),
        lambda _, r, g, k: ref_classifier_auc(r, g, k),
    ),
    "column_fidelity": (
        lambda m, r, g, k: m.column_fidelity(r, g),
        lambda _, r, g, k: ref_ks(r, g),
    ),
    "correlation_difference": (
        lambda m, r, g, k: m.correlation_difference(r, g),
        lambda _, r, g, k: ref_correlation_difference(r, g),
    ),
    "report": (
        lambda m, r, g, k: m.report(r, g, k=k),
        lambda _, r, g, k: ref_report(r, g, k),
    ),
}


def best_of(repeats: int, call: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """The fastest of `repeats` runs of call(*args), in seconds, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call(*args)
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--shift", type=float, default=0.1)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--components", nargs="+", default=list(COMPONENTS), choices=COMPONENTS)
    parser.add_argument("--no-genaug", action="store_true", help="time the reference alone")
    args = parser.parse_args()
    torch.set_num_threads(1)
    metrics: Any = None
    if not args.no_genaug:
        import genaug.metrics as metrics

    with threadpool_limits(limits=1):
        for seed in args.seeds:
            rng = np.random.default_rng(seed)
            real = rng.standard_normal((args.rows, args.dim))
            generated = rng.standard_normal((args.rows, args.dim)) + args.shift
            print(
                f"\n## seed {seed}: {args.rows} x {args.dim} standard normal vs shifted by "
                f"{args.shift}, k={args.k}; best of {args.repeats}; 1 thread\n"
            )
            print("| metric | genaug s | reference s | reference / genaug |")
            print("| --- | --- | --- | --- |")
            values: dict[str, dict[str, float]] = {}
            for name in args.components:
                ours, theirs = COMPONENTS[name]
                ref_s, ref_value = best_of(args.repeats, theirs, None, real, generated, args.k)
                if name == "report":
                    values["reference"] = ref_value
                if metrics is None:
                    print(f"| {name} | - | {ref_s:.4g} | - |", flush=True)
                    continue
                our_s, our_value = best_of(args.repeats, ours, metrics, real, generated, args.k)
                if name == "report":
                    values["genaug"] = our_value
                print(f"| {name} | {our_s:.4g} | {ref_s:.4g} | {ref_s / our_s:.1f}x |", flush=True)

            if values:
                print("\n| value | genaug | reference | abs difference |")
                print("| --- | --- | --- | --- |")
                for key in values["reference"]:
                    ref = float(values["reference"][key])
                    if "genaug" not in values:
                        print(f"| {key} | - | {ref:.6g} | - |")
                        continue
                    our = float(values["genaug"][key])
                    diff = "-" if np.isnan(our) and np.isnan(ref) else f"{abs(our - ref):.2e}"
                    print(f"| {key} | {our:.6g} | {ref:.6g} | {diff} |")


if __name__ == "__main__":
    main()
