"""One model used from several Python threads: concurrent sampling, fit against sample, and a
callback that touches its own model."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import genaug
import numpy as np
import pytest


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


def test_sample_waits_for_a_fit_on_another_thread(blobs):
    x, y = blobs
    vae = genaug.VAE(latent_dim=2, hidden=(64,), seed=0)
    started = threading.Event()
    epochs = 40

    def announce(stats):
        started.set()
        time.sleep(0.02)  # long enough that an unserialised sample would land mid-fit

    trainer = threading.Thread(
        target=lambda: vae.fit(x, y, epochs=epochs, callbacks=[announce], progress=False)
    )
    trainer.start()
    assert started.wait(30)
    out = vae.sample(7, y=1)
    # The sample ran after the whole fit, never on a half-trained network.
    assert len(vae.history) == epochs
    assert out.shape == (7, 5)
    trainer.join()


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


def test_a_callback_using_its_own_model_gets_a_clear_error(blobs):
    x, y = blobs
    vae = genaug.VAE(latent_dim=2, hidden=(16,), seed=0)
    other = genaug.VAE(latent_dim=2, hidden=(16,), seed=0).fit(x, y, epochs=1, progress=False)
    seen = []

    def peek(stats):
        seen.append(other.sample(2, y=0).shape)  # another model is fine
        if stats["epoch"] == 2:
            vae.sample(3, y=0)

    with pytest.raises(genaug.ModelBusyError, match="being fitted on this thread"):
        vae.fit(x, y, epochs=5, callbacks=[peek], progress=False)
    assert seen == [(2, 5), (2, 5)]
    assert len(vae.history) == 2
    assert vae.sample(3, y=0).shape == (3, 5)
