"""augment never changes the caller's rows: the result has NumPy's common dtype of the batch and
the training data, the batch comes back exactly (in any memory layout) and is never modified,
and a batch the common dtype cannot hold exactly is a DataError."""

import genaug
import numpy as np
import pytest

RNG = np.random.default_rng(0)
TRAINING = {
    "uint8": RNG.integers(0, 256, (60, 4)).astype(np.uint8),
    "float32": RNG.normal(size=(60, 4)).astype(np.float32),
    "float64": RNG.normal(size=(60, 4)),
    "int32": RNG.integers(-50, 50, (60, 4)).astype(np.int32),
    "uint64": RNG.integers(0, 1000, (60, 4)).astype(np.uint64),
}
LABELS = np.repeat([0, 1], 30)


def fit(training, labels=None):
    vae = genaug.VAE(latent_dim=2, hidden=(16,), device="cpu", seed=0)
    return vae.fit(TRAINING[training], labels, epochs=1, progress=False)


# (training dtype, batch): the batch holds values the training dtype could not.
CASES = {
    "uint8 model, float64 halves": ("uint8", np.array([[0.5, 1.5, 254.5, -0.5]] * 3)),
    "float32 model, int64 300s": ("float32", np.full((3, 4), 300, dtype=np.int64)),
    "uint8 model, int16 negatives": ("uint8", np.full((3, 4), -5, dtype=np.int16)),
    "float64 model, float32 batch": ("float64", np.full((3, 4), 0.1, dtype=np.float32)),
    "int32 model, uint8 batch": ("int32", np.full((3, 4), 200, dtype=np.uint8)),
    "int32 model, float16 batch": ("int32", np.full((3, 4), 0.25, dtype=np.float16)),
    "uint8 model, bool batch": ("uint8", np.eye(3, 4, dtype=bool)),
    "uint64 model, int64 negatives": ("uint64", np.full((3, 4), -7, dtype=np.int64)),
}


def check_result(out, batch, training, n):
    train = TRAINING[training]
    assert out.dtype == np.result_type(batch.dtype, train.dtype)
    assert out.shape == (len(batch) + n, 4)
    assert np.array_equal(out[: len(batch)], batch)
    new = out[len(batch) :]
    # Generated rows are the training data's values: in range, and whole for integer data.
    low, high = train.min(axis=0), train.max(axis=0)
    assert (new >= low - 1e-5 * (1 + abs(low))).all() and (
        new <= high + 1e-5 * (1 + abs(high))
    ).all()
    if np.issubdtype(train.dtype, np.integer):
        assert (new == np.round(new)).all()


@pytest.mark.parametrize("case", CASES)
def test_batch_values_are_kept_exactly(case):
    training, batch = CASES[case]
    original = batch.copy()
    out = fit(training).augment(batch, 5)
    check_result(out, batch, training, 5)
    np.testing.assert_array_equal(batch, original)


@pytest.mark.parametrize("case", CASES)
def test_batch_values_are_kept_exactly_with_labels(case):
    training, batch = CASES[case]
    labels = np.array([0, 1, 1], dtype=np.int8)
    x_aug, y_aug = fit(training, LABELS).augment(batch, labels=labels, strategy={0: 4})
    check_result(x_aug, batch, training, 3)
    assert y_aug.dtype == np.int8 and y_aug.tolist() == [0, 1, 1, 0, 0, 0]


def layouts():
    base = np.arange(48, dtype=np.float64).reshape(12, 4) / 4
    read_only = base.copy()
    read_only.setflags(write=False)
    return {
        "read-only": read_only,
        "fortran": np.asfortranarray(base),
        "every other row": base[::2],
        "every other column": np.arange(96, dtype=np.float64).reshape(12, 8)[:, ::2],
        "reversed rows": base[::-1],
        "reversed columns": base[:, ::-1],
        "reversed fortran": np.asfortranarray(base)[::-1, ::-1],
        "broadcast": np.broadcast_to(base[0], (5, 4)),
        "int16 strided": (base * 4).astype(np.int16)[::-3, ::-1],
    }


@pytest.mark.parametrize("layout", layouts())
def test_any_memory_layout(layout):
    batch = layouts()[layout]
    original = batch.copy()
    out = fit("float32").augment(batch, 2)
    check_result(out, batch, "float32", 2)
    np.testing.assert_array_equal(batch, original)
    x_aug, y_aug = fit("float32", LABELS).augment(batch, labels=[0] * len(batch), strategy={1: 1})
    check_result(x_aug, batch, "float32", 1)
    assert y_aug.tolist() == [0] * len(batch) + [1]


@pytest.mark.parametrize(
    "training, batch",
    [
        ("float64", np.full((2, 4), 2**60 + 1, dtype=np.int64)),
        ("float32", np.array([[1, 2, 3, 2**53 + 1]] * 2, dtype=np.int64)),
        ("float32", np.full((2, 4), 2**64 - 1, dtype=np.uint64)),
        ("uint64", np.full((2, 4), -(2**62) - 1, dtype=np.int64)),
    ],
    ids=["int64 into float64", "2**53+1", "uint64 max into float64", "int64 with uint64"],
)
def test_a_batch_the_result_cannot_hold_is_a_data_error(training, batch):
    model = fit(training)
    assert np.result_type(batch.dtype, TRAINING[training].dtype) == np.float64
    with pytest.raises(genaug.DataError):
        model.augment(batch, 2)
