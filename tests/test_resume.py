"""fit(resume=True) and checkpoints with optimiser state: a run that stops, is saved, loaded and
resumed has the history and weights of one that never stopped."""

import json
import struct

import genaug
import numpy as np
import pytest

# On the CPU: these reproduce runs exactly through save and load (test_cuda.py covers the GPU).
MODELS = {
    "vae": lambda: genaug.VAE(latent_dim=2, hidden=(16,), device="cpu", seed=3),
    "gan-bce": lambda: genaug.GAN(latent_dim=4, hidden=(16,), device="cpu", seed=3),
    # 56 training rows in batches of 16 make 4 batches an epoch, not a multiple of n_critic:
    # the generator's pace crosses epochs.
    "gan-wgan-gp": lambda: genaug.GAN(
        latent_dim=4, hidden=(16,), loss="wgan-gp", n_critic=3, device="cpu", seed=3
    ),
}


def losses(history):
    """The history without wall-clock seconds."""
    return [{k: v for k, v in stats.items() if k != "seconds"} for stats in history]


def stop_at(epoch):
    return lambda stats: stats["epoch"] < epoch


@pytest.mark.parametrize("kind", MODELS)
def test_save_load_resume_matches_an_unbroken_run(blobs, tmp_path, kind):
    x, y = blobs
    fit = {"batch_size": 16, "progress": False, "validation": 0.2}
    straight = MODELS[kind]().fit(x, y, epochs=8, **fit)

    model = MODELS[kind]().fit(x, y, epochs=8, callbacks=stop_at(3), **fit)
    assert len(model.history) == 3
    model.fit(x, y, epochs=5, resume=True, **fit)
    model.save(tmp_path / "m.safetensors")
    loaded = genaug.load(tmp_path / "m.safetensors")
    loaded.fit(x, y, epochs=8, resume=True, **fit)

    assert losses(loaded.history) == losses(straight.history)
    assert np.array_equal(loaded.sample(10, y=2, seed=1), straight.sample(10, y=2, seed=1))


def test_resume_continues_early_stopping(blobs):
    x, y = blobs

    def vae():
        return genaug.VAE(latent_dim=2, hidden=(64, 64), device="cpu", seed=0)

    fit = {"batch_size": 16, "lr": 1e-2, "validation": 0.3, "patience": 3, "progress": False}
    straight = vae().fit(x, y, epochs=300, **fit)
    stopped_at = len(straight.history)
    assert stopped_at < 300

    halted = vae().fit(x, y, epochs=300, callbacks=stop_at(stopped_at - 2), **fit)
    resumed = genaug.from_bytes(halted.to_bytes()).fit(x, y, epochs=300, resume=True, **fit)
    assert losses(resumed.history) == losses(straight.history)
    assert np.array_equal(resumed.sample(8, y=0, seed=2), straight.sample(8, y=0, seed=2))


def test_resume_keeps_the_runs_validation_and_patience(blobs):
    x, y = blobs
    fit = {"batch_size": 16, "progress": False}
    vae = MODELS["vae"]().fit(x, y, epochs=2, validation=0.2, patience=50, **fit)
    vae.fit(x, y, epochs=4, resume=True, **fit)
    assert all("val_loss" in stats for stats in vae.history)
    straight = MODELS["vae"]().fit(x, y, epochs=4, validation=0.2, **fit)
    assert losses(vae.history) == losses(straight.history)

    own = MODELS["vae"]().fit(x, y, epochs=2, validation=(x[:9], y[:9]), **fit)
    with pytest.raises(genaug.ParameterError, match="pass validation="):
        own.fit(x, y, epochs=4, resume=True, **fit)
    own.fit(x, y, epochs=4, resume=True, validation=(x[:9], y[:9]), **fit)
    assert len(own.history) == 4


def test_checkpoint_without_optimiser_samples_but_cannot_resume(blobs, tmp_path):
    x, y = blobs
    vae = MODELS["vae"]().fit(x, y, epochs=3, progress=False)
    full, slim = tmp_path / "full.safetensors", tmp_path / "slim.safetensors"
    vae.save(full)
    vae.save(slim, include_optimizer=False)
    assert slim.stat().st_size < 0.6 * full.stat().st_size
    loaded = genaug.load(slim)
    assert np.array_equal(loaded.sample(5, y=1, seed=0), vae.sample(5, y=1, seed=0))
    with pytest.raises(genaug.NotFittedError, match="include_optimizer=False"):
        loaded.fit(x, y, epochs=5, resume=True, progress=False)
    # A fresh fit still works.
    assert len(loaded.fit(x, y, epochs=2, progress=False).history) == 2


def test_resume_checks_its_inputs(blobs):
    x, y = blobs
    with pytest.raises(genaug.NotFittedError, match="not fitted"):
        MODELS["vae"]().fit(x, y, epochs=2, resume=True, progress=False)
    vae = MODELS["vae"]().fit(x, y, epochs=2, progress=False)
    with pytest.raises(genaug.ShapeError):
        vae.fit(x[:, :3], y, epochs=4, resume=True, progress=False)
    with pytest.raises(genaug.LabelError, match="fitted with labels"):
        vae.fit(x, epochs=4, resume=True, progress=False)
    with pytest.raises(genaug.LabelError, match="unknown class 9"):
        vae.fit(x[:2], [0, 9], epochs=4, resume=True, progress=False)
    with pytest.raises(genaug.ParameterError, match="lr"):
        vae.fit(x, y, epochs=4, resume=True, lr=-1.0, progress=False)
    assert len(vae.history) == 2
    # Resuming to an epoch count already reached trains nothing.
    before = vae.sample(4, y=0, seed=0)
    vae.fit(x, y, epochs=2, resume=True, progress=False)
    assert len(vae.history) == 2
    assert np.array_equal(vae.sample(4, y=0, seed=0), before)


def test_corrupt_optimiser_state_is_a_checkpoint_error(blobs):
    x, y = blobs
    data = MODELS["vae"]().fit(x, y, epochs=2, progress=False).to_bytes()
    # Rename one optimiser tensor so that the "run" metadata promises a tensor that is missing.
    size = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + size])
    name = next(k for k in header if k.startswith("optim."))
    header["x" + name] = header.pop(name)
    text = json.dumps(header).encode()
    with pytest.raises(genaug.CheckpointError, match="optimiser state lacks"):
        genaug.from_bytes(struct.pack("<Q", len(text)) + text + data[8 + size :])


def test_progress_bar_shows_losses_and_resumes_its_count(blobs, capsys):
    x, y = blobs
    vae = MODELS["vae"]().fit(x, y, epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "VAE" in err and "3/3" in err and "loss=" in err and "kl=" in err
    vae.fit(x, y, epochs=5, resume=True, progress=True)
    err = capsys.readouterr().err
    assert "3/5" in err and "5/5" in err
    vae.fit(x, y, epochs=6, resume=True, progress=False)
    assert capsys.readouterr().err == ""
