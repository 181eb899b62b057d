"""genaug.imblearn.GenerativeOverSampler where imbalanced-learn's SMOTE goes."""

import genaug
import numpy as np
import pandas as pd
import pytest
from genaug.imblearn import GenerativeOverSampler
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from imblearn.utils.estimator_checks import parametrize_with_checks
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.preprocessing import StandardScaler

FAST = dict(epochs=3)


def small_vae() -> genaug.VAE:
    return genaug.VAE(hidden=(16,), latent_dim=2)


@parametrize_with_checks([GenerativeOverSampler(small_vae(), **FAST)])  # all 15 apply
def test_imblearn_estimator_checks(estimator, check):
    check(estimator)


def imbalanced(seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(["common", "rare", "scarce"], [60, 15, 6])
    centres = {"common": 0.0, "rare": 4.0, "scarce": -4.0}
    x = np.array([centres[c] for c in y])[:, None] + rng.normal(size=(len(y), 4))
    return x, y


@pytest.mark.parametrize(
    "strategy, expected",
    [
        ("auto", {"common": 60, "rare": 60, "scarce": 60}),
        ("not majority", {"common": 60, "rare": 60, "scarce": 60}),
        ("minority", {"common": 60, "rare": 15, "scarce": 60}),
        ({"rare": 20, "scarce": 30}, {"common": 60, "rare": 20, "scarce": 30}),
    ],
)
def test_sampling_strategy_gives_exact_counts(strategy, expected):
    x, y = imbalanced()
    sampler = GenerativeOverSampler(small_vae(), sampling_strategy=strategy, **FAST)
    x_res, y_res = sampler.fit_resample(x, y)
    labels, counts = np.unique(y_res, return_counts=True)
    assert dict(zip(labels.tolist(), counts.tolist(), strict=True)) == expected
    # The real rows come first, unchanged, then the generated ones.
    np.testing.assert_array_equal(x_res[: len(x)], x)
    np.testing.assert_array_equal(y_res[: len(y)], y)
    assert x_res.dtype == x.dtype and y_res.dtype == y.dtype
    assert sampler.model_.is_fitted and sampler.model_ is not sampler.model


def test_float_strategy_is_the_minority_to_majority_ratio():
    x, y = imbalanced()
    keep = y != "scarce"
    sampler = GenerativeOverSampler(small_vae(), sampling_strategy=0.5, **FAST)
    _, y_res = sampler.fit_resample(x[keep], y[keep])
    assert (y_res == "rare").sum() == 30 and (y_res == "common").sum() == 60


def test_generated_rows_come_from_their_class():
    x, y = imbalanced()
    sampler = GenerativeOverSampler(random_state=0)
    x_res, y_res = sampler.fit_resample(x, y)
    new_x, new_y = x_res[len(x) :], y_res[len(y) :]
    # Class centres are 4 apart: each class's generated rows sit nearer its own centre than
    # any other class's.
    assert abs(new_x[new_y == "rare"].mean() - 4.0) < 1.5
    assert abs(new_x[new_y == "scarce"].mean() + 4.0) < 1.5


def test_random_state_makes_resampling_reproducible():
    x, y = imbalanced()
    first = GenerativeOverSampler(small_vae(), random_state=3, **FAST).fit_resample(x, y)[0]
    again = GenerativeOverSampler(small_vae(), random_state=3, **FAST).fit_resample(x, y)[0]
    other = GenerativeOverSampler(small_vae(), random_state=4, **FAST).fit_resample(x, y)[0]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_mixed_type_frame_keeps_columns_and_categories():
    rng = np.random.default_rng(0)
    n = 120
    y = np.where(np.arange(n) < 100, 0, 1)
    frame = pd.DataFrame(
        {
            "size": rng.normal(10, 2, n) + 5 * y,
            "colour": pd.Categorical(rng.choice(["red", "blue"], n), categories=["red", "blue"]),
            "count": rng.integers(0, 5, n),
        }
    )
    x_res, y_res = GenerativeOverSampler(small_vae(), **FAST).fit_resample(frame, y)
    assert isinstance(x_res, pd.DataFrame) and list(x_res.columns) == list(frame.columns)
    assert (x_res.dtypes == frame.dtypes).all()
    assert set(x_res["colour"].dropna()) <= {"red", "blue"}
    assert np.bincount(y_res).tolist() == [100, 100]
    pd.testing.assert_frame_equal(x_res.iloc[:n], frame)


@pytest.mark.parametrize("mixed", [False, True])
def test_missing_values_are_learnt_with_missing_model(mixed):
    x, y = imbalanced()
    x = x.copy()
    x[::4, 1] = np.nan  # a quarter of the rows, of both classes
    rows: np.ndarray | pd.DataFrame = x
    if mixed:
        colour = np.where(np.arange(len(x)) % 2 == 0, "red", "blue").astype(object)
        colour[1::5] = None
        rows = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "colour": colour})
    before = rows.copy()
    # Refused by default: by scikit-learn's input check for arrays, by the model for frames.
    with pytest.raises(ValueError, match="NaN"):
        GenerativeOverSampler(small_vae(), **FAST).fit_resample(rows, y)
    sampler = GenerativeOverSampler(small_vae(), missing="model", random_state=0, **FAST)
    x_res, y_res = sampler.fit_resample(rows, y)
    assert pd.Series(y_res).value_counts().to_dict() == {"common": 60, "rare": 60, "scarce": 60}
    new = x_res[len(x) :]
    b = new["b"] if mixed else new[:, 1]
    assert 0 < np.isnan(np.asarray(b, dtype=float)).sum() < len(b)  # gaps, not only gaps
    if mixed:
        pd.testing.assert_frame_equal(rows, before)
        pd.testing.assert_frame_equal(x_res.iloc[: len(x)], rows)
        assert set(new["colour"].dropna()) <= {"red", "blue"}
    else:
        np.testing.assert_array_equal(x_res[: len(x)], x)
        np.testing.assert_array_equal(rows, before)
    assert sampler.__sklearn_tags__().input_tags.allow_nan


def test_pipeline_with_cross_validation_in_place_of_smote():
    x, y = load_breast_cancer(return_X_y=True)
    # An imbalanced version: a third of the malignant cases.
    keep = (y == 1) | (np.arange(len(y)) % 3 == 0)
    x, y = x[keep], y[keep]
    cv = StratifiedKFold(3, shuffle=True, random_state=0)

    def score(sampler):
        pipe = make_pipeline(StandardScaler(), sampler, LogisticRegression(max_iter=2000))
        return cross_val_score(pipe, x, y, cv=cv, scoring="balanced_accuracy")

    genaug_scores = score(GenerativeOverSampler(genaug.VAE(hidden=(64,)), epochs=20))
    smote_scores = score(SMOTE(random_state=0))
    assert len(genaug_scores) == 3
    # Same task, same folds: within a few points of SMOTE's balanced accuracy.
    assert genaug_scores.mean() > 0.9
    assert genaug_scores.mean() > smote_scores.mean() - 0.05


def test_grid_search_reaches_the_model_parameters():
    x, y = imbalanced()
    pipe = make_pipeline(GenerativeOverSampler(small_vae(), **FAST), LogisticRegression())
    grid = GridSearchCV(
        pipe, {"generativeoversampler__model__latent_dim": [1, 3]}, cv=2, scoring="accuracy"
    )
    grid.fit(x, y)
    fitted = grid.best_estimator_.named_steps["generativeoversampler"].model_
    assert fitted.latent_dim == grid.best_params_["generativeoversampler__model__latent_dim"]


def test_clone_leaves_the_given_model_unfitted():
    model = small_vae()
    sampler = GenerativeOverSampler(model, **FAST)
    sampler.fit_resample(*imbalanced())
    assert not model.is_fitted
    copy = clone(sampler)
    assert copy.model is not model and copy.model.get_params() == model.get_params()


def test_bad_parameters_are_clear_errors():
    x, y = imbalanced()
    with pytest.raises(ValueError, match="sampling_strategy"):
        GenerativeOverSampler(small_vae(), sampling_strategy="most").fit_resample(x, y)
    with pytest.raises(ValueError, match="epochs"):
        GenerativeOverSampler(small_vae(), epochs=0).fit_resample(x, y)
    with pytest.raises(ValueError, match="NaN"):
        GenerativeOverSampler(small_vae(), **FAST).fit_resample(np.full((10, 2), np.nan), y[:10])
