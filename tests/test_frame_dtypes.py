"""Every pandas dtype genaug takes comes back as it went in, with and without gaps: NumPy,
nullable, pandas string (both storages, and pandas 3's default "str" kind) and pyarrow-backed
columns, on pandas 2 and 3."""

import json
import pickle
import re
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import genaug
import numpy as np
import pandas as pd
import pytest
from _helpers import with_metadata
from genaug import _dtypes

ROWS = 200
WORDS = np.array(["a", "b", "c"])

# pandas 3's default string dtype (and pandas 2.3's, opted into): NaN for missing.
HAS_NAN_STRINGS = "na_value" in pd.StringDtype.__init__.__code__.co_varnames


def _arrow(kind: str) -> Callable[[np.random.Generator], pd.Series]:
    pa = pytest.importorskip("pyarrow")
    values = {
        "int64": lambda r: r.integers(0, 9, ROWS),
        "double": lambda r: r.normal(size=ROWS),
        "float": lambda r: r.normal(size=ROWS),
        "bool": lambda r: r.random(ROWS) < 0.5,
        "string": lambda r: r.choice(WORDS, ROWS),
        "large_string": lambda r: r.choice(WORDS, ROWS),
    }[kind]
    return lambda r: pd.Series(values(r), dtype=pd.ArrowDtype(pa.type_for_alias(kind)))


def _strings(storage: str, nan: bool) -> Callable[[np.random.Generator], pd.Series]:
    if storage == "pyarrow":
        pytest.importorskip("pyarrow")
    if nan and not HAS_NAN_STRINGS:
        pytest.skip("this pandas has no NaN-valued string dtype")
    dtype = pd.StringDtype(storage, na_value=np.nan) if nan else pd.StringDtype(storage)
    return lambda r: pd.Series(r.choice(WORDS, ROWS), dtype=dtype)


CASES: dict[str, Callable[[], Callable[[np.random.Generator], pd.Series]]] = {
    "float64": lambda: lambda r: pd.Series(r.normal(size=ROWS)),
    "float32": lambda: lambda r: pd.Series(r.normal(size=ROWS).astype(np.float32)),
    "float16": lambda: lambda r: pd.Series(r.normal(size=ROWS).astype(np.float16)),
    "int64": lambda: lambda r: pd.Series(r.integers(0, 9, ROWS)),
    "int16": lambda: lambda r: pd.Series(r.integers(-3, 9, ROWS).astype(np.int16)),
    "Int64": lambda: lambda r: pd.Series(r.integers(0, 9, ROWS), dtype="Int64"),
    "UInt8": lambda: lambda r: pd.Series(r.integers(0, 9, ROWS), dtype="UInt8"),
    "Float32": lambda: lambda r: pd.Series(r.normal(size=ROWS), dtype="Float32"),
    "bool": lambda: lambda r: pd.Series(r.random(ROWS) < 0.5),
    "boolean": lambda: lambda r: pd.Series(r.random(ROWS) < 0.5, dtype="boolean"),
    "object": lambda: lambda r: pd.Series(r.choice(WORDS, ROWS), dtype=object),
    "category": lambda: lambda r: pd.Series(pd.Categorical(r.choice(WORDS, ROWS))),
    "string[python]": lambda: _strings("python", nan=False),
    "string[pyarrow]": lambda: _strings("pyarrow", nan=False),
    "str (python)": lambda: _strings("python", nan=True),
    "str (pyarrow)": lambda: _strings("pyarrow", nan=True),
    "int64[pyarrow]": lambda: _arrow("int64"),
    "double[pyarrow]": lambda: _arrow("double"),
    "float[pyarrow]": lambda: _arrow("float"),
    "bool[pyarrow]": lambda: _arrow("bool"),
    "arrow string": lambda: _arrow("string"),
    "arrow large_string": lambda: _arrow("large_string"),
}
# NumPy integers and booleans cannot hold a gap.
NO_GAPS = {"int64", "int16", "bool"}


def _frame(case: str, gaps: bool) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    column = CASES[case]()(rng)
    if gaps:
        column = column.copy()
        column.iloc[::4] = None
    return pd.DataFrame({"x": column, "z": rng.normal(size=ROWS)})


def _same_dtype(got: object, want: object) -> bool:
    # Equality alone would let pandas' string[pyarrow] stand for arrow's string.
    return type(got) is type(want) and got == want


@pytest.mark.parametrize(
    ("case", "gaps"),
    [(case, False) for case in CASES] + [(case, True) for case in CASES if case not in NO_GAPS],
    ids=lambda v: {False: "complete", True: "gaps"}.get(v, v) if isinstance(v, bool) else v,
)
def test_a_column_comes_back_with_its_dtype_values_and_gaps(case, gaps):
    frame = _frame(case, gaps)
    before = frame.copy()
    model = genaug.VAE(seed=0).fit(
        frame, epochs=3, progress=False, missing="model" if gaps else "error"
    )
    for out in (model.sample(300, seed=1), pickle.loads(pickle.dumps(model)).sample(300, seed=1)):
        assert _same_dtype(out["x"].dtype, frame["x"].dtype), (out["x"].dtype, frame["x"].dtype)
        present = out["x"].dropna()
        if pd.api.types.is_integer_dtype(frame["x"].dtype):
            assert (present == present.round()).all()
            assert frame["x"].min() <= present.min() and present.max() <= frame["x"].max()
        elif not pd.api.types.is_float_dtype(frame["x"].dtype):
            assert set(present) <= set(frame["x"].dropna())
        rate = out["x"].isna().mean()
        assert (0 < rate < 1) if gaps else rate == 0
    topped = model.augment(frame.iloc[:10], 5, seed=2)
    assert topped.dtypes.equals(frame.dtypes)
    pd.testing.assert_frame_equal(topped.iloc[:10], frame.iloc[:10])
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("kind", ["binary", "date32", "timestamp[ns]", "decimal128"])
def test_pyarrow_columns_it_cannot_model_are_data_errors(kind):
    pa = pytest.importorskip("pyarrow")
    values = {
        "binary": lambda: pa.array([b"a", b"b"], type=pa.binary()),
        "date32": lambda: pa.array([0, 1], type=pa.int32()).cast(pa.date32()),
        "timestamp[ns]": lambda: pa.array([0, 1], type=pa.timestamp("ns")),
        "decimal128": lambda: pa.array([Decimal("1.5"), Decimal("2.25")], pa.decimal128(10, 2)),
    }[kind]()
    frame = pd.DataFrame({"when": pd.arrays.ArrowExtensionArray(values), "z": [0.0, 1.0]})
    with pytest.raises(genaug.DataError, match=r"column 'when' has dtype .*\[pyarrow\]"):
        genaug.VAE(seed=0).fit(frame, epochs=1, progress=False)


def test_a_pyarrow_dictionary_is_refused_with_the_category_hint():
    pa = pytest.importorskip("pyarrow")
    column = pd.Series(["a", "b", "a"]).astype(
        pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string()))
    )
    frame = pd.DataFrame({"kind": column, "z": [0.0, 1.0, 2.0]})
    with pytest.raises(genaug.DataError, match=r"'kind'.*astype\('category'\)"):
        genaug.VAE(seed=0).fit(frame, epochs=1, progress=False)
    # As the hint says, it is then a category.
    frame["kind"] = frame["kind"].astype("category")
    out = genaug.VAE(seed=0).fit(frame, epochs=1, progress=False).sample(5)
    assert isinstance(out["kind"].dtype, pd.CategoricalDtype)


def test_a_pyarrow_model_used_without_pyarrow_is_a_data_error(monkeypatch):
    frame = _frame("double[pyarrow]", gaps=False)
    model = genaug.VAE(seed=0).fit(frame, epochs=1, progress=False)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    with pytest.raises(genaug.DataError, match=r"'x' had dtype double\[pyarrow\].*install pyarrow"):
        model.sample(5)


@pytest.mark.parametrize("batch_case", ["str (pyarrow)", "string[python]", "arrow string"])
def test_a_text_column_takes_a_batch_of_any_text_dtype(batch_case):
    # pandas 3 makes text "str" on its own (assigning a list, reading a file), where the model
    # may have been fitted on an object column.
    frame = _frame("object", gaps=False)
    model = genaug.VAE(seed=0).fit(frame, epochs=3, progress=False)
    text = CASES[batch_case]()(np.random.default_rng(1)).dtype
    batch = frame.iloc[:6].astype({"x": text})
    batch.loc[batch.index[0], "x"] = "unseen"
    out = model.augment(batch, 4, seed=0)
    assert _same_dtype(out["x"].dtype, batch["x"].dtype)
    pd.testing.assert_frame_equal(out.iloc[:6], batch)
    assert set(out["x"].iloc[6:]) <= set(WORDS)
    assert model.score(batch.iloc[1:]).shape == (5,)
    # Other dtypes must still match training.
    with pytest.raises(genaug.ShapeError, match=r"'z' of batch has dtype float32"):
        model.augment(batch.astype({"z": np.float32}), 2)


def test_the_dtypes_fit_writes_are_the_ones_checkpoints_take():
    # Else a model could be fitted and saved, and then not load.
    source = (Path(__file__).parents[1] / "src" / "schema" / "frame.rs").read_text()

    def listed(name: str) -> list[str]:
        found = re.search(rf"const {name}: \[&str; \d+\] = \[(.*?)\];", source, re.S)
        assert found, name
        return sorted(re.findall(r'"([^"]+)"', found.group(1)))

    assert listed("DTYPES") == sorted(_dtypes.WRITTEN)
    assert listed("ARROW_TYPES") == sorted(_dtypes.ARROW_TYPES)


def _with_spec(blob: bytes, change: Callable[[dict], None]) -> bytes:
    """A checkpoint with its frame spec changed."""

    def edit(metadata: dict[str, str]) -> None:
        record = json.loads(metadata["schema"])
        spec = json.loads(record["frame"])
        change(spec)
        record["frame"] = json.dumps(spec)
        metadata["schema"] = json.dumps(record)

    return with_metadata(blob, edit)


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("int64[pyarrow]", {"kind": "continuous"}),
        ("Int64", {"kind": "continuous"}),
        ("bool[pyarrow]", {"categories": ["a", "b"]}),
        ("string[python]", {"categories": [1, 2, 3]}),
        ("string[python]", {"string": ["arrow", "NA"]}),
        ("double[pyarrow]", {"arrow": "int64"}),
        # Only a name of digits can have been an integer label.
        ("float64", {"integer_name": True}),
    ],
)
def test_a_checkpoint_whose_spec_contradicts_its_dtype_is_refused(case, change):
    model = genaug.VAE(seed=0).fit(_frame(case, gaps=False), epochs=1, progress=False)
    blob = _with_spec(model.to_bytes(), lambda spec: spec["columns"][0].update(change))
    with pytest.raises(genaug.CheckpointError, match='frame spec: column "x"'):
        genaug.from_bytes(blob)


def test_a_str_column_saved_without_string_details_keeps_its_gaps():
    # Checkpoints written before the spec kept a string's details name pandas 3's "str" only.
    frame = _frame("str (pyarrow)", gaps=True)
    assert str(frame["x"].dtype) == "str"
    model = genaug.VAE(seed=0).fit(frame, epochs=3, progress=False, missing="model")
    blob = _with_spec(model.to_bytes(), lambda spec: spec["columns"][0].pop("string"))
    out = genaug.from_bytes(blob).sample(300, seed=1)["x"]
    assert 0 < out.isna().mean() < 1
    assert set(out.dropna()) <= set(WORDS)
