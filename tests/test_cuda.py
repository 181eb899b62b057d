"""CUDA: every model operation on a GPU, run where libtorch sees one (skipped elsewhere).

`scripts/gpu-check.sh` runs these with the GPU benchmark on a machine with an NVIDIA GPU.
"""

import copy
import pickle

import genaug
import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(not genaug.cuda_is_available(), reason="no CUDA device")

MODELS = {
    "vae-mlp": lambda: genaug.VAE(latent_dim=4, hidden=(32,), device="cuda", seed=0),
    "gan-bce-mlp": lambda: genaug.GAN(latent_dim=4, hidden=(32,), device="cuda", seed=0),
    "gan-wgan-mlp": lambda: genaug.GAN(
        latent_dim=4, hidden=(32,), loss="wgan-gp", device="cuda", seed=0
    ),
    "vae-conv": lambda: genaug.VAE(latent_dim=4, arch="conv", device="cuda", seed=0),
    "gan-bce-conv": lambda: genaug.GAN(latent_dim=4, arch="conv", device="cuda", seed=0),
    "gan-wgan-conv": lambda: genaug.GAN(
        latent_dim=4, arch="conv", loss="wgan-gp", device="cuda", seed=0
    ),
}


def rows(name):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 64)
    if name.endswith("conv"):
        x = rng.random((128, 1, 16, 16)).astype(np.float32) * 0.2
        x[y == 1, :, 4:12, 4:12] += 0.7
    else:
        x = rng.random((128, 6)).astype(np.float32) * 0.2
        x[y == 1, :3] += 0.7
    return x, y


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_sample_augment_score_on_cuda(name):
    x, y = rows(name)
    model = MODELS[name]().fit(x, y, epochs=3, batch_size=32, progress=False)
    assert model.device == "cuda:0"
    out = model.sample(10, y=1, seed=1)
    assert out.shape == (10, *x.shape[1:]) and np.isfinite(out).all()
    np.testing.assert_array_equal(out, model.sample(10, y=1, seed=1))
    batch, labels = model.augment(x[:8], labels=y[:8], strategy="balance")
    assert len(batch) == len(labels) >= 8
    if isinstance(model, genaug.VAE):
        assert np.isfinite(model.score_samples(x[:8], y[:8])).all()


@pytest.mark.parametrize("name", ["vae-mlp", "gan-wgan-mlp"])
def test_save_load_pickle_and_move_between_devices(name, tmp_path):
    x, y = rows(name)
    model = MODELS[name]().fit(x, y, epochs=2, batch_size=32, progress=False)
    path = tmp_path / "m.safetensors"
    model.save(path)
    on_gpu = genaug.load(path, device="cuda")
    on_cpu = genaug.load(path)
    assert (on_gpu.device, on_cpu.device) == ("cuda:0", "cpu")
    # Across devices the checkpoint is the same to the byte after a round trip; samples differ
    # only through the devices' random generators. Same device, same seed: the same rows.
    assert on_gpu.to_bytes() == on_cpu.to_bytes() == model.to_bytes()
    np.testing.assert_array_equal(on_gpu.sample(6, y=0, seed=2), model.sample(6, y=0, seed=2))
    assert pickle.loads(pickle.dumps(model)).device == "cuda:0"
    assert copy.deepcopy(model).device == "cuda:0"
    back = on_cpu.to("cuda").fit(x, y, epochs=4, batch_size=32, resume=True, progress=False)
    assert back.device == "cuda:0" and len(back.history) == 4


def test_interrupting_a_fit_on_cuda_keeps_the_completed_epochs():
    x, y = rows("vae-mlp")
    model = MODELS["vae-mlp"]()

    def stop(stats):
        if stats["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=10, batch_size=32, callbacks=stop, progress=False)
    assert len(model.history) == 2 and model.device == "cuda:0"


def test_an_epoch_makes_no_host_device_synchronisation_per_step():
    x, y = rows("vae-mlp")
    x = np.tile(x, (8, 1))
    y = np.tile(y, 8)
    model = MODELS["vae-mlp"]().fit(x, y, epochs=1, batch_size=32, progress=False)
    torch.cuda.synchronize()
    # Every blocking CUDA call made while one more epoch (32 steps) trains.
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        model.fit(x, y, epochs=2, batch_size=32, resume=True, progress=False)
    syncs = [
        e
        for e in prof.events()
        if "Synchronize" in e.name or e.name in ("cudaMemcpy", "cudaStreamSynchronize")
    ]
    assert len(syncs) < 32 / 4, [e.name for e in syncs]
