"""pandas dtypes: which ones genaug models and as what, and how a generated column gets its
training column's dtype back (a dtype's name alone leaves out a string's storage and kind of
missing value, and tells pandas' pyarrow string from arrow's own).

pandas is imported only when a DataFrame is given, so only from here and ``genaug._frame``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genaug.exceptions import DataError

CONTINUOUS = "continuous"
INTEGRAL = "integral"
DISCRETE = "discrete"

# The dtype names a frame spec may hold: checkpoints refuse any other (src/schema/frame.rs
# keeps the same two lists), so fit refuses them too rather than save what cannot load.
WRITTEN = (
    *(f"{s}int{b}" for s in ("", "u") for b in (8, 16, 32, 64)),
    *(f"{s}Int{b}" for s in ("", "U") for b in (8, 16, 32, 64)),
    *("float16", "float32", "float64", "Float32", "Float64"),
    *("bool", "boolean", "category", "object", "string", "str"),
)
# Arrow types of pyarrow-backed columns; the dtype's name is the type's, then "[pyarrow]".
ARROW_TYPES = (
    *(f"{s}int{b}" for s in ("", "u") for b in (8, 16, 32, 64)),
    *("halffloat", "float", "double", "bool", "string", "large_string"),
)


def _pd() -> Any:
    import pandas as pd

    return pd


def kind_of(dtype: Any) -> str | None:
    """How a (non-category) dtype is modelled; None for dtypes genaug refuses."""
    types = _pd().api.types
    try:
        if types.is_bool_dtype(dtype):
            return DISCRETE
        if types.is_integer_dtype(dtype):
            return INTEGRAL
        if types.is_float_dtype(dtype):
            return CONTINUOUS
        if types.is_string_dtype(dtype) or types.is_object_dtype(dtype):
            return DISCRETE
    except NotImplementedError:
        # pyarrow types pandas has no scalar type for (string_view in pandas 2).
        return None
    return None


def supported(entry: dict[str, Any]) -> bool:
    """Whether a column's spec is one checkpoints take, and generated rows can be given the
    column's dtype again."""
    arrow = entry.get("arrow")
    if arrow is not None:
        written = arrow in ARROW_TYPES and entry["dtype"] == f"{arrow}[pyarrow]"
    else:
        written = entry["dtype"] in WRITTEN
    if not written:
        return False
    try:
        rebuilt(entry)
    except (ValueError, KeyError, DataError):
        return False
    return True


def details(dtype: Any) -> dict[str, Any]:
    """What a dtype's name leaves out: a pandas string's storage and missing value ("string"
    names both storages, "str" both of pandas 3's), and a pyarrow-backed column's arrow type
    ("string[pyarrow]" names pandas' string as well as arrow's)."""
    pd = _pd()
    if isinstance(dtype, pd.StringDtype):
        if dtype.storage == "pyarrow_numpy":
            # pandas 2.1-2.2's NaN-valued string (future.infer_string), pandas 3's "str".
            return {"string": ["pyarrow", "nan"]}
        return {"string": [dtype.storage, "nan" if dtype.na_value is not pd.NA else "NA"]}
    if isinstance(dtype, pd.ArrowDtype):
        return {"arrow": str(dtype.pyarrow_dtype)}
    return {}


def rebuilt(entry: dict[str, Any]) -> Any:
    """The training column's dtype, from its spec."""
    pd = _pd()
    try:
        if "arrow" in entry:
            import pyarrow as pa

            return pd.ArrowDtype(pa.type_for_alias(entry["arrow"]))
        # Specs without string details (saved before they were kept) name "str" for pandas 3's.
        storage, na = entry.get("string", (None, "nan" if entry["dtype"] == "str" else None))
        if na == "NA":
            return pd.StringDtype(storage)
        if na == "nan":
            if _nan_strings():
                return pd.StringDtype(storage, na_value=np.nan)
            if storage == "pyarrow":
                return pd.StringDtype("pyarrow_numpy")  # pandas 2.1-2.2's
            if storage is None:
                return np.dtype(object)  # an older spec's "str", where pandas has none
            raise TypeError("this pandas has no NaN-valued string dtype of python storage")
    except (ImportError, TypeError) as e:
        # A model fitted where pyarrow or a newer pandas was, used where it is not.
        raise DataError(
            f"column {entry['name']!r} had dtype {entry['dtype']} in training, which this "
            f"environment cannot make ({e}); install pyarrow or pandas>=2.3 as it had"
        ) from e
    return pd.api.types.pandas_dtype(entry["dtype"])


def _nan_strings() -> bool:
    """Whether this pandas has NaN-valued strings of both storages (``na_value``, 2.3 on)."""
    return "na_value" in _pd().StringDtype.__init__.__code__.co_varnames


def is_text(dtype: str) -> bool:
    """Whether a dtype (by name) holds text. pandas moves strings between these on its own:
    pandas 3 reads and assigns text as "str" where pandas 2 made object columns."""
    return dtype in ("object", "string", "str", "string[pyarrow]", "large_string[pyarrow]")


def holds_text(entry: dict[str, Any]) -> bool:
    """Whether a training column was text: any text dtype of a batch will do for it."""
    cats = entry.get("categories")
    return is_text(entry["dtype"]) and cats is not None and all(isinstance(c, str) for c in cats)
