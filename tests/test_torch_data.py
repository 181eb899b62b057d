"""genaug.torch with PyTorch data pipelines: ``AugmentedDataset`` and dict batches in
``AugmentCollate``, in the main process and in forked and spawned ``DataLoader`` workers."""

from collections import Counter

import genaug
import numpy as np
import pytest
import torch
from genaug.torch import AugmentCollate, AugmentedDataset
from torch.utils.data import DataLoader, TensorDataset

# (workers, start method): the main process, forked workers, spawned workers (which unpickle
# the dataset or collate function, model included). Models are on the CPU: forked workers
# cannot use a GPU the parent started (test_cuda.py checks what genaug says then).
WORKERS = [(0, None), (2, "fork"), (2, "spawn")]


@pytest.fixture
def cvae(blobs):
    x, y = blobs
    return genaug.VAE(latent_dim=2, hidden=(16,), device="cpu", seed=0).fit(
        x, y, epochs=3, progress=False
    )


@pytest.fixture
def vae(blobs):
    x, _ = blobs
    return genaug.VAE(latent_dim=2, hidden=(16,), device="cpu", seed=0).fit(
        x, epochs=3, progress=False
    )


@pytest.fixture
def pairs(blobs):
    """The blobs as a float32 ``TensorDataset`` of ``(x, y)``; the models trained on float64."""
    x, y = blobs
    return TensorDataset(torch.tensor(x, dtype=torch.float32), torch.tensor(y))


@pytest.fixture
def records(blobs):
    """The blobs as dicts with a per-item ``id`` and a python-int ``y``."""
    x, y = blobs
    return [{"id": i, "x": torch.tensor(x[i]), "y": int(y[i])} for i in range(len(y))]


def loader(dataset, workers=0, context=None, collate_fn=None, seed=0):
    return DataLoader(
        dataset,
        batch_size=16,
        shuffle=True,
        num_workers=workers,
        multiprocessing_context=context,
        collate_fn=collate_fn,
        generator=torch.Generator().manual_seed(seed),
    )


def generated_rows(dataset, workers=0, context=None, seed=0):
    """The x rows of the generated records one epoch yields (id -1), in a fixed order."""
    rows = [
        tuple(x.tolist())
        for batch in loader(dataset, workers, context, seed=seed)
        for x, i in zip(batch["x"], batch["id"], strict=True)
        if i == -1
    ]
    return sorted(rows)


@pytest.mark.parametrize(("workers", "context"), WORKERS[:2])
def test_balance_tops_every_class_up(pairs, cvae, workers, context):
    dataset = AugmentedDataset(pairs, cvae, balance=True)
    assert len(dataset) == 120 and dataset.n_generated == 50
    labels = Counter()
    rows = 0
    for x, y in loader(dataset, workers, context):
        assert x.dtype == torch.float32 and x.shape[1:] == (5,) and y.dtype == torch.int64
        labels.update(y.tolist())
        rows += len(x)
    assert rows == 120 and labels == {0: 40, 1: 40, 2: 40}
    # The base items come first, as the base dataset gives them.
    for i in (0, 39, 69):
        assert all(torch.equal(a, b) for a, b in zip(dataset[i], pairs[i], strict=True))
    x, y = dataset[70]
    assert x.shape == (5,) and x.dtype == torch.float32
    assert y.shape == () and y.dtype == torch.int64 and y.item() == 1


def test_n_is_shared_among_classes_in_proportion(pairs, cvae):
    dataset = AugmentedDataset(pairs, cvae, 7)
    assert len(dataset) == 77
    # 7 * (40, 20, 10) / 70 = (4, 2, 1)
    assert Counter(int(dataset[i][1]) for i in range(70, 77)) == {0: 4, 1: 2, 2: 1}


@pytest.mark.parametrize(("workers", "context"), WORKERS)
def test_records_through_workers(records, cvae, workers, context):
    dataset = AugmentedDataset(records, cvae, 30, fill={"id": -1}, mode="fresh", seed=3)
    dataset.set_epoch(1)
    ids = Counter()
    labels = Counter()
    for batch in loader(dataset, workers, context):
        assert list(batch) == ["id", "x", "y"]
        for i, x in zip(batch["id"].tolist(), batch["x"], strict=True):
            if i >= 0:
                assert torch.equal(x, records[i]["x"])
        ids.update(batch["id"].tolist())
        labels.update(batch["y"].tolist())
    assert ids == {**{i: 1 for i in range(70)}, -1: 30}
    # 30 * (40, 20, 10) / 70 = (17.1, 8.6, 4.3): (17, 9, 4) by largest remainders
    assert labels == {0: 57, 1: 29, 2: 14}
    # Workers draw the rows of the epoch set in the main process, as the main process does.
    here = sorted(tuple(dataset[i]["x"].tolist()) for i in range(70, 100))
    if workers:
        assert generated_rows(dataset, workers, context, seed=1) == here
    item = dataset[70]
    assert type(item["y"]) is int and item["x"].dtype == torch.float64 and item["id"] == -1


def test_pool_repeats_and_fresh_renews_each_epoch(records, cvae):
    pool = AugmentedDataset(records, cvae, 20, fill={"id": -1}, seed=5)
    first = generated_rows(pool, seed=0)
    assert len(first) == 20
    pool.set_epoch(1)
    assert generated_rows(pool, seed=1) == first

    fresh = AugmentedDataset(records, cvae, 20, fill={"id": -1}, mode="fresh", seed=5)
    epoch0 = generated_rows(fresh, seed=0)
    fresh.set_epoch(1)
    epoch1 = generated_rows(fresh, seed=1)
    assert len(epoch1) == 20 and not set(epoch0) & set(epoch1)
    # Another run: the same rows for the same epoch, whatever order they are read in.
    rerun = AugmentedDataset(records, cvae, 20, fill={"id": -1}, mode="fresh", seed=5)
    rerun.set_epoch(1)
    assert generated_rows(rerun, seed=2) == epoch1
    rerun.set_epoch(0)
    assert generated_rows(rerun, seed=3) == epoch0
    other = AugmentedDataset(records, cvae, 20, fill={"id": -1}, mode="fresh", seed=6)
    assert not set(generated_rows(other)) & set(epoch0)


def test_fresh_items_do_not_depend_on_reading_order(vae, blobs):
    x, _ = blobs
    base = TensorDataset(torch.tensor(x))
    # 600 rows: three blocks of sampling, the last one short.
    one = AugmentedDataset(base, vae, 600, mode="fresh")
    two = AugmentedDataset(base, vae, 600, mode="fresh")
    forward = [one[i][0] for i in range(70, 670)]
    backward = [two[i][0] for i in reversed(range(70, 670))][::-1]
    assert all(torch.equal(a, b) for a, b in zip(forward, backward, strict=True))
    assert len({tuple(row.tolist()) for row in forward}) == 600
    assert isinstance(one[669], tuple) and one[669][0].dtype == torch.float64
    with pytest.raises(IndexError):
        one[670]


def test_numpy_items_keep_their_types_and_shapes():
    # uint8 4x4 images with int labels; the model saw them flattened.
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(30, 1, 4, 4), dtype=np.uint8)
    labels = np.repeat([3, 7], [20, 10])
    gan = genaug.GAN(latent_dim=2, hidden=(8,), device="cpu", seed=0)
    gan.fit(images.reshape(30, 16), labels, epochs=2, progress=False)
    base = [(images[i], np.int64(labels[i])) for i in range(30)]
    dataset = AugmentedDataset(base, gan, balance=True, mode="fresh")
    assert len(dataset) == 40
    for i in range(30, 40):
        x, y = dataset[i]
        assert isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.shape == (1, 4, 4)
        assert type(y) is np.int64 and y == 7
    counts = Counter()
    for x, y in loader(dataset):
        assert x.dtype == torch.uint8 and x.shape[1:] == (1, 4, 4)
        counts.update(y.tolist())
    assert counts == {3: 20, 7: 20}


@pytest.mark.parametrize(("workers", "context"), WORKERS)
def test_collate_extends_dict_batches(records, cvae, workers, context):
    collate = AugmentCollate(cvae, fill={"id": -1})
    rows = 0
    for batch in loader(records, workers, context, collate_fn=collate):
        assert list(batch) == ["id", "x", "y"]
        x, y, ids = batch["x"], batch["y"], batch["id"]
        assert x.dtype == torch.float64 and y.dtype == torch.int64 and len(x) == len(y) == len(ids)
        real = int((ids >= 0).sum())
        assert (ids[real:] == -1).all()
        for row, i, label in zip(x[:real], ids[:real].tolist(), y[:real].tolist(), strict=True):
            assert torch.equal(row, records[i]["x"]) and label == records[i]["y"]
        # strategy "balance": every class of the batch ends up with the same count.
        counts = Counter(y.tolist())
        assert len(set(counts.values())) == 1
        rows += real
    assert rows == 70


def test_collate_dicts_for_an_unconditional_model(vae, records):
    named = [{"x": r["x"], "y": r["y"], "name": f"row{r['id']}"} for r in records[:6]]
    batch = AugmentCollate(vae, 3, fill={"y": -1, "name": "synthetic"})(named)
    assert batch["x"].shape == (9, 5) and batch["x"].dtype == torch.float64
    assert batch["y"].tolist() == [r["y"] for r in named] + [-1] * 3
    assert batch["name"] == [f"row{i}" for i in range(6)] + ["synthetic"] * 3
    only_x = AugmentCollate(vae, 2, x_key="image")([{"image": r["x"]} for r in records[:4]])
    assert list(only_x) == ["image"] and only_x["image"].shape == (6, 5)


def test_errors(pairs, records, cvae, vae):
    with pytest.raises(genaug.NotFittedError, match="not fitted"):
        AugmentedDataset(pairs, genaug.VAE())
    with pytest.raises(genaug.NotFittedError, match="not fitted"):
        AugmentCollate(genaug.GAN(), 2)
    with pytest.raises(genaug.ParameterError, match="genaug GAN or VAE"):
        AugmentCollate(object(), 2)
    with pytest.raises(genaug.ParameterError, match=r"keys \['id'\]"):
        AugmentCollate(cvae)(records[:4])
    with pytest.raises(genaug.ParameterError, match=r"keys \['id'\]"):
        AugmentedDataset(records, cvae, 5)
    with pytest.raises(genaug.ParameterError, match=r"'pixels'.*keys are \['id', 'x', 'y'\]"):
        AugmentCollate(cvae, x_key="pixels", fill={"id": -1})(records[:4])
    with pytest.raises(genaug.ParameterError, match=r"'label'.*keys are \['id', 'x', 'y'\]"):
        AugmentedDataset(records, cvae, 5, y_key="label", fill={"id": -1})
    # An unconditional model cannot label its rows.
    with pytest.raises(genaug.ParameterError, match=r"keys \['y'\]"):
        AugmentCollate(vae, 2)([{"x": r["x"], "y": r["y"]} for r in records[:4]])
    with pytest.raises(genaug.ParameterError, match="unconditional"):
        AugmentedDataset(pairs, vae, 5)
    with pytest.raises(genaug.ParameterError, match="fitted with labels"):
        AugmentedDataset(TensorDataset(pairs.tensors[0]), vae, balance=True)
    with pytest.raises(genaug.ParameterError, match="either n or balance"):
        AugmentedDataset(pairs, cvae, 5, balance=True)
    with pytest.raises(genaug.ParameterError, match="either n or balance"):
        AugmentedDataset(pairs, cvae)
    with pytest.raises(genaug.ParameterError, match="mode"):
        AugmentedDataset(pairs, cvae, 5, mode="epoch")
    with pytest.raises(genaug.LabelError, match=r"\[9\]"):
        AugmentedDataset([(pairs[0][0], 9), pairs[1]], cvae, 5)
    with pytest.raises(genaug.ShapeError, match="shape"):
        AugmentedDataset([(torch.zeros(4), 0)], cvae, 5)
