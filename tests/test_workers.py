"""Models handed to other processes: DataLoader workers and process pools, fitted or not."""

import copy
import pickle
from concurrent.futures import ProcessPoolExecutor

import genaug
import numpy as np
import pytest
import torch
from genaug.torch import AugmentCollate
from torch.utils.data import DataLoader, TensorDataset


@pytest.fixture
def cvae(blobs):
    # On the CPU, like every model here: pools fork, and a forked child cannot use a GPU the
    # parent started (test_cuda.py checks that case).
    x, y = blobs
    return genaug.VAE(latent_dim=2, hidden=(16,), device="cpu", seed=0).fit(
        x, y, epochs=5, progress=False
    )


def fit_and_sample(model, x, y):
    # Runs in a worker process on an unpickled copy.
    model.fit(x, y, epochs=3, progress=False)
    return model.sample(6, y=1, seed=5), model.to_bytes()


def sample_in_worker(model, seed):
    return model.sample(4, y=2, seed=seed)


def test_process_pool_gets_fitted_and_unfitted_models(blobs, cvae):
    x, y = blobs
    unfitted = genaug.GAN(latent_dim=4, hidden=(16,), device="cpu", seed=1)
    with ProcessPoolExecutor(2) as pool:
        remote = pool.submit(fit_and_sample, unfitted, x, y)
        samples = list(pool.map(sample_in_worker, [cvae, cvae], [0, 1]))
        sampled, fitted_bytes = remote.result()
    local = genaug.GAN(latent_dim=4, hidden=(16,), device="cpu", seed=1).fit(
        x, y, epochs=3, progress=False
    )
    assert np.array_equal(sampled, local.sample(6, y=1, seed=5))
    assert np.array_equal(
        genaug.from_bytes(fitted_bytes).sample(3, y=0, seed=2), local.sample(3, y=0, seed=2)
    )
    assert np.array_equal(samples[0], cvae.sample(4, y=2, seed=0))
    assert not np.array_equal(samples[0], samples[1])
    assert not unfitted.is_fitted


def spawn_loader(dataset, collate, batch_size):
    # "spawn" makes the workers unpickle the collate function (and so the model).
    return DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=2,
        collate_fn=collate,
        multiprocessing_context="spawn",
        generator=torch.Generator().manual_seed(0),
    )


def test_dataloader_workers_balance_each_batch(blobs, cvae):
    x, y = blobs
    dataset = TensorDataset(torch.tensor(x, dtype=torch.float32), torch.tensor(y))
    batches = list(spawn_loader(dataset, AugmentCollate(cvae, strategy="balance"), 35))
    assert len(batches) == 2
    for (xb, yb), first in zip(batches, (0, 35), strict=True):
        assert xb.dtype == torch.float32 and yb.dtype == torch.int64
        assert torch.equal(yb[:35], torch.tensor(y[first : first + 35]))
        counts = np.bincount(yb.numpy(), minlength=3)
        present = counts[counts > 0]
        assert (present == present.max()).all()


def test_dataloader_workers_draw_different_rows(blobs):
    x, _ = blobs
    vae = genaug.VAE(latent_dim=2, hidden=(16,), device="cpu", seed=0).fit(
        x, epochs=3, progress=False
    )
    dataset = TensorDataset(torch.tensor(x))
    batches = [b for (b,) in spawn_loader(dataset, AugmentCollate(vae, 10), 35)]
    assert [tuple(b.shape) for b in batches] == [(45, 5), (45, 5)]
    assert torch.equal(batches[0][:35], torch.tensor(x[:35]))
    # An unconditional model's rows do not depend on the batch: only the seeds tell them apart,
    # and each worker draws its own.
    assert not torch.equal(batches[0][35:], batches[1][35:])


def test_collate_in_the_main_process(blobs):
    x, _ = blobs
    vae = genaug.VAE(latent_dim=2, hidden=(16,), device="cpu", seed=0).fit(
        x, epochs=2, progress=False
    )
    collate = AugmentCollate(vae, 4, collate_fn=lambda items: torch.stack(items))
    loader = DataLoader(torch.tensor(x), batch_size=10, collate_fn=collate)
    torch.manual_seed(0)
    first = next(iter(loader))
    torch.manual_seed(0)
    again = next(iter(loader))
    assert first.shape == (14, 5) and first.dtype == torch.float64
    assert torch.equal(first, again)
    assert torch.equal(first[:10], torch.tensor(x[:10]))
    with pytest.raises(genaug.ParameterError, match="needs n"):
        AugmentCollate(vae)([torch.tensor(x[0])])
    with pytest.raises(genaug.NotFittedError, match="not fitted"):
        AugmentCollate(genaug.VAE())


def test_pickled_models_carry_their_training_state(blobs, cvae):
    x, y = blobs
    for clone in (pickle.loads(pickle.dumps(cvae)), copy.deepcopy(cvae)):
        clone.fit(x, y, epochs=7, resume=True, progress=False)
        assert len(clone.history) == 7
    assert len(cvae.history) == 5
    unfitted = pickle.loads(pickle.dumps(genaug.VAE(latent_dim=3, seed=4)))
    assert not unfitted.is_fitted and unfitted.latent_dim == 3
