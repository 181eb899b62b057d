"""Pictures of data and training: sample grids, loss curves, real-against-generated tables and
class counts (needs matplotlib: ``pip install genaug[demo]``).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot, so it neither
changes the matplotlib backend nor opens pyplot figures; a Jupyter cell that ends with one shows
it once, inline. ``path=`` also saves the figure there (any format matplotlib writes, by suffix).
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from genaug._frame import is_frame
from genaug.exceptions import DataError, LabelError, NotFittedError, ParameterError, ShapeError

try:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
except ImportError as err:  # pragma: no cover - tested with matplotlib hidden
    raise ImportError("genaug.plot needs matplotlib: pip install genaug[demo]") from err

__all__ = ["class_counts", "compare", "history", "sample_grid"]

# Columns `compare` draws histograms for when `columns` is not given.
MAX_COLUMNS = 12
# Categories a bar chart in `compare` shows at most (the most frequent ones).
MAX_CATEGORIES = 20
# History keys that are not curves: the x axis and wall time.
_NOT_CURVES = ("epoch", "seconds")


class _Figure(Figure):
    """A Figure that renders itself as a PNG in Jupyter.

    IPython's inline backend registers its PNG formatter only once pyplot has loaded it; a figure
    built without pyplot would otherwise show as ``<Figure size ...>``. Where that formatter is
    registered it takes precedence over this method, so the user's inline settings apply.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


def _finish(fig: Figure, path: str | Path | None) -> Figure:
    """Saves ``fig`` to ``path`` (creating its folder) when one is given; returns ``fig``."""
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100, bbox_inches="tight")
    return fig


def _sorted(values: Iterable[Hashable]) -> list[Any]:
    """Distinct values in sorted order; mixed types that do not compare sort by type and text."""
    distinct = set(values)
    try:
        return sorted(distinct)  # type: ignore[type-var]
    except TypeError:
        return sorted(distinct, key=lambda v: (type(v).__name__, str(v)))


def _labels(values: npt.ArrayLike, name: str, n: int | None = None) -> list[Any]:
    """A 1-D label array as a list of Python values (NumPy scalars unwrapped)."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise LabelError(f"{name} must be a 1-D array of labels, got shape {array.shape}")
    if n is not None and len(array) != n:
        raise LabelError(f"{name} has {len(array)} labels for {n} images")
    out: list[Any] = array.tolist()
    try:
        set(out)
    except TypeError as err:
        raise LabelError(f"{name} must hold hashable labels ({err})") from None
    return out


def _image_stack(images: npt.ArrayLike) -> np.ndarray:
    """``images`` as ``(N, H, W)`` or ``(N, H, W, 3)`` float64, as imshow takes them."""
    array = np.asarray(images)
    if array.dtype.kind not in "biuf":
        raise DataError(f"images must be real numbers, got dtype {array.dtype}")
    shape = array.shape
    if array.ndim < 2 or shape[0] == 0:
        raise ShapeError(f"images must be a non-empty batch, got shape {shape}")
    if array.ndim == 2:
        side = math.isqrt(shape[1])
        if side * side != shape[1] or side == 0:
            raise ShapeError(
                f"flat images need a square number of pixels, got {shape[1]} (shape {shape})"
            )
        array = array.reshape(shape[0], side, side)
    elif array.ndim == 4 and shape[1] == 1:
        array = array[:, 0]
    elif array.ndim == 4 and shape[1] == 3:
        if array.dtype == np.uint8:
            array = array / 255.0
        array = np.moveaxis(array, 1, -1)
    elif array.ndim != 3:
        raise ShapeError(
            "images must be (N, H, W), (N, 1, H, W), (N, 3, H, W) (channels first) or "
            f"(N, H*W) with a square H*W; got shape {shape}"
        )
    return array.astype(np.float64)


def sample_grid(
    images: npt.ArrayLike,
    labels: npt.ArrayLike | None = None,
    *,
    per_class: int = 10,
    title: str | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Draws one row of up to ``per_class`` images for each class in ``labels`` (sorted), or one
    row of the first ``per_class`` images when ``labels`` is None; returns the Figure.

    ``images`` is ``(N, H, W)``, ``(N, 1, H, W)``, ``(N, 3, H, W)`` (RGB) or ``(N, H*W)`` with a
    square ``H*W``. Grey images share one colour scale (dark is high); RGB images are uint8, or
    floats in [0, 1], or else rescaled by the batch's minimum and maximum.
    """
    if isinstance(per_class, bool) or not isinstance(per_class, int | np.integer) or per_class < 1:
        raise ParameterError(f"per_class must be a positive integer, got {per_class!r}")
    stack = _image_stack(images)
    if labels is None:
        rows: list[tuple[str | None, list[int]]] = [(None, list(range(min(len(stack), per_class))))]
    else:
        values = _labels(labels, "labels", len(stack))
        members: dict[Any, list[int]] = {}
        for i, value in enumerate(values):
            members.setdefault(value, []).append(i)
        rows = [(str(c), members[c][:per_class]) for c in _sorted(members)]

    finite = stack[np.isfinite(stack)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    rgb = stack.ndim == 4
    if rgb and (low < 0.0 or high > 1.0):
        # imshow clips RGB floats to [0, 1]; rescaling keeps e.g. -1..1 images visible.
        stack = (stack - low) / (high - low) if high > low else np.zeros_like(stack)

    n_cols = int(per_class)
    fig = _Figure(figsize=(0.8 * n_cols, 0.8 * len(rows) + (0.4 if title else 0.0)))
    axes = fig.subplots(len(rows), n_cols, squeeze=False)
    for (name, picks), row in zip(rows, axes, strict=True):
        for col, ax in enumerate(row):
            ax.axis("off")
            if col < len(picks):
                image = stack[picks[col]]
                if rgb:
                    ax.imshow(np.clip(image, 0.0, 1.0), interpolation="nearest")
                else:
                    ax.imshow(image, cmap="gray_r", vmin=low, vmax=high, interpolation="nearest")
        if name is not None:
            row[0].set_title(name, loc="left", fontsize=8)
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def _history_rows(model_or_history: Any) -> list[Mapping[str, Any]]:
    """The per-epoch dicts of a fitted model or of a history list."""
    is_model = hasattr(model_or_history, "history") and not isinstance(model_or_history, Mapping)
    rows = model_or_history.history if is_model else model_or_history
    if isinstance(rows, Mapping) or not isinstance(rows, Iterable):
        raise TypeError(
            "history() takes a fitted genaug model or its history (a list of per-epoch dicts), "
            f"got {type(model_or_history).__name__}"
        )
    rows = list(rows)
    if not rows:
        if is_model:
            raise NotFittedError("the model has no history to plot: fit it first")
        raise ValueError("the history is empty: there are no epochs to plot")
    for row in rows:
        if not isinstance(row, Mapping):
            raise TypeError(f"a history holds one dict per epoch, found {type(row).__name__}")
    return rows


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def history(
    model_or_history: Any,
    *,
    keys: Iterable[str] | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Draws a model's training curves against the epoch; returns the Figure.

    Takes a fitted ``VAE``/``GAN`` or its ``history`` list. Every numeric key but ``epoch`` and
    ``seconds`` is one line labelled with its key (``keys`` picks some): the losses and a VAE's
    ``val_loss`` (the same loss on held-out rows, dashed) on the first Axes; a GAN's
    ``diversity`` on a second; a GAN's ``val_loss``, a squared MMD rather than a loss, on its own.
    """
    rows = _history_rows(model_or_history)
    # Keys in the order the history first holds them (genaug's: alphabetical).
    present = [k for k in dict.fromkeys(k for row in rows for k in row) if k not in _NOT_CURVES]
    curves = [k for k in present if any(_is_number(row.get(k)) for row in rows)]
    if keys is not None:
        wanted = [keys] if isinstance(keys, str) else list(keys)
        unknown = [k for k in wanted if k not in curves]
        if unknown:
            raise ParameterError(f"no curve for keys {unknown} in this history; it has {curves}")
        curves = [k for k in curves if k in wanted]
    if not curves:
        raise ValueError(f"the history has no numeric values to plot (keys: {present})")

    gan = any(k in row for row in rows for k in ("d_loss", "g_loss"))
    panels: dict[str, list[str]] = {}
    for key in curves:
        if key == "diversity":
            panel = "diversity"
        elif key == "val_loss" and gan:
            panel = "validation MMD²"
        else:
            panel = "loss"
        panels.setdefault(panel, []).append(key)

    fig = _Figure(figsize=(4.5 * len(panels), 3.2), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (panel, panel_keys) in zip(axes, panels.items(), strict=True):
        for key in panel_keys:
            points = [
                (float(row.get("epoch", i + 1)), float(row[key]))
                for i, row in enumerate(rows)
                if _is_number(row.get(key))
            ]
            xs, ys = zip(*points, strict=True)
            style = "--" if key == "val_loss" else "-"
            ax.plot(xs, ys, style, label=key, marker="." if len(points) < 30 else None)
        ax.set_xlabel("epoch")
        ax.set_ylabel(panel)
        ax.legend(fontsize=8)
    return _finish(fig, path)


def _column_kinds(frame: Any) -> dict[Any, bool]:
    """Whether each column of a DataFrame is numeric (True) or categorical (False)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return {
        name: is_numeric_dtype(dtype) and not is_bool_dtype(dtype)
        for name, dtype in frame.dtypes.items()
    }


def _table_columns(real: Any, generated: Any) -> tuple[list[Any], dict[Any, bool], Any, Any]:
    """Column names, their kinds, and column getters for two tables of the same form."""
    if is_frame(real) != is_frame(generated):
        raise ShapeError("compare() takes two NumPy arrays or two DataFrames, not one of each")
    if is_frame(real):
        names = list(real.columns)
        missing = [c for c in names if c not in generated.columns]
        if missing or len(generated.columns) != len(names):
            raise ShapeError(
                f"generated has columns {list(generated.columns)}, real has {names}; "
                "they must hold the same columns"
            )
        if len(real) == 0 or len(generated) == 0:
            raise ShapeError("compare() needs at least one real and one generated row")
        return names, _column_kinds(real), real.__getitem__, generated.__getitem__
    arrays = []
    for name, table in (("real", real), ("generated", generated)):
        array = np.asarray(table)
        if array.ndim != 2 or array.shape[0] == 0:
            raise ShapeError(f"{name} must be a non-empty 2-D table, got shape {array.shape}")
        if array.dtype.kind not in "biuf":
            raise DataError(
                f"{name} must hold real numbers, got dtype {array.dtype} "
                "(pass DataFrames for categorical columns)"
            )
        arrays.append(array.astype(np.float64))
    if arrays[0].shape[1] != arrays[1].shape[1]:
        raise ShapeError(
            f"real has {arrays[0].shape[1]} columns and generated {arrays[1].shape[1]}"
        )
    names = list(range(arrays[0].shape[1]))
    return names, dict.fromkeys(names, True), arrays[0].T.__getitem__, arrays[1].T.__getitem__


def _numbers(column: Any) -> np.ndarray:
    """A numeric column (array or Series, nullable dtypes too) as float64 with NaN for missing."""
    if hasattr(column, "to_numpy"):
        return np.asarray(column.to_numpy(dtype=np.float64, na_value=np.nan))
    return np.asarray(column, dtype=np.float64)


def _categories(column: Any) -> list[str]:
    """A categorical column's values as text, so that any mix of types compares and counts."""
    return [str(v) for v in column.tolist()]


def _features(
    names: list[Any], kinds: dict[Any, bool], real_col: Any, gen_col: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Real and generated rows as numbers for PCA: numeric columns standardised by the real
    rows' mean and standard deviation (missing values at the mean), categories one-hot over
    the real rows' categories."""
    real_parts: list[np.ndarray] = []
    gen_parts: list[np.ndarray] = []
    for name in names:
        if kinds[name]:
            real, gen = _numbers(real_col(name)), _numbers(gen_col(name))
            finite = real[np.isfinite(real)]
            mean = float(finite.mean()) if finite.size else 0.0
            std = float(finite.std()) if finite.size else 0.0
            std = std if std > 0 else 1.0
            for values, parts in ((real, real_parts), (gen, gen_parts)):
                scaled = (values - mean) / std
                parts.append(np.where(np.isfinite(scaled), scaled, 0.0)[:, None])
        else:
            real_text, gen_text = _categories(real_col(name)), _categories(gen_col(name))
            levels = _sorted(real_text)
            for text, parts in ((real_text, real_parts), (gen_text, gen_parts)):
                column = np.asarray(text, dtype=object)[:, None]
                parts.append((column == np.asarray(levels, dtype=object)[None, :]).astype(float))
    return np.hstack(real_parts), np.hstack(gen_parts)


def _pca(real: np.ndarray, generated: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both sets of rows projected on the first two principal axes of the real rows, and the
    share of the real rows' variance each axis explains."""
    mean = real.mean(axis=0)
    centred = real - mean
    if len(centred) >= centred.shape[1]:
        # The scatter matrix's singular vectors are the same axes, at d x d instead of n x d.
        _, variance, vt = np.linalg.svd(centred.T @ centred)
    else:
        _, singular, vt = np.linalg.svd(centred, full_matrices=False)
        variance = singular**2
    axes = vt[:2]
    # Fix each axis's sign (SVD's is arbitrary) so that the same data draws the same picture.
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    total = float(variance.sum())
    share = variance[:2] / total if total > 0 else np.zeros(len(axes))
    project = np.zeros((2, centred.shape[1]))
    project[: len(axes)] = axes
    shares = np.zeros(2)
    shares[: len(share)] = share
    return centred @ project.T, (generated - mean) @ project.T, shares


def _pick_columns(names: list[Any], columns: Any) -> list[Any]:
    """The columns to draw: ``columns`` (names, or positions where no name matches) or the first
    ``MAX_COLUMNS``."""
    if columns is None:
        return names[:MAX_COLUMNS]
    wanted = [columns] if isinstance(columns, str | int | np.integer) else list(columns)
    picked = []
    for item in wanted:
        if item in names:
            picked.append(item)
        elif isinstance(item, int | np.integer) and not isinstance(item, bool):
            if not -len(names) <= item < len(names):
                raise ParameterError(f"column index {item} is out of range for {len(names)}")
            picked.append(names[item])
        else:
            raise ParameterError(f"no column {item!r}; the columns are {names}")
    return picked


def _histogram(ax: Axes, real: np.ndarray, gen: np.ndarray, bins: Any) -> None:
    real, gen = real[np.isfinite(real)], gen[np.isfinite(gen)]
    both = np.concatenate([real, gen])
    if both.size == 0:
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        return
    edges = np.histogram_bin_edges(both, bins=bins)
    for values, label in ((real, "real"), (gen, "generated")):
        if values.size:
            ax.hist(values, bins=edges.tolist(), density=True, alpha=0.5, label=label)
    ax.set_ylabel("density", fontsize=8)


def _bars(ax: Axes, real: list[str], gen: list[str]) -> None:
    real_counts, gen_counts = Counter(real), Counter(gen)
    levels = _sorted(real_counts.keys() | gen_counts.keys())
    if len(levels) > MAX_CATEGORIES:
        common = (real_counts + gen_counts).most_common(MAX_CATEGORIES)
        levels = _sorted(level for level, _ in common)
    positions = np.arange(len(levels))
    for counts, total, shift, label in (
        (real_counts, len(real), -0.2, "real"),
        (gen_counts, len(gen), 0.2, "generated"),
    ):
        heights = [counts[level] / total if total else 0.0 for level in levels]
        ax.bar(positions + shift, heights, width=0.4, label=label)
    ax.set_xticks(positions, levels, rotation=90 if len(levels) > 4 else 0, fontsize=8)
    ax.set_ylabel("frequency", fontsize=8)


def compare(
    real: Any,
    generated: Any,
    *,
    columns: Sequence[Any] | None = None,
    bins: int = 30,
    path: str | Path | None = None,
) -> Figure:
    """Draws real against generated rows of a table; returns the Figure.

    ``real`` and ``generated`` are 2-D NumPy arrays or DataFrames with the same columns. The
    first Axes is a PCA of all columns, fitted on the real rows (numeric columns standardised
    by the real rows' mean and standard deviation, categories one-hot), with a "real" and a
    "generated" scatter. Then one Axes per column (``columns``: names or positions; by default
    the first 12): density histograms for numeric columns, bars of each category's frequency
    (the 20 most frequent at most) for boolean, category and object columns of a DataFrame.
    """
    names, kinds, real_col, gen_col = _table_columns(real, generated)
    shown = _pick_columns(names, columns)
    real_rows, gen_rows = _features(names, kinds, real_col, gen_col)
    real_xy, gen_xy, shares = _pca(real_rows, gen_rows)

    n_cols = min(4, len(shown)) if shown else 0
    n_rows = max(1, math.ceil(len(shown) / 4))
    pca_width = 2 if n_rows > 1 else 1
    fig = _Figure(
        figsize=(2.6 * (pca_width + n_cols), 2.4 * max(n_rows, 1.2 * pca_width)),
        layout="constrained",
    )
    grid = fig.add_gridspec(n_rows, pca_width + n_cols)
    ax = fig.add_subplot(grid[:, :pca_width])
    ax.scatter(real_xy[:, 0], real_xy[:, 1], s=6, alpha=0.5, label="real")
    ax.scatter(gen_xy[:, 0], gen_xy[:, 1], s=6, alpha=0.5, label="generated")
    ax.set_xlabel(f"PC1 ({shares[0]:.0%} of real variance)")
    ax.set_ylabel(f"PC2 ({shares[1]:.0%})")
    ax.set_title("PCA fitted on the real rows", fontsize=9)
    ax.legend(fontsize=8)
    for i, name in enumerate(shown):
        ax = fig.add_subplot(grid[i // 4, pca_width + i % 4])
        if kinds[name]:
            _histogram(ax, _numbers(real_col(name)), _numbers(gen_col(name)), bins)
        else:
            _bars(ax, _categories(real_col(name)), _categories(gen_col(name)))
        ax.set_title(str(name) if is_frame(real) else f"column {name}", fontsize=9)
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.legend(fontsize=7)
    return _finish(fig, path)


def class_counts(
    before: npt.ArrayLike, after: npt.ArrayLike, *, path: str | Path | None = None
) -> Figure:
    """Draws the count of each class (sorted) before and after augmentation as grouped bars,
    each count written above its bar; returns the Figure."""
    before_counts = Counter(_labels(before, "before"))
    after_counts = Counter(_labels(after, "after"))
    classes = _sorted(before_counts.keys() | after_counts.keys())
    if not classes:
        raise LabelError("class_counts() got no labels")
    positions = np.arange(len(classes))
    fig = _Figure(figsize=(max(4.0, 0.7 * len(classes) + 2.0), 3.2), layout="constrained")
    ax = fig.subplots()
    for counts, shift, label in ((before_counts, -0.2, "before"), (after_counts, 0.2, "after")):
        bars = ax.bar(positions + shift, [counts[c] for c in classes], width=0.4, label=label)
        ax.bar_label(bars, fontsize=7, padding=1)
    ax.set_xticks(positions, [str(c) for c in classes])
    ax.set_xlabel("class")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    return _finish(fig, path)
