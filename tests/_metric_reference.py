"""Plain NumPy/SciPy implementations of the formulas of ``genaug.metrics``, which the tests
compare the native ones with. Each function takes what its ``genaug.metrics`` namesake takes:
arrays of shape (N, ...) or pandas DataFrames, ``discrete_columns`` and ``standardize``."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from scipy import linalg, stats
from scipy.spatial.distance import cdist, pdist
from sklearn.metrics import roc_auc_score

Data: TypeAlias = np.ndarray | pd.DataFrame
Columns: TypeAlias = Sequence[int] | None

REPORT_KEYS = [
    "mmd",
    "precision",
    "recall",
    "density",
    "coverage",
    "frechet_distance",
    "classifier_auc",
    "dcr_ratio",
    "duplicate_rate",
    "ks",
    "tvd",
    "correlation_difference",
]


class Column:
    """One column of a data set: its name, raw values (float64, or objects for a DataFrame's
    discrete columns) and whether it is discrete."""

    def __init__(self, name: str, values: np.ndarray, discrete: bool) -> None:
        self.name = name
        self.values = values
        self.discrete = discrete


def _frame_discrete(column: pd.Series) -> bool:
    """Whether a DataFrame column is discrete (booleans, categories, strings, objects) rather
    than continuous (integers, floats), as genaug's ``_frame`` decides."""
    types = pd.api.types
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype) or types.is_bool_dtype(dtype):
        return True
    return not (types.is_integer_dtype(dtype) or types.is_float_dtype(dtype))


def columns(data: Data, discrete_columns: Columns = None) -> list[Column]:
    """The columns of ``data``: a DataFrame's own, or the flattened (N, D) array's, named "0",
    "1", ...; raises ``ValueError`` on a missing value."""
    if isinstance(data, pd.DataFrame):
        if data.isna().any().any():
            raise ValueError("missing value")
        out = []
        for name in data.columns:
            column = data[name]
            if _frame_discrete(column):
                out.append(Column(str(name), column.to_numpy(dtype=object), True))
            else:
                out.append(Column(str(name), column.to_numpy(dtype=np.float64), False))
        return out
    x = np.asarray(data, dtype=np.float64)
    x = x.reshape(len(x), -1)
    if np.isnan(x).any():
        raise ValueError("NaN")
    discrete = set(discrete_columns or ())
    return [Column(str(j), x[:, j], j in discrete) for j in range(x.shape[1])]


def is_table(data: Data, discrete_columns: Columns) -> bool:
    """A DataFrame, or an array with discrete columns."""
    return isinstance(data, pd.DataFrame) or bool(discrete_columns)


def encode(
    real: Data,
    generated: Data,
    discrete_columns: Columns = None,
    standardize: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The feature rows (float64, 2-D) of ``real`` and ``generated`` that the distance-based
    metrics use: continuous columns raw or standardized by the real data's mean and sd (ddof=0,
    sd 1 for a constant column), discrete columns one-hot over the real data's sorted values
    plus one slot for generated values unseen in real (only when there are some)."""
    table = is_table(real, discrete_columns)
    scale = bool(standardize) if standardize is not None else table
    rc, gc = columns(real, discrete_columns), columns(generated, discrete_columns)
    if len(rc) != len(gc):
        raise ValueError(f"{len(rc)} columns against {len(gc)}")
    if not table and not scale:
        return (
            np.column_stack([c.values for c in rc]).astype(np.float64),
            np.column_stack([c.values for c in gc]).astype(np.float64),
        )
    r_blocks: list[np.ndarray] = []
    g_blocks: list[np.ndarray] = []
    for r, g in zip(rc, gc, strict=True):
        if r.discrete and table:
            categories = sorted(set(r.values.tolist()))
            r_hot = np.zeros((len(r.values), len(categories)))
            g_hot = np.zeros((len(g.values), len(categories)))
            for j, category in enumerate(categories):
                r_hot[:, j] = [v == category for v in r.values]
                g_hot[:, j] = [v == category for v in g.values]
            r_blocks.append(r_hot)
            g_blocks.append(g_hot)
            unseen = g_hot.sum(axis=1) == 0
            if unseen.any():
                r_blocks.append(np.zeros((len(r.values), 1)))
                g_blocks.append(unseen[:, None].astype(np.float64))
        else:
            rv, gv = r.values.astype(np.float64), g.values.astype(np.float64)
            if scale:
                mean, sd = rv.mean(), rv.std()
                sd = sd if sd > 0 else 1.0
                rv, gv = (rv - mean) / sd, (gv - mean) / sd
            r_blocks.append(rv[:, None])
            g_blocks.append(gv[:, None])
    return np.hstack(r_blocks), np.hstack(g_blocks)


def median_bandwidth(real_features: np.ndarray) -> float:
    """The median heuristic: the median positive distance among pairs of up to 1000 real rows
    at indices floor(i * N / m), or 1.0 when no distance is positive."""
    n = len(real_features)
    m = min(n, 1000)
    rows = real_features[(np.arange(m) * n) // m]
    distances = pdist(rows)
    positive = distances[distances > 0]
    return float(np.median(positive)) if len(positive) else 1.0


def mmd(
    real: Data,
    generated: Data,
    *,
    bandwidth: float | None = None,
    discrete_columns: Columns = None,
    standardize: bool | None = None,
) -> float:
    """Biased squared MMD with a Gaussian kernel, all pairs including i = j, clipped at 0."""
    r, g = encode(real, generated, discrete_columns, standardize)
    s = median_bandwidth(r) if bandwidth is None else float(bandwidth)

    def kernel_mean(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.exp(-cdist(a, b, "sqeuclidean") / (2 * s * s)).mean())

    value = kernel_mean(r, r) + kernel_mean(g, g) - 2 * kernel_mean(r, g)
    return max(value, 0.0)


def kth_other_distance(features: np.ndarray, k: int) -> np.ndarray:
    """Each row's distance to its k-th nearest other row of the same set."""
    return np.sort(cdist(features, features), axis=1)[:, k]


def precision_recall_density_coverage(
    real: Data,
    generated: Data,
    *,
    k: int = 5,
    discrete_columns: Columns = None,
    standardize: bool | None = None,
) -> dict[str, float]:
    """Precision, recall, density and coverage of Naeem et al. 2020 (as ``prdc``)."""
    r, g = encode(real, generated, discrete_columns, standardize)
    real_radii = kth_other_distance(r, k)
    fake_radii = kth_other_distance(g, k)
    d = cdist(r, g)
    inside_real = d < real_radii[:, None]
    return {
        "precision": float(inside_real.any(axis=0).mean()),
        "recall": float((d < fake_radii[None, :]).any(axis=1).mean()),
        "density": float(inside_real.sum(axis=0).mean() / k),
        "coverage": float((d.min(axis=1) < real_radii).mean()),
    }


def frechet_distance(
    real: Data,
    generated: Data,
    *,
    discrete_columns: Columns = None,
    standardize: bool | None = None,
) -> float:
    """||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)), covariances with ddof=1."""
    r, g = encode(real, generated, discrete_columns, standardize)
    s_r = np.atleast_2d(np.cov(r, rowvar=False))
    s_g = np.atleast_2d(np.cov(g, rowvar=False))
    with warnings.catch_warnings():
        # One-hot blocks make covariances singular; sqrtm is still accurate enough for them.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(s_r @ s_g).real
    diff = r.mean(axis=0) - g.mean(axis=0)
    return float(diff @ diff + np.trace(s_r + s_g - 2 * root))


def _raw_rows(data: Data, discrete_columns: Columns) -> list[tuple[Any, ...]]:
    cols = columns(data, discrete_columns)
    return list(zip(*[c.values.tolist() for c in cols], strict=True))


def memorisation(
    train: Data,
    generated: Data,
    *,
    discrete_columns: Columns = None,
    standardize: bool | None = None,
) -> dict[str, float]:
    """``dcr_ratio``: median distance from generated rows to their nearest train row over the
    median distance from train rows to their nearest other train row (nan if that is 0);
    ``duplicate_rate``: share of generated rows equal to some train row in every raw value.
    ``train`` is the "real" set of the encoding (its means, sds and categories)."""
    t, g = encode(train, generated, discrete_columns, standardize)
    to_train = cdist(g, t).min(axis=1)
    within = cdist(t, t)
    np.fill_diagonal(within, np.inf)
    denominator = float(np.median(within.min(axis=1)))
    ratio = float(np.median(to_train)) / denominator if denominator > 0 else float("nan")
    seen = set(_raw_rows(train, discrete_columns))
    rows = _raw_rows(generated, discrete_columns)
    return {
        "dcr_ratio": ratio,
        "duplicate_rate": sum(row in seen for row in rows) / len(rows),
    }


def classifier_auc(
    real: Data,
    generated: Data,
    *,
    k: int = 5,
    discrete_columns: Columns = None,
    standardize: bool | None = None,
) -> float:
    """ROC AUC of the k-nearest-neighbour two-sample test: each pooled row's score is the share
    of generated rows among its k nearest other pooled rows (ties: lower pooled index first)."""
    r, g = encode(real, generated, discrete_columns, standardize)
    pooled = np.vstack([r, g])
    labels = np.r_[np.zeros(len(r)), np.ones(len(g))]
    d = cdist(pooled, pooled)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
    scores = labels[nearest].mean(axis=1)
    return float(roc_auc_score(labels, scores))


def total_variation(real_values: np.ndarray, generated_values: np.ndarray) -> float:
    """0.5 * sum over values c of |p_real(c) - p_generated(c)|."""
    p, q = Counter(real_values.tolist()), Counter(generated_values.tolist())
    n, m = len(real_values), len(generated_values)
    return 0.5 * sum(abs(p[c] / n - q[c] / m) for c in set(p) | set(q))


def column_fidelity(
    real: Data, generated: Data, *, discrete_columns: Columns = None
) -> dict[str, float]:
    """Per column: the two-sample KS statistic (continuous) or total variation distance
    (discrete), on raw values."""
    out = {}
    for r, g in zip(
        columns(real, discrete_columns), columns(generated, discrete_columns), strict=True
    ):
        if r.discrete:
            out[r.name] = total_variation(r.values, g.values)
        else:
            out[r.name] = float(stats.ks_2samp(r.values, g.values).statistic)
    return out


def correlations(x: np.ndarray) -> np.ndarray:
    """Pearson correlations among the columns of x; 0 for any pair with a constant column."""
    centred = x - x.mean(axis=0)
    sd = np.sqrt((centred**2).sum(axis=0))
    safe = np.where(sd > 0, sd, 1.0)
    corr = (centred.T @ centred) / np.outer(safe, safe)
    constant = sd == 0
    corr[constant, :] = 0.0
    corr[:, constant] = 0.0
    return corr


def correlation_difference(
    real: Data, generated: Data, *, discrete_columns: Columns = None
) -> float:
    """Mean over pairs i < j of continuous columns of |corr_real - corr_generated| (raw values);
    nan with fewer than two continuous columns."""
    rc, gc = columns(real, discrete_columns), columns(generated, discrete_columns)
    r = [c.values for c in rc if not c.discrete]
    g = [c.values for c, keep in zip(gc, rc, strict=True) if not keep.discrete]
    if len(r) < 2:
        return float("nan")
    diff = np.abs(correlations(np.column_stack(r)) - correlations(np.column_stack(g)))
    return float(diff[np.triu_indices(len(r), 1)].mean())


def _mean_or_nan(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def report(
    real: Data,
    generated: Data,
    train: Data | None = None,
    *,
    k: int = 5,
    discrete_columns: Columns = None,
    standardize: bool | None = None,
) -> dict[str, float]:
    """Every metric, memorisation against ``train`` (``real`` when it is None)."""
    enc: dict[str, Any] = {"discrete_columns": discrete_columns, "standardize": standardize}
    fidelity = column_fidelity(real, generated, discrete_columns=discrete_columns)
    kinds = {c.name: c.discrete for c in columns(real, discrete_columns)}
    out = {"mmd": mmd(real, generated, **enc)}
    out.update(precision_recall_density_coverage(real, generated, k=k, **enc))
    out["frechet_distance"] = frechet_distance(real, generated, **enc)
    out["classifier_auc"] = classifier_auc(real, generated, k=k, **enc)
    out.update(memorisation(real if train is None else train, generated, **enc))
    out["ks"] = _mean_or_nan([v for name, v in fidelity.items() if not kinds[name]])
    out["tvd"] = _mean_or_nan([v for name, v in fidelity.items() if kinds[name]])
    out["correlation_difference"] = correlation_difference(
        real, generated, discrete_columns=discrete_columns
    )
    return {key: out[key] for key in REPORT_KEYS}
