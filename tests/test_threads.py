"""One model used from several Python threads: concurrent sampling, fit against sample, and a
callback that touches its own model."""

import threading
from concurrent.futures import ThreadPoolExecutor

import genaug
import numpy as np
import pytest
from _helpers import fail_at


@pytest.mark.parametrize("kind", ["vae", "gan"])
def test_eight_threads_sample_one_model(blobs, kind):
    x, y = blobs
    model = (genaug.VAE if kind == "vae" else genaug.GAN)(latent_dim=4, hidden=(16,), seed=0)
    model.fit(x, y, epochs=3, progress=False)
    expected = {seed: model.sample(50, y=seed % 3, seed=seed) for seed in range(32)}

    def work(seed):
        out = model.sample(50, y=seed % 3, seed=seed)
        x_aug, y_aug = model.augment(x[:10], labels=y[:10], strategy={2: 7})
        return seed, out, x_aug.shape, y_aug.shape

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(32)))
    for seed, out, x_shape, y_shape in results:
        assert np.array_equal(out, expected[seed])
        assert x_shape == (17, 5) and y_shape == (17,)


def test_sample_during_a_fit_uses_its_last_completed_epoch(blobs):
    x, y = blobs
    vae = genaug.VAE(latent_dim=2, hidden=(64,), seed=0, device="cpu")
    reached = threading.Event()
    release = threading.Event()
    epochs = 40

    def hold_at_epoch_5(stats):
        if stats["epoch"] == 5:
            reached.set()
            release.wait(30)

    trainer = threading.Thread(
        target=lambda: vae.fit(x, y, epochs=epochs, callbacks=[hold_at_epoch_5], progress=False)
    )
    trainer.start()
    assert reached.wait(30)
    # The fit is paused inside epoch 5's callback: sampling answers at once from epoch 5.
    out = vae.sample(7, y=1, seed=3)
    assert len(vae.history) == 5 and vae.is_fitted
    release.set()
    trainer.join(30)
    assert out.shape == (7, 5)
    # A VAE fits the latent prior `sample` draws from when its fit ends: the paused fit decodes
    # N(0, I) draws, as a fit that an error ended after epoch 5 does.
    same = genaug.VAE(latent_dim=2, hidden=(64,), seed=0, device="cpu")
    with pytest.raises(RuntimeError, match="stop"):
        same.fit(x, y, epochs=epochs, callbacks=[fail_at(5)], progress=False)
    assert len(same.history) == 5
    np.testing.assert_array_equal(out, same.sample(7, y=1, seed=3))


def test_two_models_train_at_once_as_they_would_alone(blobs):
    x, y = blobs

    def make(seed):
        return genaug.GAN(latent_dim=4, hidden=(16,), seed=seed)

    alone = [make(s).fit(x, y, epochs=6, progress=False).history for s in (0, 1)]
    together = [make(0), make(1)]
    threads = [
        threading.Thread(target=lambda m=m: m.fit(x, y, epochs=6, progress=False)) for m in together
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for model, history in zip(together, alone, strict=True):
        assert [s["d_loss"] for s in model.history] == [s["d_loss"] for s in history]


def test_a_callback_may_sample_its_own_model_but_not_fit_or_save_it(blobs):
    x, y = blobs
    vae = genaug.VAE(latent_dim=2, hidden=(16,), seed=0, device="cpu")
    other = genaug.VAE(latent_dim=2, hidden=(16,), seed=0, device="cpu")
    other.fit(x, y, epochs=1, progress=False)
    seen = []

    def peek(stats):
        seen.append(other.sample(2, y=0).shape)  # another model is fine
        seen.append(vae.sample(3, y=0).shape)  # so is this one, as at this epoch
        if stats["epoch"] == 2:
            vae.to_bytes()

    with pytest.raises(genaug.ModelBusyError, match="being fitted on this thread"):
        vae.fit(x, y, epochs=5, callbacks=[peek], progress=False)
    assert seen == [(2, 5), (3, 5), (2, 5), (3, 5)]
    assert len(vae.history) == 2
    assert vae.sample(3, y=0).shape == (3, 5)
    with pytest.raises(genaug.ModelBusyError):
        vae.fit(x, y, epochs=2, callbacks=[lambda s: vae.fit(x, y, epochs=1)], progress=False)
