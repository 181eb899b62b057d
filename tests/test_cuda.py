"""CUDA: every model operation on a GPU, run where libtorch sees one (skipped elsewhere).

`scripts/gpu-check.sh` runs these with the GPU benchmark on a machine with an NVIDIA GPU.
"""

import copy
import json
import multiprocessing
import pickle
import struct
from concurrent.futures import ProcessPoolExecutor

import genaug
import numpy as np
import pytest
import torch
from genaug.torch import AugmentCollate
from torch.utils.data import DataLoader, TensorDataset

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


def contents(blob: bytes) -> tuple[dict, dict]:
    """A checkpoint's metadata and tensors (dtype, shape, bytes), whatever the order of its
    header's keys."""
    (size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + size])
    metadata = header.pop("__metadata__")
    data = blob[8 + size :]
    tensors = {
        name: (t["dtype"], t["shape"], data[t["data_offsets"][0] : t["data_offsets"][1]])
        for name, t in header.items()
    }
    return metadata, tensors


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
    # Across devices a round trip keeps the checkpoint's metadata and every tensor to the bit.
    # Same device, same seed: the same rows; on the CPU, the same noise through other kernels,
    # so the same rows up to float32 rounding.
    assert contents(on_gpu.to_bytes()) == contents(on_cpu.to_bytes()) == contents(model.to_bytes())
    rows_gpu = model.sample(6, y=0, seed=2)
    np.testing.assert_array_equal(on_gpu.sample(6, y=0, seed=2), rows_gpu)
    np.testing.assert_allclose(on_cpu.sample(6, y=0, seed=2), rows_gpu, rtol=1e-4, atol=1e-5)
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


def blocking_calls(copies: int) -> list[str]:
    """The blocking CUDA calls made while a VAE resumed for one more epoch of the rows repeated
    `copies` times (about 4 steps of 32 rows per copy)."""
    x, y = rows("vae-mlp")
    x, y = np.tile(x, (copies, 1)), np.tile(y, copies)
    model = MODELS["vae-mlp"]().fit(x, y, epochs=1, batch_size=32, progress=False)
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        model.fit(x, y, epochs=2, batch_size=32, resume=True, progress=False)
    return [
        e.name
        for e in prof.events()
        if "Synchronize" in e.name or e.name in ("cudaMemcpy", "cudaStreamSynchronize")
    ]


def test_an_epoch_makes_no_host_device_synchronisation_per_step():
    # A fit waits on the device a few times (moving the rows there, each epoch's losses, the
    # latent prior), never per step: about 96 more steps add no blocking call.
    few, many = blocking_calls(8), blocking_calls(32)
    assert len(many) - len(few) < 8, (len(few), len(many), many)


def sample_in_child(model):
    auto = genaug.from_bytes(model.to_bytes(), "auto").device
    return model.device, model.sample(6, y=1, seed=2), auto


def test_forked_workers_cannot_use_the_gpu_and_say_so():
    x, y = rows("vae-mlp")
    model = MODELS["vae-mlp"]().fit(x, y, epochs=2, batch_size=32, progress=False)
    # A forked pool's worker unpickles the model on the CPU, the only device it can use.
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(1, mp_context=fork) as pool:
        device, rows_there, auto = pool.submit(sample_in_child, model).result()
    assert device == auto == "cpu"
    np.testing.assert_allclose(rows_there, model.sample(6, y=1, seed=2), rtol=1e-4, atol=1e-5)
    # A forked DataLoader worker inherits the GPU model itself: a DeviceError says what to do.
    with pytest.raises(genaug.DeviceError, match="spawn"):
        first_batch(model, x, y, "fork")
    xb, yb = first_batch(model, x, y, "spawn")
    assert len(xb) == len(yb) >= 16


def first_batch(model, x, y, context):
    """The first balanced batch of `x`, `y` from one DataLoader worker started by `context`."""
    loader = DataLoader(
        TensorDataset(torch.tensor(x), torch.tensor(y)),
        batch_size=16,
        num_workers=1,
        multiprocessing_context=context,
        collate_fn=AugmentCollate(model, strategy="balance"),
    )
    return next(iter(loader))
