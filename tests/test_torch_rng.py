"""genaug leaves torch's global random generator alone: no call changes its state, a fit on
another thread does not disturb the main thread's draws, and each model is reproducible from its
own seed whatever torch's state."""

import copy
import pickle
import threading
import time

import genaug
import numpy as np
import pytest
import torch

SMALL = dict(latent_dim=2, hidden=(16,), device="cpu", seed=0)

CALLS = [
    "construct_vae",
    "construct_gan",
    "fit_vae",
    "fit_cvae_validation",
    "fit_gan",
    "fit_wgan",
    "fit_conv_vae",
    "fit_resume",
    "sample",
    "sample_seeded",
    "sample_gan",
    "augment",
    "augment_seeded",
    "score",
    "encode",
    "decode",
    "reconstruct",
    "to_bytes",
    "save",
    "load",
    "load_and_sample",
    "from_bytes",
    "pickle",
    "deepcopy",
]


@pytest.fixture
def genaug_calls(blobs, tmp_path):
    x, y = blobs
    vae = genaug.VAE(**SMALL).fit(x, epochs=2, progress=False)
    cvae = genaug.VAE(**SMALL).fit(x, y, epochs=2, progress=False)
    gan = genaug.GAN(**SMALL).fit(x, y, epochs=2, progress=False)
    images = np.random.default_rng(0).integers(0, 256, (16, 1, 16, 16), dtype=np.uint8)
    path = tmp_path / "cvae.safetensors"
    cvae.save(path)
    blob = gan.to_bytes()
    calls = {
        "construct_vae": lambda: genaug.VAE(**SMALL),
        "construct_gan": lambda: genaug.GAN(**SMALL, loss="wgan-gp"),
        "fit_vae": lambda: genaug.VAE(**SMALL).fit(x, epochs=2, progress=False),
        "fit_cvae_validation": lambda: genaug.VAE(**SMALL).fit(
            x, y, epochs=2, validation=0.2, progress=False
        ),
        "fit_gan": lambda: genaug.GAN(**SMALL).fit(x, y, epochs=2, progress=False),
        "fit_wgan": lambda: genaug.GAN(**SMALL, loss="wgan-gp").fit(x, epochs=1, progress=False),
        "fit_conv_vae": lambda: genaug.VAE(latent_dim=2, device="cpu", seed=0).fit(
            images, epochs=1, batch_size=8, progress=False
        ),
        "fit_resume": lambda: vae.fit(x, epochs=3, resume=True, progress=False),
        "sample": lambda: vae.sample(5),
        "sample_seeded": lambda: cvae.sample(5, y=1, seed=3),
        "sample_gan": lambda: gan.sample(5, y=[0, 1, 2, 2, 1]),
        "augment": lambda: cvae.augment(x, labels=y, strategy="balance"),
        "augment_seeded": lambda: vae.augment(x[:5], 3, seed=2),
        "score": lambda: vae.score(x),
        "encode": lambda: cvae.encode(x, y),
        "decode": lambda: vae.decode(np.zeros((3, 2), dtype=np.float32)),
        "reconstruct": lambda: cvae.reconstruct(x, y),
        "to_bytes": lambda: cvae.to_bytes(),
        "save": lambda: gan.save(tmp_path / "gan.safetensors"),
        "load": lambda: genaug.load(path),
        "load_and_sample": lambda: genaug.load(path).sample(3, y=0),
        "from_bytes": lambda: genaug.from_bytes(blob),
        "pickle": lambda: pickle.loads(pickle.dumps(gan)).sample(2, y=1),
        "deepcopy": lambda: copy.deepcopy(cvae),
    }
    assert sorted(calls) == sorted(CALLS)
    return calls


@pytest.mark.parametrize("name", CALLS)
def test_call_leaves_torch_rng_state_alone(genaug_calls, name):
    torch.manual_seed(1234)
    torch.rand(3)
    state = torch.get_rng_state()
    genaug_calls[name]()
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.initial_seed() == 1234


def test_draws_are_the_same_with_genaug_calls_in_between(genaug_calls):
    torch.manual_seed(3)
    first, expected = torch.rand(2), torch.rand(5)
    torch.manual_seed(3)
    assert torch.equal(torch.rand(2), first)
    for call in genaug_calls.values():
        call()
    assert torch.equal(torch.rand(5), expected)


def main_thread_draws():
    torch.manual_seed(1)
    draws = []
    for _ in range(50):
        draws.append(torch.rand(3))
        draws.append(torch.randn(100))
        time.sleep(0.005)  # lets the fitting thread run epochs between draws
    return draws


def losses(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def test_a_fit_on_another_thread_does_not_disturb_the_main_threads_draws(blobs):
    x, y = blobs
    expected = main_thread_draws()
    vae = genaug.VAE(latent_dim=2, hidden=(64,), device="cpu", seed=0)
    started, stop = threading.Event(), threading.Event()
    errors = []

    def slowly(stats):
        started.set()
        time.sleep(0.01)
        return not stop.is_set()

    def train():
        try:
            vae.fit(x, y, epochs=400, callbacks=slowly, progress=False)
        except BaseException as e:  # reported below
            errors.append(e)

    trainer = threading.Thread(target=train, daemon=True)
    trainer.start()
    try:
        assert started.wait(30)
        got = main_thread_draws()
        overlapped = trainer.is_alive()
    finally:
        stop.set()
        trainer.join(60)
    assert not trainer.is_alive() and not errors
    assert overlapped, "the fit ended before the draws did; the test proved nothing"
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
    # ...and the main thread's draws did not disturb the fit either.
    alone = genaug.VAE(latent_dim=2, hidden=(64,), device="cpu", seed=0)
    alone.fit(x, y, epochs=len(vae.history), progress=False)
    assert losses(vae.history) == losses(alone.history)


@pytest.mark.parametrize("kind", ["vae", "gan"])
def test_models_reproduce_from_their_own_seed_whatever_torchs_state(blobs, kind):
    x, y = blobs
    cls = genaug.VAE if kind == "vae" else genaug.GAN
    runs = []
    for torch_seed in (0, 99):
        torch.manual_seed(torch_seed)
        torch.rand(17)
        model = cls(latent_dim=2, hidden=(16,), device="cpu", seed=4)
        model.fit(x, y, epochs=3, progress=False)
        runs.append((losses(model.history), model.sample(5, y=1, seed=1), model.sample(5, y=2)))
    (h0, seeded0, stream0), (h1, seeded1, stream1) = runs
    assert h0 == h1
    np.testing.assert_array_equal(seeded0, seeded1)
    np.testing.assert_array_equal(stream0, stream1)
