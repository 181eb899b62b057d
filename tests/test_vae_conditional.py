"""Conditional VAE: exact labels, class balancing and sampling strategies."""

import genaug
import numpy as np
import pytest


@pytest.fixture
def cvae(blobs):
    x, y = blobs
    return genaug.VAE(latent_dim=2, hidden=(64,), seed=0).fit(x, y, epochs=200, batch_size=16)


def test_classes_are_recorded(cvae):
    assert cvae.classes_ == [0, 1, 2]


def test_sample_yields_the_requested_classes(cvae, blobs):
    x, y = blobs
    out = cvae.sample(30, y=2)
    assert out.shape == (30, 5)
    # Each generated row lies nearest the centre of the class it was asked for.
    centres = np.stack([x[y == c].mean(axis=0) for c in range(3)])
    labels = np.repeat([0, 1, 2], 10)
    out = cvae.sample(30, y=labels)
    nearest = np.linalg.norm(out[:, None, :] - centres[None], axis=2).argmin(axis=1)
    assert (nearest == labels).mean() >= 0.9


def test_balance_gives_every_class_the_majority_count(cvae, blobs):
    x, y = blobs
    x_aug, y_aug = cvae.augment(x, labels=y, strategy="balance")
    assert x_aug.shape == (120, 5) and y_aug.shape == (120,)
    assert dict(zip(*np.unique(y_aug, return_counts=True), strict=True)) == {0: 40, 1: 40, 2: 40}
    np.testing.assert_array_equal(x_aug[:70], x)
    np.testing.assert_array_equal(y_aug[:70], y)
    assert y_aug.dtype == y.dtype


def test_balance_is_the_default_with_labels(cvae, blobs):
    x, y = blobs
    _, y_aug = cvae.augment(x, labels=y)
    assert np.bincount(y_aug).tolist() == [40, 40, 40]


def test_dict_strategy_sets_final_counts(cvae, blobs):
    x, y = blobs
    _, y_aug = cvae.augment(x, labels=y, strategy={2: 25, 1: 20})
    assert np.bincount(y_aug).tolist() == [40, 20, 25]


def test_n_with_labels_follows_class_proportions(cvae, blobs):
    x, y = blobs
    x_aug, y_aug = cvae.augment(x, 14, labels=y)
    assert len(x_aug) == 84
    assert np.bincount(y_aug[70:]).tolist() == [8, 4, 2]


def test_non_contiguous_labels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    y = np.repeat([-3, 10, 42], 10).astype(np.int16)
    vae = genaug.VAE(latent_dim=2, hidden=(16,), seed=0).fit(x, y, epochs=2)
    assert vae.classes_ == [-3, 10, 42]
    _, y_aug = vae.augment(x[:12], labels=y[:12])
    assert y_aug.dtype == np.int16
    assert sorted(np.unique(y_aug, return_counts=True)[1].tolist()) == [10, 10]
