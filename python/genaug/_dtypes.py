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


def rebuilds(entry: dict[str, Any]) -> bool:
    """Whether generated rows can be given the column's dtype again."""
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
        return {"string": [dtype.storage, "nan" if dtype.na_value is not pd.NA else "NA"]}
    if type(dtype).__name__ == "ArrowDtype":
        return {"arrow": str(dtype.pyarrow_dtype)}
    return {}


def rebuilt(entry: dict[str, Any]) -> Any:
    """The training column's dtype, from its spec."""
    pd = _pd()
    try:
        if "arrow" in entry:
            import pyarrow as pa

            return pd.ArrowDtype(pa.type_for_alias(entry["arrow"]))
        if "string" in entry:
            storage, na = entry["string"]
            if na == "nan":
                # A TypeError before pandas 2.3, which has only the pd.NA kind of string.
                return pd.StringDtype(storage, na_value=np.nan)
            return pd.StringDtype(storage)
    except (ImportError, TypeError) as e:
        # A model fitted where pyarrow or a newer pandas was, used where it is not.
        raise DataError(
            f"column {entry['name']!r} had dtype {entry['dtype']} in training, which this "
            f"environment cannot make ({e}); install pyarrow or pandas>=2.3 as it had"
        ) from e
    return pd.api.types.pandas_dtype(entry["dtype"])


def is_text(dtype: str) -> bool:
    """Whether a dtype (by name) holds text. pandas moves strings between these on its own:
    pandas 3 reads and assigns text as "str" where pandas 2 made object columns."""
    return dtype in ("object", "string", "str", "string[pyarrow]", "large_string[pyarrow]")


def holds_text(entry: dict[str, Any]) -> bool:
    """Whether a training column was text: any text dtype of a batch will do for it."""
    cats = entry.get("categories")
    return is_text(entry["dtype"]) and cats is not None and all(isinstance(c, str) for c in cats)
