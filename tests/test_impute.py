"""Filling missing values: VAE.impute and the scikit-learn transformer genaug.sklearn.VAEImputer."""

from __future__ import annotations

import genaug
import numpy as np
import pandas as pd
import pytest
from genaug.sklearn import VAEImputer
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline


@pytest.fixture(scope="module")
def digits() -> tuple[genaug.VAE, np.ndarray, np.ndarray, np.ndarray]:
    """A default VAE fitted on the digits training split; the test split, with 20% of its
    pixels removed, and which ones."""
    x, y = load_digits(return_X_y=True)
    x_train, x_test = train_test_split(x, test_size=0.3, random_state=0, stratify=y)[:2]
    removed = np.random.default_rng(0).random(x_test.shape) < 0.2
    model = genaug.VAE(seed=0).fit(x_train, progress=False)
    return model, x_test, np.where(removed, np.nan, x_test), removed


def test_impute_fills_gaps_and_keeps_observed_values(digits):
    model, truth, gappy, removed = digits
    before = gappy.copy()
    filled = model.impute(gappy)
    np.testing.assert_array_equal(gappy, before)  # the input is not changed
    assert filled.shape == gappy.shape and filled.dtype == np.float64
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~removed], truth[~removed])
    assert filled.min() >= 0.0 and filled.max() <= 16.0
    np.testing.assert_array_equal(model.impute(gappy), filled)  # deterministic


def test_impute_beats_column_means_by_a_clear_margin(digits):
    model, truth, gappy, removed = digits
    means = np.where(removed, np.nanmean(gappy, axis=0), gappy)

    def rmse(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean((x[removed] - truth[removed]) ** 2)))

    assert rmse(model.impute(gappy)) < 0.7 * rmse(means), (rmse(model.impute(gappy)), rmse(means))


def test_a_model_of_gappy_rows_imputes_from_what_it_saw_observed():
    """Fitted with missing="model", a VAE learns each pixel from the rows that have it (not
    from the gaps' placeholders) and stays an image model, so it imputes far better than means."""
    x, y = load_digits(return_X_y=True)
    x_train, x_test = train_test_split(x, test_size=0.3, random_state=0, stratify=y)[:2]
    rng = np.random.default_rng(0)
    train_gaps, test_gaps = rng.random(x_train.shape) < 0.2, rng.random(x_test.shape) < 0.2
    gappy = np.where(test_gaps, np.nan, x_test)
    model = genaug.VAE(seed=0).fit(
        np.where(train_gaps, np.nan, x_train), missing="model", epochs=100, progress=False
    )
    means = np.where(test_gaps, np.nanmean(np.where(train_gaps, np.nan, x_train), axis=0), x_test)

    def rmse(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean((x[test_gaps] - x_test[test_gaps]) ** 2)))

    assert rmse(model.impute(gappy)) < 0.85 * rmse(means), (rmse(model.impute(gappy)), rmse(means))


def test_multiple_imputations_differ_only_in_the_gaps(digits):
    model, truth, gappy, removed = digits
    draws = model.impute(gappy[:50], n_draws=4, seed=1)
    assert draws.shape == (4, 50, 64)
    for d in draws:
        np.testing.assert_array_equal(d[~removed[:50]], truth[:50][~removed[:50]])
    assert not np.array_equal(draws[0], draws[1])
    np.testing.assert_array_equal(model.impute(gappy[:50], n_draws=4, seed=1), draws)
    with pytest.raises(genaug.ParameterError, match="n_draws"):
        model.impute(gappy, n_draws=0)


@pytest.mark.parametrize("missing", ["error", "model"])
def test_multiple_imputations_draw_categories_and_gaps_reproducibly(missing):
    # The last round draws each category (and, with missing="model", each gap indicator).
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame(
        {"x": rng.normal(size=n), "kind": pd.Categorical(rng.choice(["a", "b", "c"], n))}
    )
    gappy = frame.copy()
    gappy.loc[::5, "x"] = np.nan
    gappy.loc[1::7, "kind"] = np.nan
    model = genaug.VAE(seed=0).fit(
        gappy if missing == "model" else frame, missing=missing, epochs=5, progress=False
    )
    draws = model.impute(gappy, n_draws=3, seed=2)
    again = model.impute(gappy, n_draws=3, seed=2)
    assert len(draws) == 3
    for d, d2 in zip(draws, again, strict=True):
        pd.testing.assert_frame_equal(d, d2)
        assert not d.isna().any().any()
        assert set(d["kind"]) <= {"a", "b", "c"}
        seen = gappy.notna()
        assert (d["x"][seen["x"]] == frame["x"][seen["x"]]).all()
    assert not draws[0].equals(draws[1])
    if missing == "model":
        # An array's gap indicators are drawn too.
        x = rng.normal(size=(n, 3))
        x[::4, 1] = np.nan
        array_model = genaug.VAE(seed=0).fit(x, missing="model", epochs=2, progress=False)
        filled = array_model.impute(x, n_draws=2, seed=0)
        assert filled.shape == (2, n, 3) and not np.isnan(filled).any()
        np.testing.assert_array_equal(filled, array_model.impute(x, n_draws=2, seed=0))


def test_impute_fills_missing_cells_of_a_frame():
    rng = np.random.default_rng(0)
    n = 300
    kind = rng.choice(["a", "b", "c"], n)
    size = np.where(kind == "a", 1.0, np.where(kind == "b", 5.0, 9.0)) + rng.normal(0, 0.3, n)
    counts = rng.integers(0, 5, n)
    frame = pd.DataFrame({"size": size, "kind": pd.Categorical(kind), "count": counts})
    model = genaug.VAE(seed=0).fit(frame, progress=False)
    gappy = frame.copy()
    gappy.loc[:49, "size"] = np.nan
    gappy.loc[50:99, "kind"] = np.nan
    filled = model.impute(gappy)
    # Rows keep their order and index whatever the index is (train_test_split shuffles it).
    shuffled = gappy.set_axis(np.random.default_rng(1).permutation(n) + 1000)
    pd.testing.assert_frame_equal(model.impute(shuffled), filled.set_axis(shuffled.index))
    assert list(filled.dtypes) == list(frame.dtypes)
    assert not filled.isna().any().any()
    pd.testing.assert_frame_equal(filled.iloc[100:], frame.iloc[100:])
    assert set(filled["kind"]) <= {"a", "b", "c"}
    # Sizes filled from each row's kind land near that kind's mean.
    error = np.abs(filled["size"][:50] - frame["size"][:50]).mean()
    assert error < 0.5 * np.abs(frame["size"][:50] - frame["size"].mean()).mean()


def test_the_imputer_is_a_scikit_learn_transformer(digits):
    _, truth, gappy, removed = digits
    imputer = VAEImputer(epochs=5, seed=0)
    assert clone(imputer).get_params() == imputer.get_params()
    imputer.set_params(epochs=3)
    assert imputer.get_params()["epochs"] == 3
    x, y = load_digits(return_X_y=True)
    x_gappy = np.where(np.random.default_rng(1).random(x.shape) < 0.2, np.nan, x)
    pipe = make_pipeline(VAEImputer(epochs=3, seed=0), LogisticRegression(max_iter=50))
    pipe.fit(x_gappy[:1200], y[:1200])
    assert pipe.score(x_gappy[1200:], y[1200:]) > 0.8
    filled = pipe[0].transform(gappy)
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~removed], truth[~removed])
    with pytest.raises(genaug.DataError, match="no observed value"):
        VAEImputer(epochs=1).fit(np.full((10, 2), np.nan))


def test_the_imputer_fills_a_mixed_frame_in_its_dtypes():
    rng = np.random.default_rng(0)
    n = 400
    kind = rng.choice(["a", "b", "c"], n)
    frame = pd.DataFrame(
        {
            "size": np.where(kind == "a", 1.0, np.where(kind == "b", 5.0, 9.0))
            + rng.normal(0, 0.3, n),
            "kind": pd.Categorical(kind),
            "count": pd.array(rng.integers(0, 5, n), dtype="Int64"),
            "flag": pd.array(kind == "a", dtype="boolean"),
        }
    )
    gappy = frame.copy()
    for name in frame.columns:
        gappy[name] = gappy[name].mask(rng.random(n) < 0.15)
    before = gappy.copy()
    imputer = VAEImputer(hidden=(128, 128), epochs=200, seed=0).fit(gappy)
    filled = imputer.transform(gappy)
    pd.testing.assert_frame_equal(gappy, before)
    assert isinstance(filled, pd.DataFrame)
    assert filled.dtypes.to_dict() == frame.dtypes.to_dict()
    assert not filled.isna().any().any()
    seen = gappy.notna()
    for name in frame.columns:
        assert (filled[name][seen[name]] == frame[name][seen[name]]).all(), name
    assert set(filled["kind"]) <= {"a", "b", "c"}
    # A size is filled from its row's kind: closer than the column's mean would be.
    gone = gappy["size"].isna() & gappy["kind"].notna()
    error = np.abs(filled["size"][gone] - frame["size"][gone]).mean()
    assert error < 0.5 * np.abs(frame["size"][gone] - frame["size"].mean()).mean(), error
    assert list(imputer.get_feature_names_out()) == list(frame.columns)
    with pytest.raises(genaug.ShapeError, match="DataFrame of mixed columns"):
        imputer.transform(gappy.to_numpy())
    # A failed refit leaves no model of the earlier fit behind.
    with pytest.raises(genaug.DataError, match="no observed value"):
        imputer.fit(gappy.assign(kind=pd.NA))
    assert not hasattr(imputer, "model_")
    with pytest.raises(genaug.ShapeError, match="duplicate column labels"):
        VAEImputer(epochs=1).fit(gappy.set_axis(["a", "a", "b", "c"], axis=1))


def test_the_imputer_names_a_numeric_frames_columns():
    x = np.random.default_rng(0).normal(size=(200, 3))
    x[::4, 1] = np.nan
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    imputer = VAEImputer(hidden=(32,), epochs=3, seed=0).fit(frame)
    assert isinstance(imputer.transform(frame), np.ndarray)
    assert list(imputer.feature_names_in_) == ["a", "b", "c"]
    with pytest.raises(genaug.ShapeError, match=r"fitted on \['a', 'b', 'c'\]"):
        imputer.transform(frame[["b", "a", "c"]])
    out = imputer.set_output(transform="pandas").transform(frame)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["a", "b", "c"]
    assert not out.isna().any().any()
    # Refitted on an array, it has no feature names.
    assert not hasattr(imputer.fit(x), "feature_names_in_")
