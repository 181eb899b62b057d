"""Is the generated data any good? Fidelity, diversity, distinguishability and memorisation of
generated rows against real ones, computed natively with the GIL released.

Every function takes ``real`` and ``generated`` as ``fit`` takes data: arrays of any shape
``(N, ...)`` (each row flattened to its values) or pandas DataFrames with the same columns.

**Feature space.** Distance-based metrics (MMD, precision/recall/density/coverage, the Fréchet
distance, the classifier test, memorisation) measure rows as vectors:

- a plain array: its values as given (pass your own embeddings to measure in their space);
- a table (a DataFrame, or an array given ``discrete_columns``): each continuous column
  standardised by the real rows' mean and standard deviation (``standardize=False`` keeps the
  raw values), each discrete column one-hot over the real rows' categories, plus one slot shared by
  any value the real rows never had (so two rows differing in one category are sqrt(2) apart).

Rows must be complete: NaN or a missing cell raises ``DataError`` (fill them first, for example
with ``model.impute``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from genaug import _frame
from genaug._core import _metric
from genaug.exceptions import DataError, ParameterError, ShapeError

__all__ = [
    "classifier_auc",
    "column_fidelity",
    "correlation_difference",
    "frechet_distance",
    "memorisation",
    "mmd",
    "precision_recall_density_coverage",
    "report",
]


def _array_matrix(x: Any, what: str) -> np.ndarray:
    try:
        array = np.asarray(x)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"dtype {array.dtype}")
        array = array.astype(np.float64)
    except (TypeError, ValueError) as e:
        raise DataError(f"{what} cannot be read as a numeric array: {e}") from e
    if array.ndim < 1 or len(array) == 0:
        raise ShapeError(f"{what} must hold at least one row, got shape {array.shape}")
    return np.ascontiguousarray(array.reshape(len(array), -1))


def _check_complete(frame: Any, what: str) -> None:
    """A ``DataError`` naming the first missing cell of a frame by its column."""
    gaps = frame.isna().to_numpy()
    if gaps.any():
        row, col = (int(i[0]) for i in np.nonzero(gaps))
        raise DataError(
            f"{what} has a missing value in column {frame.columns[col]!r} (row {row}); metrics "
            "take complete rows (fill missing values first, for example with a model's impute)"
        )


def _table(
    real: Any, others: Sequence[tuple[Any, str]], discrete_columns: Sequence[int] | None
) -> tuple[np.ndarray, list[np.ndarray | None], list[bool], list[str], bool]:
    """Each set as a float64 matrix of raw values and discrete codes, with each column's kind
    and name, and whether the rows form a table (and so are standardised by default)."""
    if _frame.is_frame(real):
        if discrete_columns is not None:
            raise ParameterError(
                "discrete_columns is for NumPy arrays; a DataFrame's columns say what they are"
            )
        _check_complete(real, "real")
        entries = _frame.describe(real)
        values = _frame.matrix(real, entries, "real")
        out: list[np.ndarray | None] = []
        for x, what in others:
            if x is None:
                out.append(None)
            elif not _frame.is_frame(x):
                raise ShapeError(f"real is a DataFrame, so {what} must be one too")
            else:
                _check_complete(x, what)
                out.append(_frame.matrix(x, entries, what))
        discrete = [e["kind"] == _frame.DISCRETE for e in entries]
        return values, out, discrete, [e["name"] for e in entries], True
    values = _array_matrix(real, "real")
    out = [None if x is None else _array_matrix(x, what) for x, what in others]
    width = values.shape[1]
    discrete = [False] * width
    for j in discrete_columns or ():
        if isinstance(j, bool) or not isinstance(j, int | np.integer) or not 0 <= j < width:
            raise ParameterError(f"discrete_columns holds {j!r}, not a column index below {width}")
        discrete[int(j)] = True
    return values, out, discrete, [str(j) for j in range(width)], any(discrete)


def _run(
    which: str,
    real: Any,
    generated: Any,
    *,
    train: Any = None,
    discrete_columns: Sequence[int] | None = None,
    standardize: bool | None = None,
    k: int = 5,
    bandwidth: float | None = None,
) -> Any:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ParameterError(f"k must be a positive integer, got {k!r}")
    values, (gen, tr), discrete, names, table = _table(
        real, [(generated, "generated"), (train, "train")], discrete_columns
    )
    scale = table if standardize is None else bool(standardize)
    assert gen is not None
    return _metric(which, values, gen, tr, discrete, names, scale, int(k), bandwidth)


def mmd(
    real: Any,
    generated: Any,
    *,
    bandwidth: float | None = None,
    discrete_columns: Sequence[int] | None = None,
    standardize: bool | None = None,
) -> float:
    """The squared maximum mean discrepancy (Gretton et al. 2012), biased estimate:
    ``mean K(x, x') + mean K(y, y') - 2 mean K(x, y)`` over all pairs (each row with itself
    included), ``K(a, b) = exp(-|a - b|^2 / (2 s^2))``. 0 for identical sets, at most 2.

    ``s`` defaults to the median heuristic: the median distance between distinct pairs of (at
    most 1,000 evenly spaced) real rows ``floor(i * N / m)``."""
    return float(
        _run(
            "mmd",
            real,
            generated,
            discrete_columns=discrete_columns,
            standardize=standardize,
            bandwidth=bandwidth,
        )
    )


def precision_recall_density_coverage(
    real: Any,
    generated: Any,
    *,
    k: int = 5,
    discrete_columns: Sequence[int] | None = None,
    standardize: bool | None = None,
) -> dict[str, float]:
    """Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models". With
    ``r_i`` the distance from real row ``x_i`` to its ``k``-th nearest other real row and
    ``f_j`` likewise among generated rows ``y_j`` (``N`` real, ``M`` generated rows)::

        precision = 1/M sum_j [exists i: |x_i - y_j| < r_i]    (fidelity)
        recall    = 1/N sum_i [exists j: |x_i - y_j| < f_j]    (diversity)
        density   = 1/(kM) sum_j sum_i [|x_i - y_j| < r_i]     (fidelity, ~1 for a match)
        coverage  = 1/N sum_i [min_j |x_i - y_j| < r_i]        (diversity)
    """
    result: dict[str, float] = _run(
        "prdc", real, generated, k=k, discrete_columns=discrete_columns, standardize=standardize
    )
    return result


def frechet_distance(
    real: Any,
    generated: Any,
    *,
    discrete_columns: Sequence[int] | None = None,
    standardize: bool | None = None,
) -> float:
    """The Fréchet distance between Gaussian fits of the two sets (Dowson & Landau 1982; FID
    when the rows are Inception features): ``|mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^½)``,
    with sample covariances (``ddof=1``)."""
    return float(
        _run(
            "frechet_distance",
            real,
            generated,
            discrete_columns=discrete_columns,
            standardize=standardize,
        )
    )


def classifier_auc(
    real: Any,
    generated: Any,
    *,
    k: int = 5,
    discrete_columns: Sequence[int] | None = None,
    standardize: bool | None = None,
) -> float:
    """A classifier two-sample test (Lopez-Paz & Oquab 2017) with a k-nearest-neighbour
    classifier: the real and generated rows are pooled, each row is scored by the share of its
    ``k`` nearest other rows that are generated (ties in distance going to the real row), and
    the result is the ROC AUC of those scores with generated rows as positives. 0.5: the sets
    cannot be told apart; 1: they separate completely. Needs no training, so it is
    deterministic. A generator that copies its training rows also scores 0.5: see
    :func:`memorisation`."""
    return float(
        _run(
            "classifier_auc",
            real,
            generated,
            k=k,
            discrete_columns=discrete_columns,
            standardize=standardize,
        )
    )


def memorisation(
    train: Any,
    generated: Any,
    *,
    discrete_columns: Sequence[int] | None = None,
    standardize: bool | None = None,
) -> dict[str, float]:
    """How much a generator copies its training rows.

    - ``dcr_ratio``: the median distance from a generated row to its closest training row
      (distance to closest record, DCR), over the median distance from a training row to its
      closest other training row. About 1 for fresh rows from the training distribution, near 0
      for copies; NaN if the training rows' median is 0.
    - ``duplicate_rate``: the fraction of generated rows equal, value for value, to some training
      row.
    """
    result: dict[str, float] = _run(
        "memorisation",
        train,
        generated,
        discrete_columns=discrete_columns,
        standardize=standardize,
    )
    return result


def column_fidelity(
    real: Any, generated: Any, *, discrete_columns: Sequence[int] | None = None
) -> dict[str, float]:
    """Each column's distance between the two sets' marginals, by column name (``"0"``,
    ``"1"``, ... for arrays): the two-sample Kolmogorov-Smirnov statistic ``sup_t |F_r(t) -
    F_g(t)|`` for continuous columns, the total variation distance ``½ sum_c |p_r(c) -
    p_g(c)|`` for discrete ones. 0 for equal marginals, 1 for disjoint ones. (sdmetrics'
    ``KSComplement`` and ``TVComplement`` are one minus these.)"""
    result: dict[str, float] = _run("columns", real, generated, discrete_columns=discrete_columns)
    return result


def correlation_difference(
    real: Any, generated: Any, *, discrete_columns: Sequence[int] | None = None
) -> float:
    """The mean of ``|corr_r(i, j) - corr_g(i, j)|`` over pairs of distinct continuous columns,
    with Pearson correlations of the raw values (a constant column's correlations taken as 0).
    0 when the correlation matrices agree, at most 2; NaN with fewer than two continuous
    columns."""
    return float(_run("correlation_difference", real, generated, discrete_columns=discrete_columns))


def report(
    real: Any,
    generated: Any,
    train: Any = None,
    *,
    k: int = 5,
    discrete_columns: Sequence[int] | None = None,
    standardize: bool | None = None,
) -> dict[str, float]:
    """Every metric of this module in one pass over the pairwise distances:

    ``mmd``, ``precision``, ``recall``, ``density``, ``coverage``, ``frechet_distance``,
    ``classifier_auc``, ``dcr_ratio`` and ``duplicate_rate`` (memorisation of ``train``, the rows
    the generator was fitted on; of ``real`` when not given), ``ks`` (the mean KS statistic over
    continuous columns), ``tvd`` (the mean total variation distance over discrete columns; NaN
    without any) and ``correlation_difference``.

    Pass a held-out split as ``real`` and the training split as ``train`` to tell a generator
    that learnt the distribution from one that copies."""
    result: dict[str, float] = _run(
        "report",
        real,
        generated,
        train=train,
        k=k,
        discrete_columns=discrete_columns,
        standardize=standardize,
    )
    return result
