"""Scores, codes and reconstructions stay finite for data with a constant column and for rows far
outside the training range, and such rows score as unusual."""

import genaug
import numpy as np
import pytest

FAR = 1e6


def constant_column_data():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=(200, 4)), np.full(200, 2.5)])
    return x, np.repeat([0, 1], 100)


def far_rows(width):
    signs = np.array([1.0, -1.0])
    alternating = np.resize(signs, width)
    return np.stack([np.full(width, FAR), np.full(width, -FAR), FAR * alternating])


@pytest.fixture(params=["constant_column", "blobs"])
def data(request, blobs):
    return constant_column_data() if request.param == "constant_column" else blobs


@pytest.mark.parametrize("conditional", [False, True], ids=["unconditional", "conditional"])
def test_far_rows_score_finite_and_higher(data, conditional):
    x, y = data
    labels = y if conditional else None
    vae = genaug.VAE(latent_dim=2, hidden=(32,), device="cpu", seed=0)
    vae.fit(x, labels, epochs=40, batch_size=32, progress=False)
    far = far_rows(x.shape[1])
    far_labels = np.full(len(far), y[0]) if conditional else None

    for rows, rows_labels in ((x, labels), (far, far_labels)):
        scores = vae.score(rows, rows_labels)
        assert scores.shape == (len(rows),) and np.isfinite(scores).all(), scores
        # Reconstruction (cross-entropy less the target's entropy) and KL are both >= 0.
        assert (scores >= -1e-6).all(), scores
        mean, logvar = vae.encode(rows, rows_labels)
        assert mean.shape == logvar.shape == (len(rows), 2)
        assert np.isfinite(mean).all() and np.isfinite(logvar).all()
        rebuilt = vae.reconstruct(rows, rows_labels)
        assert rebuilt.shape == rows.shape and np.isfinite(rebuilt).all()
        # Reconstructions come back within the training range (as float32 bounds).
        assert (rebuilt >= x.min(axis=0) - 1e-5).all() and (rebuilt <= x.max(axis=0) + 1e-5).all()

    far_scores, usual = vae.score(far, far_labels), vae.score(x, labels).mean()
    assert far_scores.mean() > 1.5 * usual and far_scores.min() > usual, (far_scores, usual)


def test_a_constant_column_comes_back_constant():
    x, _ = constant_column_data()
    vae = genaug.VAE(latent_dim=2, hidden=(32,), device="cpu", seed=0)
    vae.fit(x, epochs=5, progress=False)
    assert np.isfinite(vae.history[-1]["loss"])
    np.testing.assert_array_equal(vae.sample(20)[:, 4], 2.5)
    np.testing.assert_array_equal(vae.reconstruct(x[:10])[:, 4], 2.5)
    assert np.isfinite(vae.score(x)).all()
