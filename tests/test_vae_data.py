"""Data in and out: shapes, dtypes, ranges and array-likes."""

import genaug
import numpy as np
import pytest


def fit_small(x, y=None, **kw):
    kw.setdefault("epochs", 3)
    return genaug.VAE(latent_dim=4, hidden=(32,), seed=0).fit(x, y, batch_size=16, **kw)


def test_sample_has_training_shape_dtype_and_range(blobs):
    x, _ = blobs
    vae = fit_small(x)
    out = vae.sample(7)
    assert out.shape == (7, 5) and out.dtype == np.float64
    assert (out >= x.min(axis=0) - 1e-6).all() and (out <= x.max(axis=0) + 1e-6).all()
    assert vae.sample(0).shape == (0, 5)


def test_uint8_images_come_back_uint8():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(20, 8, 8), dtype=np.uint8)
    out = fit_small(images).sample(4)
    assert out.shape == (4, 8, 8) and out.dtype == np.uint8


def test_integer_columns_come_back_integral_within_range():
    rng = np.random.default_rng(2)
    x = np.stack([rng.integers(0, 5, 50), rng.integers(100, 110, 50)], axis=1).astype(np.int32)
    out = fit_small(x).sample(30)
    assert out.dtype == np.int32
    assert out[:, 0].min() >= 0 and out[:, 0].max() <= 4
    assert out[:, 1].min() >= 100 and out[:, 1].max() <= 109


def test_float32_sequences_and_channel_images():
    rng = np.random.default_rng(3)
    seqs = rng.normal(size=(12, 6, 3)).astype(np.float32)
    assert fit_small(seqs).sample(2).shape == (2, 6, 3)
    assert fit_small(seqs).sample(2).dtype == np.float32
    images = rng.random((12, 2, 4, 4))
    assert fit_small(images).sample(3).shape == (3, 2, 4, 4)


def test_conv_arch_on_large_images():
    rng = np.random.default_rng(4)
    images = (rng.random((16, 1, 16, 16)) * 255).astype(np.uint8)
    vae = genaug.VAE(latent_dim=4, arch="conv", seed=0).fit(images, epochs=2, batch_size=8)
    out = vae.sample(3)
    assert out.shape == (3, 1, 16, 16) and out.dtype == np.uint8
    auto = genaug.VAE(latent_dim=4, seed=0).fit(images[:, 0], epochs=1, batch_size=8)
    assert auto.sample(2).shape == (2, 16, 16)


class ArrayLike:
    def __init__(self, data):
        self.data = data

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.data, dtype=dtype)


def test_array_likes_are_accepted(blobs):
    x, _ = blobs
    for form in (x.tolist(), np.asfortranarray(x), ArrayLike(x), x[:, ::-1]):
        vae = fit_small(form, epochs=1)
        assert vae.sample(2).shape == (2, 5)


def test_augment_appends_n_rows_and_keeps_the_batch(blobs):
    x, _ = blobs
    vae = fit_small(x)
    out = vae.augment(x[:10], 5)
    assert out.shape == (15, 5) and out.dtype == x.dtype
    np.testing.assert_array_equal(out[:10], x[:10])


def test_encode_decode_reconstruct_score_shapes(blobs):
    x, _ = blobs
    vae = fit_small(x, epochs=30)
    mean, logvar = vae.encode(x[:6])
    assert mean.shape == (6, 4) and logvar.shape == (6, 4) and mean.dtype == np.float32
    assert vae.decode(mean).shape == (6, 5)
    assert vae.reconstruct(x[:6]).shape == (6, 5)
    scores = vae.score(x[:6])
    assert scores.shape == (6,) and scores.dtype == np.float64 and np.isfinite(scores).all()


def test_score_flags_anomalies():
    # Normal rows lie along one direction; the odd rows are inside every feature's range but
    # break the correlation.
    rng = np.random.default_rng(0)
    t = rng.random((300, 1))
    x = t * np.ones((1, 5)) + rng.normal(scale=0.02, size=(300, 5))
    # free_bits=0: the plain ELBO, whose KL term adds nothing for rows the prior explains.
    vae = genaug.VAE(latent_dim=2, hidden=(64,), seed=0, free_bits=0.0)
    vae.fit(x, epochs=100, batch_size=32, lr=1e-3)
    normal = vae.score(x)
    odd = np.array([[1.0, 0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0, 1.0]])
    assert vae.score(odd).min() > 1.5 * np.percentile(normal, 99)


def test_history_records_each_epoch(blobs):
    x, _ = blobs
    vae = fit_small(x, epochs=4)
    assert [h["epoch"] for h in vae.history] == [1, 2, 3, 4]
    assert {"loss", "reconstruction", "kl", "seconds"} <= set(vae.history[0])
    assert vae.history[-1]["loss"] < vae.history[0]["loss"]


def test_callbacks_see_each_epoch_and_can_stop(blobs):
    x, _ = blobs
    seen = []
    fit_small(x, epochs=10, callbacks=[lambda stats: seen.append(stats["epoch"])])
    assert seen == list(range(1, 11))
    vae = fit_small(x, epochs=10, callbacks=lambda stats: stats["epoch"] < 3)
    assert len(vae.history) == 3


@pytest.mark.parametrize("seed", [0, 7])
def test_same_seed_same_history_and_samples(blobs, seed):
    x, _ = blobs

    def run():
        vae = genaug.VAE(latent_dim=4, hidden=(32,), seed=seed).fit(x, epochs=5, batch_size=16)
        losses = [{k: v for k, v in h.items() if k != "seconds"} for h in vae.history]
        return losses, vae.sample(6), vae.sample(6, seed=3)

    first, second = run(), run()
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
    np.testing.assert_array_equal(first[2], second[2])


def test_seeded_sample_is_repeatable_and_unseeded_advances(blobs):
    x, _ = blobs
    vae = fit_small(x)
    np.testing.assert_array_equal(vae.sample(5, seed=11), vae.sample(5, seed=11))
    assert not np.array_equal(vae.sample(5), vae.sample(5))
