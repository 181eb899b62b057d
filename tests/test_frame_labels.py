"""Column labels of DataFrames: integers as pd.DataFrame(x) makes them, names that are Python
keywords of pandas methods, and labels genaug cannot keep."""

import pickle

import genaug
import numpy as np
import pandas as pd
import pytest

EPOCHS = 3


def numbered_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A frame labelled 0, 1, 2 as pd.DataFrame(array) labels one, with a category column."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 2)))
    frame[2] = pd.Categorical(rng.choice(["a", "b"], n, p=[0.7, 0.3]))
    return frame


@pytest.fixture(scope="module")
def numbered() -> pd.DataFrame:
    return numbered_frame()


@pytest.mark.parametrize("cls", [genaug.VAE, genaug.GAN])
def test_integer_labels_come_back_as_integers(cls, numbered):
    model = cls(seed=0).fit(numbered, epochs=EPOCHS, progress=False)
    out = model.sample(5, seed=0)
    assert list(out.columns) == [0, 1, 2]
    assert out.dtypes.to_dict() == numbered.dtypes.to_dict()
    both = model.augment(numbered.iloc[:4], 3, seed=0)
    assert list(both.columns) == [0, 1, 2] and len(both) == 7
    pd.testing.assert_frame_equal(both.iloc[:4], numbered.iloc[:4])
    again = pickle.loads(pickle.dumps(model))
    assert list(again.sample(2, seed=0).columns) == [0, 1, 2]


def test_an_integer_label_names_the_label_column(numbered):
    model = genaug.VAE(seed=0).fit(numbered, y=2, epochs=EPOCHS, progress=False)
    assert model.classes_ == ["a", "b"]
    out = model.sample(6, y="b", seed=0)
    assert list(out.columns) == [0, 1, 2] and (out[2] == "b").all()
    batch = numbered.iloc[:20]
    balanced = model.augment(batch, seed=0)
    assert balanced[2].value_counts().nunique() == 1
    # NumPy's integers name it too.
    numpy_int = genaug.VAE(seed=0).fit(numbered, y=np.int64(2), epochs=EPOCHS, progress=False)
    assert numpy_int.classes_ == ["a", "b"]


def test_a_batch_must_label_columns_as_training_did(numbered):
    model = genaug.VAE(seed=0).fit(numbered, epochs=EPOCHS, progress=False)
    renamed = numbered.iloc[:3].rename(columns={0: "0"})
    with pytest.raises(genaug.ShapeError, match=r"'0' \(str\).*labelling it 0"):
        model.augment(renamed, 2)
    named = genaug.VAE(seed=0).fit(numbered.iloc[:, :2].set_axis(["0", "1"], axis=1), epochs=1)
    with pytest.raises(genaug.ShapeError, match=r"0 \(int\).*labelling it '0'"):
        named.score(numbered.iloc[:3, :2])


@pytest.mark.parametrize(
    ("labels", "shown"),
    [
        (pd.MultiIndex.from_tuples([("a", 1), ("a", 2)]), r"\('a', 1\) \(tuple\)"),
        ([0.5, 1.5], r"0.5 \(float\)"),
        ([True, False], r"True \(bool\)"),
    ],
)
def test_labels_other_than_strings_and_integers_are_shape_errors(labels, shown):
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 2)), columns=labels)
    with pytest.raises(genaug.ShapeError, match=shown + ".*strings or integers"):
        genaug.VAE().fit(frame, epochs=1, progress=False)


def test_an_integer_and_its_digits_are_one_name():
    frame = pd.DataFrame({0: np.arange(50.0), "0": np.arange(50.0)})
    with pytest.raises(genaug.ShapeError, match=r"duplicate column names \['0'\]"):
        genaug.VAE().fit(frame, epochs=1, progress=False)


def test_a_column_named_self_takes_unseen_categories():
    # pandas' DataFrame.assign(**columns) cannot take a column named "self".
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"self": pd.Categorical(rng.choice(["a", "b"], 100)), "x": rng.normal(size=100)}
    )
    model = genaug.VAE(seed=0).fit(frame, epochs=EPOCHS, progress=False)
    batch = frame.iloc[:3].copy()
    batch["self"] = pd.Categorical(["a", "c", "b"])
    before = batch.copy()
    out = model.augment(batch, 4, seed=0)
    assert list(out["self"].iloc[:3]) == ["a", "c", "b"]
    assert set(out["self"].iloc[3:]) <= {"a", "b"}
    pd.testing.assert_frame_equal(batch, before)
