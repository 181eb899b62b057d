"""genaug.GAN: both losses, both architectures, conditional and unconditional, checkpoints and
bad input."""

import pickle

import genaug
import numpy as np
import pytest

LOSS_KEYS = {
    "bce": {"d_loss", "g_loss", "diversity", "epoch", "seconds"},
    "wgan-gp": {
        "d_loss",
        "g_loss",
        "wasserstein",
        "gradient_penalty",
        "diversity",
        "epoch",
        "seconds",
    },
}


def small_gan(loss="bce", **kwargs):
    # On the CPU: these tests reproduce rows exactly through save and load (test_cuda.py
    # covers the GPU).
    kwargs.setdefault("device", "cpu")
    return genaug.GAN(latent_dim=4, hidden=(32, 32), loss=loss, seed=0, lr=2e-3, **kwargs)


@pytest.fixture(scope="module")
def digits32():
    """200 digits upscaled to 32x32 uint8 images, with their labels."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    images = np.kron(x[:200].reshape(-1, 8, 8), np.ones((4, 4))) * (255 / 16)
    return images.round().astype(np.uint8), y[:200]


@pytest.mark.parametrize("loss", ["bce", "wgan-gp"])
def test_unconditional_rows_and_history(blobs, loss):
    x, _ = blobs
    gan = small_gan(loss)
    assert gan.fit(x, epochs=5, progress=False) is gan
    out = gan.sample(7)
    assert out.shape == (7, 5) and out.dtype == np.float64
    assert (out >= x.min(0)).all() and (out <= x.max(0)).all()
    assert len(gan.history) == 5
    for stats in gan.history:
        assert set(stats) == LOSS_KEYS[loss]
        assert all(np.isfinite(v) for v in stats.values())
    assert gan.history[-1]["epoch"] == 5
    assert gan.loss == loss and gan.is_fitted and gan.classes_ is None


def test_defaults_follow_the_loss(blobs):
    # Critic steps per generator step (the learning rates per loss: gan.rs's unit tests).
    x, _ = blobs
    for params, n_critic in [({}, 1), ({"loss": "wgan-gp"}, 2), ({"n_critic": 3}, 3)]:
        gan = genaug.GAN(hidden=(8,), **params).fit(x, epochs=1, progress=False)
        assert gan.fit_params_["batches_per_step"] == n_critic


@pytest.mark.parametrize("loss, epochs", [("bce", 150), ("wgan-gp", 600)])
def test_conditional_gan_generates_each_class(blobs, loss, epochs):
    x, y = blobs
    gan = small_gan(loss).fit(x, y, epochs=epochs, batch_size=32, progress=False)
    assert gan.classes_ == [0, 1, 2]
    centres = np.stack([x[y == c].mean(0) for c in range(3)])
    for c in range(3):
        mean = gan.sample(200, y=c).mean(0)
        nearest = np.argmin(np.linalg.norm(centres - mean, axis=1))
        assert nearest == c, (c, mean)
    x_bal, y_bal = gan.augment(x, labels=y, strategy="balance")
    assert np.bincount(y_bal).tolist() == [40, 40, 40]
    assert np.array_equal(x_bal[: len(x)], x) and np.array_equal(y_bal[: len(y)], y)
    x_aug, y_aug = gan.augment(x, labels=y, strategy={2: 25})
    assert np.bincount(y_aug).tolist() == [40, 20, 25] and len(x_aug) == 85


@pytest.mark.parametrize("loss", ["bce", "wgan-gp"])
def test_dcgan_on_32x32_images(digits32, loss):
    images, labels = digits32
    gan = genaug.GAN(latent_dim=16, loss=loss, seed=0)
    gan.fit(images, labels, epochs=3, batch_size=64, progress=False)
    out = gan.sample(10, y=labels[:10])
    assert out.shape == (10, 32, 32) and out.dtype == np.uint8
    assert len(gan.history) == 3
    assert all(np.isfinite(v) for stats in gan.history for v in stats.values())
    # The conv nets, not an MLP: their kernels are in the checkpoint.
    assert b"generator.deconv1.weight" in gan.to_bytes()


@pytest.mark.parametrize("loss", ["bce", "wgan-gp"])
def test_conditional_dcgan_draws_the_asked_class(loss):
    # Class 0 is bright in the top half of a 16x16 image, class 1 in the bottom half.
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 64)
    x = rng.uniform(0, 0.1, size=(128, 16, 16))
    x[y == 0, :8] += 0.9
    x[y == 1, 8:] += 0.9
    gan = genaug.GAN(latent_dim=8, loss=loss, seed=0, lr=1e-3)
    gan.fit(x, y, epochs=40, batch_size=32, progress=False)
    top = gan.sample(50, y=0)
    bottom = gan.sample(50, y=1)
    assert top[:, :8].mean() > 0.7 and top[:, 8:].mean() < 0.3
    assert bottom[:, 8:].mean() > 0.7 and bottom[:, :8].mean() < 0.3


def test_mlp_arch_for_small_images_and_by_choice(digits32):
    images, _ = digits32
    small = genaug.GAN(latent_dim=4, hidden=(16,), seed=0).fit(
        images[:, ::4, ::4], epochs=1, progress=False
    )
    assert b"generator.0.weight" in small.to_bytes()
    chosen = genaug.GAN(latent_dim=4, hidden=(16,), arch="mlp", seed=0)
    chosen.fit(images, epochs=1, progress=False)
    assert b"generator.0.weight" in chosen.to_bytes()
    with pytest.raises(genaug.ShapeError, match="conv"):
        genaug.GAN(arch="conv").fit(np.ones((4, 8, 8)), epochs=1)


@pytest.mark.parametrize("loss", ["bce", "wgan-gp"])
def test_same_seed_same_history_and_samples(blobs, loss):
    x, y = blobs
    runs = [small_gan(loss).fit(x, y, epochs=3, progress=False) for _ in range(2)]
    drop = [[{k: v for k, v in s.items() if k != "seconds"} for s in r.history] for r in runs]
    assert drop[0] == drop[1]
    assert np.array_equal(runs[0].sample(20, y=1, seed=5), runs[1].sample(20, y=1, seed=5))


@pytest.mark.parametrize("loss", ["bce", "wgan-gp"])
def test_save_load_reproduces_samples(blobs, tmp_path, loss):
    x, y = blobs
    gan = small_gan(loss, n_critic=2).fit(x, y, epochs=3, progress=False)
    path = tmp_path / "gan.safetensors"
    gan.save(path)
    loaded = genaug.load(path)
    assert isinstance(loaded, genaug.GAN) and loaded.get_params()["n_critic"] == 2
    # The same facts (a loaded model's parameters are its resolved ones).
    assert repr(loaded).splitlines()[1:] == repr(gan).splitlines()[1:]
    assert loaded.history == gan.history and loaded.classes_ == [0, 1, 2]
    labels = np.array([0, 2, 1, 2])
    assert np.array_equal(loaded.sample(4, y=labels, seed=3), gan.sample(4, y=labels, seed=3))
    # Without a seed both continue the same seed stream.
    assert np.array_equal(loaded.sample(4, y=labels), gan.sample(4, y=labels))
    copy = pickle.loads(pickle.dumps(gan))
    assert np.array_equal(copy.sample(5, y=0, seed=1), gan.sample(5, y=0, seed=1))


def test_a_vae_checkpoint_is_not_a_gan(blobs, tmp_path):
    x, _ = blobs
    genaug.VAE(latent_dim=2, hidden=(8,)).fit(x, epochs=1, progress=False).save(tmp_path / "v")
    assert isinstance(genaug.load(tmp_path / "v"), genaug.VAE)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"loss": "hinge"}, "unknown loss"),
        ({"n_critic": 0}, "n_critic"),
        ({"n_critic": -2}, "n_critic"),
        ({"gp_lambda": -1.0}, "gp_lambda"),
        ({"lr": 0.0}, "lr"),
        ({"betas": (0.5, 1.0)}, "betas"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"arch": "resnet"}, "arch"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(genaug.ParameterError, match=match):
        genaug.GAN(**kwargs)


def test_bad_input(blobs):
    x, y = blobs
    with pytest.raises(genaug.NotFittedError):
        genaug.GAN().sample(3)
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(genaug.DataError, match="row 3"):
        genaug.GAN().fit(bad, epochs=1)
    gan = small_gan().fit(x, y, epochs=1, progress=False)
    with pytest.raises(genaug.LabelError, match="unknown class 7"):
        gan.sample(2, y=7)
    with pytest.raises(genaug.ShapeError):
        gan.augment(np.ones((3, 4)), labels=[0, 1, 2])
    with pytest.raises(genaug.LabelError):
        gan.fit(x, y[:-1], epochs=1)


def test_divergence_raises_and_names_the_epoch(blobs):
    x, _ = blobs
    gan = genaug.GAN(hidden=(16,), lr=1e30, seed=0)
    with pytest.raises(genaug.TrainingDivergedError, match="epoch 1"):
        gan.fit(x, epochs=3, progress=False)
    assert not gan.is_fitted
