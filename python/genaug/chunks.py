"""Generation in fixed chunks: the unit of work that Ray, Dask or Spark run in parallel.

``plan(model, n, seed=...)`` cuts a job of ``n`` rows into ``plan.count`` chunks of
``rows_per_chunk`` rows (the last one shorter). Chunk ``i`` is drawn with its own seed, derived
from ``(seed, i)``, and gets its share of the job's labels by position, so a chunk is the same
whichever process draws it and in whatever order: the rows depend only on the model, ``n``,
``rows_per_chunk``, ``seed`` and ``y`` (on one kind of device with the same threads per
worker), never on how many workers share the job.

A plan is small and pickles; the model travels separately (as ``model.to_bytes()``), once per
worker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from genaug import _checks
from genaug._checks import is_count
from genaug._core import GAN, VAE, from_bytes
from genaug._seeds import derived_seed
from genaug.exceptions import LabelError, ParameterError

__all__ = ["DEFAULT_ROWS_PER_CHUNK", "ChunkFrames", "ChunkPlan", "plan"]

# Large enough that a chunk's fixed costs (a task, a block) are small beside drawing it, small
# enough that a job of a few hundred thousand rows still spreads over several workers.
DEFAULT_ROWS_PER_CHUNK = 16_384


@dataclass(frozen=True)
class ChunkPlan:
    """What each chunk of one generation job holds. Build it with ``plan``."""

    n: int
    rows_per_chunk: int
    seed: int
    #: ``(class, count)`` runs in row order, or one label per row; ``None``: the model draws
    #: them (unconditional, or a table conditioned on a column: each chunk in training shares).
    labels: tuple[tuple[Any, int], ...] | np.ndarray | None
    #: Column names for a NumPy-fitted model's features (one column holding each sample's
    #: array for images and sequences); ``None`` for a DataFrame-fitted model.
    columns: tuple[str, ...] | None
    #: The label column's name for a NumPy-fitted conditional model.
    labels_column: str | None

    @property
    def count(self) -> int:
        """The number of chunks."""
        return -(-self.n // self.rows_per_chunk)

    def bounds(self, index: int) -> tuple[int, int]:
        """The job's rows ``[start, stop)`` that chunk ``index`` holds."""
        if not 0 <= index < self.count:
            raise IndexError(f"chunk {index} of a plan of {self.count} chunks")
        start = index * self.rows_per_chunk
        return start, min(start + self.rows_per_chunk, self.n)

    def seed_of(self, index: int) -> int:
        return derived_seed(self.seed, index)

    def labels_of(self, index: int) -> np.ndarray | None:
        """The classes of chunk ``index``'s rows (``None``: an unconditional model)."""
        start, stop = self.bounds(index)
        if self.labels is None:
            return None
        if isinstance(self.labels, np.ndarray):
            return self.labels[start:stop]
        parts, offset = [], 0
        for value, count in self.labels:
            lo, hi = max(start, offset), min(stop, offset + count)
            if lo < hi:
                parts.append(np.full(hi - lo, value, dtype=object))
            offset += count
        return np.concatenate(parts)

    def columns_of(self, model: GAN | VAE, index: int) -> Any:
        """Chunk ``index`` drawn from ``model``: a DataFrame for a DataFrame-fitted model (its
        columns and dtypes, the label column included), otherwise a dict of NumPy columns (one
        per feature, or one array column for images and sequences, then the labels)."""
        start, stop = self.bounds(index)
        labels = self.labels_of(index)
        y = None if labels is None else labels.tolist()
        rows = model.sample(stop - start, y=y, seed=self.seed_of(index))
        if self.columns is None:
            import pandas as pd

            rows.index = pd.RangeIndex(start, stop)
            return rows
        if len(self.columns) == 1 and rows.ndim > 2:
            out = {self.columns[0]: rows}
        else:
            out = {name: np.ascontiguousarray(rows[:, j]) for j, name in enumerate(self.columns)}
        if labels is not None and self.labels_column is not None:
            out[self.labels_column] = np.asarray(y, dtype=np.int64)
        return out

    def frame_of(self, model: GAN | VAE, index: int) -> Any:
        """Chunk ``index`` as a pandas DataFrame indexed by its rows' positions in the job
        (images and sequences as a column of arrays): what Dask and Spark take."""
        import pandas as pd

        columns = self.columns_of(model, index)
        if isinstance(columns, pd.DataFrame):
            return columns
        start, stop = self.bounds(index)
        data = {k: list(v) if v.ndim > 1 else v for k, v in columns.items()}
        return pd.DataFrame(data, index=pd.RangeIndex(start, stop))

    def frames(self, model: GAN | VAE) -> ChunkFrames:
        """``frame_of`` as a picklable function of the chunk index, carrying ``model`` as its
        bytes: what Dask's ``from_map`` and Spark's ``mapInPandas`` ship to their workers."""
        return ChunkFrames(self, bytes(_checks.fitted(model).to_bytes(include_optimizer=False)))


class ChunkFrames:
    """Chunk ``i`` of a plan as a DataFrame (``frames(i)``), from a model carried as checkpoint
    bytes and rebuilt once per process. Dask tokenizes it by the plan and the bytes."""

    def __init__(self, plan: ChunkPlan, data: bytes):
        self.plan = plan
        self.data = data
        self._model: GAN | VAE | None = None

    def __call__(self, index: int) -> Any:
        if self._model is None:
            self._model = from_bytes(self.data)
        return self.plan.frame_of(self._model, int(index))

    def __getstate__(self) -> dict[str, Any]:
        return {"plan": self.plan, "data": self.data}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.plan, self.data, self._model = state["plan"], state["data"], None

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        p = self.plan
        labels: Any = p.labels
        if isinstance(p.labels, np.ndarray):
            raw = p.labels.tobytes() if p.labels.dtype != object else repr(p.labels.tolist())
            labels = (
                str(p.labels.dtype),
                hashlib.sha256(raw if isinstance(raw, bytes) else raw.encode()).hexdigest(),
            )
        digest = hashlib.sha256(self.data).hexdigest()
        return ("genaug.chunks", p.n, p.rows_per_chunk, p.seed, labels, p.columns, digest)


def plan(
    model: GAN | VAE,
    n: int | None,
    *,
    seed: int,
    rows_per_chunk: int = DEFAULT_ROWS_PER_CHUNK,
    y: Any = None,
    columns: Any = None,
    labels_column: str | None = None,
) -> ChunkPlan:
    """The chunks of a job of ``n`` rows from a fitted ``model``, checked against it.

    - ``y`` (a conditional model): one class for every row, ``{class: count}`` (rows grouped by
      class in the mapping's order; ``n`` may then be ``None``), or one class per row. Required
      for a NumPy-fitted model; without it a table fitted with ``y="column"`` gives whole rows,
      each chunk's labels in their training shares (largest remainder within the chunk, in an
      order drawn with the chunk's seed), as its ``sample(n)`` does.
    - ``columns``: names for a NumPy-fitted model's features (default ``x0``, ``x1``, ...; for
      images and sequences, the one array column's name, default ``x``).
    - ``labels_column``: the label column's name for a NumPy-fitted conditional model
      (default ``y``); a DataFrame-fitted model's is its own.
    """
    _checks.fitted(model)
    seed = _checks.seed(seed)
    if not is_count(rows_per_chunk) or int(rows_per_chunk) < 1:
        raise ParameterError(f"rows_per_chunk must be a positive integer, got {rows_per_chunk!r}")
    n, labels = _labels(model, n, y)
    names, label_name = _names(model, columns, labels_column, labels is not None)
    return ChunkPlan(n, int(rows_per_chunk), seed, labels, names, label_name)


def _check_n(n: Any) -> int:
    if not is_count(n) or int(n) < 0:
        raise ParameterError(f"n must be a non-negative integer, got {n!r}")
    return int(n)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _labels(model: GAN | VAE, n: Any, y: Any) -> tuple[int, Any]:
    classes = model.classes_
    if classes is None:
        if y is not None:
            raise LabelError(
                f"y is for a model fitted with labels; this {type(model).__name__} "
                "was fitted without"
            )
        return _check_n(n), None
    known = set(classes)

    def check(value: Any) -> Any:
        value = _plain(value)
        if value not in known:
            raise LabelError(f"{value!r} is not one of the model's classes {classes}")
        return value

    if y is None:
        if _checks.fitted_on_frame(model):
            # A table's label column is one of its columns: each chunk is whole rows, its
            # labels in their training shares, as the model's own sample(n) draws them.
            return _check_n(n), None
        raise LabelError(
            f"this {type(model).__name__} was fitted with labels: pass y, one of the classes "
            f"{classes}, {{class: count}}, or one class per row"
        )
    if isinstance(y, Mapping):
        runs = []
        for value, count in y.items():
            if not is_count(count) or int(count) < 0:
                raise ParameterError(f"y[{value!r}] must be a non-negative integer, got {count!r}")
            runs.append((check(value), int(count)))
        total = sum(c for _, c in runs)
        if n is not None and _check_n(n) != total:
            raise ParameterError(f"n={n} but the counts in y add up to {total}")
        return total, tuple(runs)
    if isinstance(y, str) or np.ndim(y) == 0:
        return _check_n(n), ((check(y), _check_n(n)),)
    each = np.asarray(y)
    if each.ndim != 1:
        raise LabelError(f"y must hold one class per row, got an array of shape {each.shape}")
    if n is not None and _check_n(n) != len(each):
        raise ParameterError(f"n={n} but y holds {len(each)} labels")
    for value in np.unique(each):
        check(value)
    return len(each), each


def _names(
    model: GAN | VAE, columns: Any, labels_column: str | None, conditional: bool
) -> tuple[tuple[str, ...] | None, str | None]:
    if _checks.fitted_on_frame(model):
        if columns is not None or labels_column is not None:
            raise ParameterError(
                "this model was fitted on a DataFrame: its rows keep that frame's column "
                "names, so columns= and labels_column= do not apply"
            )
        return None, None
    shape = model.sample_shape_
    default = [f"x{j}" for j in range(shape[0])] if len(shape) == 1 else ["x"]
    names = default if columns is None else [str(c) for c in columns]
    if len(names) != len(default):
        raise ParameterError(
            f"columns= names {len(names)} columns, but the model's samples have "
            f"{len(default)} ({'features' if len(shape) == 1 else 'one array column'})"
        )
    label_name = ("y" if labels_column is None else str(labels_column)) if conditional else None
    everything = names + ([label_name] if label_name else [])
    if len(set(everything)) != len(everything):
        raise ParameterError(f"column names must be distinct, got {everything}")
    return tuple(names), label_name
