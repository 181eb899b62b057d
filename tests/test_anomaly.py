"""Outlier detection in scikit-learn's convention: score_samples (higher is more normal),
decision_function, predict (+1 / -1) with a threshold set at fit from `contamination`."""

from __future__ import annotations

import genaug
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="module")
def digits_without_nines() -> tuple[genaug.VAE, np.ndarray, np.ndarray]:
    """A default VAE fitted on digits 0-8 of the training split, with the test split and which
    of its rows are nines (the split of benchmarks/anomaly.py)."""
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, random_state=0, stratify=y
    )
    model = genaug.VAE(seed=0).fit(x_train[y_train != 9], progress=False)
    return model, x_test, y_test == 9


def test_held_out_nines_rank_as_outliers(digits_without_nines):
    model, x_test, nines = digits_without_nines
    auc = roc_auc_score(nines, -model.score_samples(x_test))
    assert auc > 0.9, auc


def test_predict_follows_the_contamination_threshold(digits_without_nines):
    model, x_test, nines = digits_without_nines
    scores = model.score_samples(x_test)
    decision = model.decision_function(x_test)
    np.testing.assert_allclose(decision, scores - model.offset_, rtol=1e-6, atol=1e-6)
    labels = model.predict(x_test)
    assert labels.dtype == np.int64 and set(np.unique(labels)) <= {-1, 1}
    np.testing.assert_array_equal(labels == -1, decision < 0)
    # Nines are flagged far more often than held-out digits of the training classes.
    assert (labels[nines] == -1).mean() > 2 * (labels[~nines] == -1).mean()


def test_scores_are_deterministic_and_per_row(digits_without_nines):
    model, x_test, _ = digits_without_nines
    scores = model.score_samples(x_test)
    assert scores.dtype == np.float64 and scores.shape == (len(x_test),)
    assert np.isfinite(scores).all()
    np.testing.assert_array_equal(model.score_samples(x_test), scores)
    # A row's score does not depend on the rows scored with it.
    np.testing.assert_allclose(model.score_samples(x_test[5:6]), scores[5:6], rtol=1e-5)


def test_the_threshold_flags_the_contamination_share_of_training_rows():
    x = np.random.default_rng(0).normal(size=(400, 4))
    model = genaug.VAE(seed=0, contamination=0.2).fit(x, epochs=20, progress=False)
    flagged = (model.predict(x) == -1).mean()
    assert 0.15 < flagged < 0.25, flagged


def test_the_threshold_survives_save_and_load(tmp_path, blobs):
    x, _ = blobs
    model = genaug.VAE(seed=0).fit(x, epochs=3, progress=False)
    model.save(tmp_path / "m.safetensors")
    loaded = genaug.load(tmp_path / "m.safetensors")
    assert loaded.offset_ == model.offset_
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_bad_arguments_are_clear_errors(blobs):
    x, _ = blobs
    for bad in (0.0, 0.6, -1.0, float("nan")):
        with pytest.raises(genaug.ParameterError, match="contamination"):
            genaug.VAE(contamination=bad)
    with pytest.raises(genaug.NotFittedError):
        genaug.VAE().score_samples(x)
    with pytest.raises(genaug.NotFittedError):
        _ = genaug.VAE().offset_
    model = genaug.VAE(seed=0).fit(x, epochs=1, progress=False)
    for k in (0, -3, 10**6):
        with pytest.raises(genaug.ParameterError, match="k must be"):
            model.score_samples(x, k=k)
    with pytest.raises(genaug.ShapeError):
        model.predict(x[:, :3])
