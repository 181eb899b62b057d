"""A seeded `sample`'s rows do not depend on how many rows are asked for at once: on the CPU
the networks run, and rows are decoded, in blocks of 4,096, and the first rows of a large
draw are the draw of those rows alone (the noise is one stream, drawn before any block)."""

import genaug
import numpy as np
import pytest
from sklearn.datasets import load_digits


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return x.astype(np.int64), y  # integer columns: generated values are rounded


@pytest.mark.parametrize(
    "make",
    [
        lambda: genaug.VAE(seed=0),
        lambda: genaug.GAN(loss="bce", seed=0),
        lambda: genaug.GAN(loss="wgan-gp", latent_dim=8, hidden=(64, 64), seed=0),
    ],
    ids=["vae", "gan-bce", "gan-wgan-gp"],
)
def test_a_large_draw_starts_with_the_small_one(digits, make):
    x, y = digits
    model = make().fit(x, y, epochs=1, progress=False)
    labels = np.arange(9000) % 10
    large = model.sample(9000, y=labels, seed=5)
    small = model.sample(50, y=labels[:50], seed=5)
    assert large.shape == (9000, 64)
    assert large.dtype == np.int64
    assert large.min() >= 0 and large.max() <= 16
    np.testing.assert_array_equal(large[:50], small)
    # A draw across a block boundary (rows 4,090-4,101 of the large one).
    middle = model.sample(4102, y=labels[:4102], seed=5)
    np.testing.assert_array_equal(large[4090:4102], middle[4090:])
