"""pandas DataFrames <-> the numeric rows the native core takes.

A frame's columns become one float64 matrix: continuous columns (floats, integers, pandas
nullable numbers) as their values, discrete columns (booleans, ``category``, strings and other
objects) as the code of each value among the column's categories, and missing values as NaN.
How the frame looked (names, dtypes, categories, the conditioning column) is kept as a JSON
"frame spec" inside the model, so that generated rows come back as a frame of the same form.

pandas is imported only here and in ``genaug._dtypes``, and only when a DataFrame is given.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np

from genaug import _dtypes
from genaug._dtypes import CONTINUOUS, DISCRETE, INTEGRAL
from genaug.exceptions import DataError, DataWarning, LabelError, ParameterError, ShapeError

# A discrete column with at least this many values, and at least this share of the rows as
# values, looks like an identifier (names, ids).
IDENTIFIER_VALUES = 50
IDENTIFIER_SHARE = 0.5


def is_frame(obj: object) -> bool:
    """Whether ``obj`` is a pandas DataFrame (without importing pandas)."""
    cls = type(obj)
    return cls.__name__ == "DataFrame" and cls.__module__.startswith("pandas")


def _pd() -> Any:
    import pandas as pd

    return pd


def _name(label: Any) -> str:
    """A column label as the model names it: a string, or an integer's digits (``pd.DataFrame(x)``
    labels its columns 0, 1, ...). Other labels (tuples of a MultiIndex, floats, dates) are a
    ``ShapeError``."""
    if isinstance(label, str):
        return label
    if isinstance(label, int | np.integer) and not isinstance(label, bool | np.bool_):
        return str(int(label))
    raise ShapeError(
        f"the DataFrame has a column labelled {label!r} ({type(label).__name__}); genaug takes "
        "column labels that are strings or integers: rename the columns, e.g. "
        "df.columns = [str(c) for c in df.columns]"
    )


def _by_name(frame: Any) -> dict[str, Any]:
    """The frame's column labels by their names (unique: see ``_check_unique_names``)."""
    return {_name(c): c for c in frame.columns}


def _label(entry: dict[str, Any]) -> Any:
    """The label a column of the spec had in the fitted frame, and has in frames made from it."""
    return int(entry["name"]) if entry.get("integer_name") else entry["name"]


def names_column(frame: Any, y: Any) -> bool:
    """Whether ``fit``'s ``y`` names a column of ``frame`` rather than giving labels: a string,
    or an integer that labels one of its columns."""
    if isinstance(y, str):
        return True
    if not isinstance(y, int | np.integer) or isinstance(y, bool | np.bool_):
        return False
    return any(_name(c) == str(int(y)) and not isinstance(c, str) for c in frame.columns)


def _plain(value: Any) -> Any:
    """A category as a JSON value (NumPy scalars become Python ones)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str) or (isinstance(value, float) and np.isfinite(value)):
        return value
    raise TypeError(type(value).__name__)


def _object_categories(name: str, column: Any) -> list[Any]:
    present = column[column.notna()]
    kinds = {type(v) for v in present}
    if kinds and not (kinds <= {str} or kinds <= {bool, np.bool_}):
        found = ", ".join(sorted(k.__name__ for k in kinds))
        raise DataError(
            f"column {name!r} (dtype {column.dtype}) mixes or holds unsupported value types "
            f"({found}); genaug takes object columns of strings or of booleans"
        )
    return sorted({_plain(v) for v in present})


def _describe(label: Any, column: Any) -> dict[str, Any]:
    """The spec of one column: its name, dtype, kind and (for discrete columns) categories."""
    pd = _pd()
    name = _name(label)
    dtype = column.dtype
    entry: dict[str, Any] = {"name": name, "dtype": str(dtype), **_dtypes.details(dtype)}
    if not isinstance(label, str):
        entry["integer_name"] = True
    if isinstance(dtype, pd.CategoricalDtype):
        try:
            entry["categories"] = [_plain(v) for v in dtype.categories]
        except TypeError as e:
            raise DataError(
                f"column {name!r} is a category of {dtype.categories.dtype} values; genaug "
                "takes categories of strings, numbers or booleans"
            ) from e
        entry["ordered"] = bool(dtype.ordered)
        entry["kind"] = DISCRETE
        return entry
    kind = _dtypes.kind_of(dtype)
    if kind is None or not _dtypes.supported(entry):
        hint = (
            " (a pyarrow dictionary: make it .astype('category'))"
            if "dictionary<" in str(dtype)
            else ""
        )
        raise DataError(
            f"column {name!r} has dtype {dtype}, which genaug does not model (it takes numbers, "
            f"booleans, categories and strings); convert it, or drop it{hint}"
        )
    entry["kind"] = kind
    if kind == DISCRETE:
        if pd.api.types.is_bool_dtype(dtype):
            entry["categories"] = [False, True]
        else:
            entry["categories"] = _object_categories(name, column)
    return entry


def _lookup(categories: list[Any], column: Any) -> np.ndarray:
    """Each value's code among ``categories``: NaN where the value is missing, -1 where it is
    not one of them."""
    index = {v: i for i, v in enumerate(categories)}
    missing = column.isna().to_numpy()
    out = np.full(len(column), np.nan)
    for row, (value, gone) in enumerate(zip(column.to_numpy(dtype=object), missing, strict=True)):
        if gone:
            continue
        try:
            key = _plain(value)
        except TypeError:
            key = None
        code = index.get(key) if key is not None else None
        out[row] = -1 if code is None else code
    return out


def _first(mask: np.ndarray) -> int | None:
    rows = np.flatnonzero(mask)
    return int(rows[0]) if len(rows) else None


def _codes(entry: dict[str, Any], column: Any, unseen: str) -> np.ndarray:
    """A discrete column's codes among its categories (NaN where missing). A value that is not
    one of them raises ``DataError`` (``unseen="error"``) or gets code -1 (``"keep"``)."""
    codes = _lookup(entry["categories"], column)
    row = _first(codes == -1)
    if unseen == "error" and row is not None:
        raise DataError(
            f"column {entry['name']!r} has the value {column.iloc[row]!r} (row {row}), which it "
            "never had in training"
        )
    return codes


def _column_values(entry: dict[str, Any], column: Any, unseen: str) -> np.ndarray:
    if entry["kind"] == DISCRETE:
        return _codes(entry, column, unseen)
    return column.to_numpy(dtype="float64", na_value=np.nan)


def _check_columns(frame: Any, spec: dict[str, Any], what: str) -> None:
    names = [c["name"] for c in spec["columns"]]
    target = spec.get("target")
    expected = list(names)
    if target is not None:
        expected.insert(target["position"], target["name"])
    _check_unique_names(frame)
    got = [_name(c) for c in frame.columns]
    if got != expected and sorted(got) != sorted(expected):
        missing = [n for n in expected if n not in got]
        extra = [n for n in got if n not in expected]
        raise ShapeError(
            f"{what} has columns {got}, but the model was fitted on {expected}"
            + (f" (missing {missing})" if missing else "")
            + (f" (not in training: {extra})" if extra else "")
        )
    labels = _by_name(frame)
    for entry in [*spec["columns"], *([target] if target is not None else [])]:
        label = labels[entry["name"]]
        if isinstance(label, str) == bool(entry.get("integer_name")):
            raise ShapeError(
                f"{what} labels a column {label!r} ({type(label).__name__}), but the model was "
                f"fitted on a frame labelling it {_label(entry)!r}"
            )
    for entry in spec["columns"]:
        dtype = str(frame[labels[entry["name"]]].dtype)
        if dtype != entry["dtype"] and not (_dtypes.holds_text(entry) and _dtypes.is_text(dtype)):
            raise ShapeError(
                f"column {entry['name']!r} of {what} has dtype {dtype}, but the model was "
                f"fitted on {entry['dtype']}"
            )


def _check_unique_names(frame: Any) -> None:
    names = [_name(c) for c in frame.columns]
    if len(set(names)) < len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ShapeError(
            f"the DataFrame has duplicate column names {dupes} (a label 0 and a label '0' "
            "name the same column)"
        )


def fit_frame(
    frame: Any, y: Any, discrete_columns: Any
) -> tuple[np.ndarray, list[str], list[str], str, np.ndarray | None]:
    """What ``fit`` takes from a frame: its values, each column's kind, the column names, the
    frame spec (JSON), and the labels when ``y`` names a column."""
    if discrete_columns is not None:
        raise ParameterError(
            "discrete_columns is for NumPy arrays; a DataFrame's columns say what they are "
            "(make a column discrete with .astype('category'))"
        )
    _check_unique_names(frame)
    if len(frame.columns) == 0:
        raise ShapeError("the DataFrame has no columns")
    spec: dict[str, Any] = {"columns": []}
    labels = None
    names = [_name(c) for c in frame.columns]
    if y is not None:
        if _name(y) not in names:
            raise LabelError(f"y={y!r} is not a column of the DataFrame (columns: {names})")
        if len(names) == 1:
            raise ShapeError(f"the DataFrame has no columns besides the label column {y!r}")
        y = _by_name(frame)[_name(y)]
        column = frame[y]
        target = _describe(y, column)
        present = column.dropna().to_numpy().astype(float) if target["kind"] != DISCRETE else None
        if present is not None and not np.isfinite(present).all():
            raise LabelError(f"the label column {y!r} holds infinite values")
        if target["kind"] == CONTINUOUS and present is not None and (present % 1).any():
            # scikit-learn's classifiers refuse such a target ("continuous") too.
            raise LabelError(
                f"the label column {y!r} holds continuous values ({column.dtype}, e.g. "
                f"{float(present[np.flatnonzero(present % 1)[0]])!r}); a label column holds "
                "classes: bin it first (pd.cut), or fit without y"
            )
        if target["kind"] != DISCRETE:
            target["categories"] = sorted({_plain(v) for v in column.dropna().unique()})
            target["kind"] = DISCRETE
        target["position"] = names.index(_name(y))
        spec["target"] = target
        if column.isna().any():
            rows = np.flatnonzero(column.isna().to_numpy())[:5].tolist()
            raise LabelError(f"the label column {y!r} has missing values (rows {rows})")
        labels = _codes(target, column, "error").astype(np.int64)
        frame = frame.drop(columns=[y])
    for label in frame.columns:
        spec["columns"].append(_describe(label, frame[label]))
    _warn_of_identifiers(spec["columns"], len(frame))
    values = _matrix(frame, spec, "error")
    kinds = [c["kind"] for c in spec["columns"]]
    return values, kinds, [c["name"] for c in spec["columns"]], json.dumps(spec), labels


def _warn_of_identifiers(entries: list[dict[str, Any]], rows: int) -> None:
    """A ``DataWarning`` for each discrete column that looks like an identifier: it becomes a
    one-hot block as wide as the table is long, which the model can only memorise and which
    outweighs the other columns in its loss."""
    for entry in entries:
        k = len(entry.get("categories", ()))
        if entry["kind"] == DISCRETE and k >= max(IDENTIFIER_VALUES, IDENTIFIER_SHARE * rows):
            warnings.warn(
                DataWarning(
                    f"column {entry['name']!r} has {k} distinct values in {rows} rows, like an "
                    f"identifier: as a discrete column it is a one-hot block of {k}, which the "
                    "model can only memorise and which outweighs the other columns; drop it "
                    "before fit (or make it numeric if its values are quantities)"
                ),
                # The caller of fit: this function, then fit_frame, which the native fit calls.
                stacklevel=3,
            )


def describe(frame: Any) -> list[dict[str, Any]]:
    """Each column's spec (what metrics read a frame's columns as)."""
    _check_unique_names(frame)
    return [_describe(label, frame[label]) for label in frame.columns]


def matrix(frame: Any, entries: list[dict[str, Any]], what: str) -> np.ndarray:
    """The values of a frame with the columns ``entries`` describe (in any order), discrete
    columns as codes, -1 for a value the spec lacks."""
    _check_unique_names(frame)
    names = [_name(c) for c in frame.columns]
    expected = [e["name"] for e in entries]
    if sorted(names) != sorted(expected):
        raise ShapeError(f"{what} has columns {names}, not {expected}")
    return _matrix(frame, {"columns": entries}, "keep")


def _matrix(frame: Any, spec: dict[str, Any], unseen: str) -> np.ndarray:
    labels = _by_name(frame)
    columns = [
        _column_values(entry, frame[labels[entry["name"]]], unseen) for entry in spec["columns"]
    ]
    return np.ascontiguousarray(np.stack(columns, axis=1), dtype=np.float64)


def rows(
    frame: Any, spec_json: str, what: str, unseen: str, classes: list[int] | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """A frame of the fitted form as the model's rows, with the label column's codes when the
    model was fitted with one (and the frame has it), each one of ``classes`` (the model's)."""
    spec = json.loads(spec_json)
    _check_columns(frame, spec, what)
    labels = None
    target = spec.get("target")
    if target is not None:
        labels = _label_codes(target, frame[_by_name(frame)[target["name"]]], classes)
    return _matrix(frame, spec, unseen), labels


def _label_codes(
    target: dict[str, Any], column: Any, classes: list[int] | None = None
) -> np.ndarray:
    """The label column's values as codes, each one of ``classes`` (the model's) when given."""
    codes = _lookup(target["categories"], column)
    row = _first(np.isnan(codes) | (codes == -1))
    if row is not None:
        known = target["categories"] if classes is None else _class_values(target, classes)
        raise LabelError(
            f"{column.iloc[row]!r} (row {row}) is not a class of the label column "
            f"{target['name']!r}: the model knows {known}"
        )
    _check_classes(target, codes, classes)
    return codes.astype(np.int64)


def _class_values(target: dict[str, Any], classes: list[int]) -> list[Any]:
    return [target["categories"][c] for c in classes]


def _check_classes(target: dict[str, Any], codes: Any, classes: list[int] | None) -> None:
    """A ``LabelError`` naming the first value among ``codes`` that no training row had as its
    label (a category of the column's dtype left unused), in the column's values."""
    if classes is None:
        return
    known = set(classes)
    for code in np.atleast_1d(codes):
        if int(code) not in known:
            values = _class_values(target, classes)
            raise LabelError(
                f"{target['categories'][int(code)]!r} is a category of the label column "
                f"{target['name']!r} that no training row had: the model knows {values}"
            )


def label_codes(spec_json: str, values: Any, classes: list[int] | None = None) -> Any:
    """Class values of the label column (one, or a sequence) as the model's integer codes,
    each one of ``classes`` (the model's); for none (``None``), the model fitted with a label
    column says which values it takes."""
    target = json.loads(spec_json).get("target")
    if target is None:
        return values
    if values is None:
        raise LabelError(
            f"this model was fitted with the label column {target['name']!r}: pass y, one of its "
            f"values {target['categories']} or one per row"
        )
    pd = _pd()
    scalar = np.ndim(values) == 0
    codes = _label_codes(target, pd.Series([values] if scalar else list(values)), classes)
    return int(codes[0]) if scalar else codes


def strategy_codes(spec_json: str, strategy: Any, classes: list[int] | None = None) -> Any:
    """A ``{class: count}`` strategy keyed by the label column's values, keyed by codes."""
    target = json.loads(spec_json).get("target")
    if target is None or not isinstance(strategy, dict):
        return strategy
    keys = label_codes(spec_json, list(strategy), classes)
    return {int(k): v for k, v in zip(keys, strategy.values(), strict=True)}


def feature_names(spec_json: str) -> np.ndarray:
    """The fitted frame's column names in their order, the label column left out (it is the
    target, not a feature), as scikit-learn's ``feature_names_in_`` holds them."""
    return np.asarray([c["name"] for c in json.loads(spec_json)["columns"]], dtype=object)


def class_values(spec_json: str, codes: list[int]) -> list[Any]:
    target = json.loads(spec_json).get("target")
    return _class_values(target, codes) if target else codes


def _column(entry: dict[str, Any], values: np.ndarray) -> Any:
    pd = _pd()
    missing = np.isnan(values)
    if entry["kind"] == DISCRETE:
        cats = entry["categories"]
        picked = [None if gone else cats[int(v)] for v, gone in zip(values, missing, strict=True)]
        dtype = entry["dtype"]
        if dtype == "category":
            kind = pd.CategoricalDtype(cats, ordered=entry.get("ordered", False))
            return pd.Series(picked, dtype=kind)
        if dtype == "bool" and not missing.any():
            return pd.Series(picked, dtype=bool)
        if dtype in ("bool", "object"):
            return pd.Series(picked, dtype=object)
        return pd.Series(picked, dtype=object).astype(_dtypes.rebuilt(entry))
    series = pd.Series(values)
    if entry["kind"] == INTEGRAL:
        series = series.round()
    dtype = _dtypes.rebuilt(entry)
    if missing.any() and isinstance(dtype, np.dtype) and dtype.kind in "iu":
        # NumPy integers cannot hold NaN: such a column comes back as float64.
        return series
    # NaN becomes the dtype's own missing value (pd.NA for nullable and pyarrow dtypes).
    return series.astype(dtype)


def to_frame(values: np.ndarray, spec_json: str, labels: Any = None) -> Any:
    """Model rows (and label codes) as a frame of the fitted form."""
    pd = _pd()
    spec = json.loads(spec_json)
    # (No rows: an augment whose batch needs none has a (0, 0) array.)
    values = np.asarray(values, dtype=np.float64).reshape(len(values), len(spec["columns"]))
    data = {_label(entry): _column(entry, values[:, j]) for j, entry in enumerate(spec["columns"])}
    target = spec.get("target")
    if target is not None and labels is not None:
        codes = np.asarray(labels, dtype=np.float64)
        column = _column(target, codes)
        items = list(data.items())
        items.insert(target["position"], (_label(target), column))
        data = dict(items)
    return pd.DataFrame(data)


def augmented(batch: Any, new_values: np.ndarray, spec_json: str, new_labels: Any) -> Any:
    """``batch`` with the generated rows after it: indexed on from the batch's largest integer
    label, or from 0 when its index is not integers."""
    pd = _pd()
    new = to_frame(new_values, spec_json, new_labels)
    index = batch.index
    start = 0
    if len(index) and pd.api.types.is_integer_dtype(index.dtype):
        start = int(index.max()) + 1
    new.index = pd.RangeIndex(start, start + len(new))
    widened = {}
    for name in new.columns:
        old, fresh = batch[name], new[name]
        both_text = _dtypes.is_text(str(old.dtype)) and _dtypes.is_text(str(fresh.dtype))
        if old.dtype != fresh.dtype and both_text:
            # The batch's own text dtype, for its rows and the new ones.
            new[name] = fresh.astype(old.dtype)
            continue
        if isinstance(old.dtype, pd.CategoricalDtype) and old.dtype != fresh.dtype:
            # The batch's own categories (some perhaps unseen in training) and the model's.
            both = pd.api.types.union_categoricals([old, fresh], ignore_order=True).categories
            kind = pd.CategoricalDtype(both, ordered=old.dtype.ordered)
            widened[name] = old.astype(kind)
            new[name] = fresh.astype(kind)
    if widened:
        # A copy: the caller's batch keeps its own categories.
        batch = batch.copy()
        for name, column in widened.items():
            batch[name] = column
    return pd.concat([batch, new[batch.columns]], axis=0)


def fill_gaps(frame: Any, imputed: Any) -> Any:
    """A copy of ``frame`` with its missing cells taken from ``imputed`` (a frame of the same
    columns); observed cells are kept as they are."""
    out = frame.copy()
    # Row by row in order: ``imputed`` is numbered from 0, ``frame`` has its own index.
    imputed = imputed.set_axis(frame.index, axis=0)
    for name in imputed.columns:
        gaps = out[name].isna()
        if gaps.any():
            out[name] = out[name].where(~gaps, imputed[name])
    return out
