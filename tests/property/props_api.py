"""Property-based tests of genaug's public API with hypothesis. test_properties.py runs each in a
child pytest (this file is not collected by the main run), so that a crash fails one test
instead of killing the suite.

Every generated call either works, with outputs of the right shape and dtype, or raises a
documented genaug exception (a GenaugError); calls whose inputs are all valid must work, and
an invalid `n` raises the exception the docs name for it. Models are fitted once per process;
the examples vary only the calls' inputs (and a separate property fits tiny models)."""

from __future__ import annotations

import struct

import genaug
import numpy as np
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

torch.set_num_threads(1)

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# --- models, fitted once --------------------------------------------------------------------

RNG = np.random.default_rng(0)
CENTRES = np.array([[0.0] * 5, [5.0] * 5, [-5.0, 5.0, -5.0, 5.0, -5.0]])
Y = np.repeat([0, 1, 2], [40, 20, 10])
X = CENTRES[Y] + RNG.normal(scale=0.5, size=(len(Y), 5))
X[:, 3] = 1.5  # a constant column
SEQ = RNG.integers(0, 256, (24, 3, 4)).astype(np.uint8)
SMALL = dict(latent_dim=2, hidden=(8,), device="cpu", seed=0)

MODELS = {
    "vae": (genaug.VAE(**SMALL).fit(X, epochs=1, progress=False), X),
    "cvae": (genaug.VAE(**SMALL).fit(X, Y, epochs=1, progress=False), X),
    "cgan": (genaug.GAN(**SMALL).fit(X, Y, epochs=1, progress=False), X),
    "gan": (genaug.GAN(**SMALL).fit(X, epochs=1, progress=False), X),
    "seq": (genaug.VAE(**SMALL).fit(SEQ, epochs=1, progress=False), SEQ),
}
VAES = ["vae", "cvae", "seq"]
CONDITIONAL = ["cvae", "cgan"]


def attempt(call):
    """(result, None) when `call` works, (None, error) for a GenaugError; any other exception
    (a PanicException included) fails the example."""
    try:
        return call(), None
    except genaug.GenaugError as e:
        return None, e
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:
        raise AssertionError(f"not a GenaugError: {type(e).__name__}: {e}") from e


def must_work(valid, error):
    assert not (valid and error is not None), f"valid input raised {type(error).__name__}: {error}"


# --- inputs ---------------------------------------------------------------------------------

# n, tagged with the exception an otherwise valid call must raise for it (None: it works).
N = st.one_of(
    st.integers(0, 12).map(lambda n: (None, n)),
    st.sampled_from([np.int8(3), np.uint16(0), np.int32(5), np.int64(2), np.uint64(7)]).map(
        lambda n: (None, n)
    ),
    st.integers(-(2**70), -1).map(lambda n: (genaug.ParameterError, n)),
    st.integers(-5, -1).map(lambda n: (genaug.ParameterError, np.int64(n))),
    st.integers(2**40, 2**70).map(lambda n: (genaug.SizeError, n)),
    st.integers(2**40, 2**62).map(lambda n: (genaug.SizeError, np.int64(n))),
    st.one_of(
        st.booleans(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.none(),
        st.text(max_size=3),
        st.sampled_from([[3], np.float32(2.0), np.bool_(False), 1 + 0j, b"2"]),
    ).map(lambda n: (genaug.ParameterError, n)),
)
# Seeds, tagged True (valid) or False (a GenaugError). Seeds beyond 64 bits and floats are in
# test_integer_arguments_beyond_64_bits_or_not_integers.
SEED = st.one_of(
    st.none().map(lambda s: (True, s)),
    st.integers(0, 2**63 - 1).map(lambda s: (True, s)),
    st.integers(-(2**63), -1).map(lambda s: (False, s)),
)

DTYPES = [
    np.bool_,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
    np.complex64,
    object,
    "U3",
    "datetime64[s]",
]
OBJECTS = st.one_of(st.integers(-5, 5), st.floats(), st.none(), st.text(max_size=2))
LAYOUTS = ["c", "fortran", "reversed rows", "reversed last axis", "strided", "read-only"]


def layout(a: np.ndarray, how: str) -> np.ndarray:
    if how == "fortran":
        return np.asfortranarray(a)
    if how == "reversed rows" and a.ndim:
        return a[::-1]
    if how == "reversed last axis" and a.ndim:
        return a[..., ::-1]
    if how == "strided" and a.ndim:
        return np.repeat(a, 2, axis=0)[::2]
    if how == "read-only":
        a = a.copy()
        a.setflags(write=False)
    return a


REAL = [np.bool_, np.uint8, np.int16, np.int64, np.uint64, np.float16, np.float32, np.float64]


@st.composite
def arrays(draw, sample_shape=(5,)):
    """Half the time, clean rows: (k, *sample_shape), k >= 1, of a real dtype with values that
    float32 holds. Otherwise arrays of every dtype, ranks 1 to 5 with zero sizes, or
    (k, *sample_shape); NaN, Inf and huge values. Constant columns, any memory layout."""
    if draw(st.booleans()):
        dtype = np.dtype(draw(st.sampled_from(REAL)))
        shape = (draw(st.integers(1, 8)), *sample_shape)
        if dtype.kind == "f":
            values = st.floats(-1e4, 1e4, width=min(32, dtype.itemsize * 8))
            a = draw(hnp.arrays(dtype, shape, elements=values))
        else:
            a = draw(hnp.arrays(dtype, shape))
        return layout(a, draw(st.sampled_from(LAYOUTS)))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(
        st.one_of(
            hnp.array_shapes(min_dims=1, max_dims=5, min_side=0, max_side=5),
            st.integers(0, 8).map(lambda k: (k, *sample_shape)),
            st.integers(1, 8).map(lambda k: (k, *sample_shape)),
        )
    )
    if dtype.kind == "O":
        a = draw(hnp.arrays(dtype, shape, elements=OBJECTS))
    elif dtype.kind == "f" and dtype.itemsize == 8:
        values = st.floats() | st.sampled_from([1e300, -1e300, 1e6, 0.5])
        a = draw(hnp.arrays(dtype, shape, elements=values))
    else:
        a = draw(hnp.arrays(dtype, shape))
    if a.ndim >= 2 and a.shape[0] and a.shape[1] and draw(st.booleans()):
        a = a.copy()
        a[:, 0] = a[0, 0]  # a constant column
    return layout(a, draw(st.sampled_from(LAYOUTS)))


def is_real(a: np.ndarray) -> bool:
    return a.dtype.kind in "biuf"


def finite_and_moderate(a: np.ndarray) -> bool:
    """Real values that float32 holds as finite numbers."""
    if not is_real(a):
        return False
    values = a.astype(np.float64)
    return bool(np.isfinite(values).all() and (np.abs(values) <= 1e30).all())


def rows_of(a: np.ndarray, sample_shape) -> bool:
    return a.ndim == 1 + len(sample_shape) and a.shape[1:] == tuple(sample_shape) and len(a) > 0


# --- properties -----------------------------------------------------------------------------


@SETTINGS
@given(st.data(), st.sampled_from(sorted(MODELS)), N, SEED)
def test_sample(data, name, n, seed):
    model, train = MODELS[name]
    expected_error, n = n
    seed_ok, seed = seed
    conditional = name in CONDITIONAL
    y = data.draw(
        st.one_of(
            st.none(),
            st.sampled_from([0, 1, 2, np.int8(1), np.uint64(2)]),
            st.sampled_from([-1, 3, 7, 2**63, 1.0, 0.5, "a", True]),
            st.lists(st.integers(-1, 3), max_size=14).map(lambda v: np.array(v, dtype=np.int64)),
        ),
        label="y",
    )
    y_ok = (y is None) != conditional
    if conditional and isinstance(y, np.ndarray):
        y_ok = expected_error is None and len(y) == n and set(y.tolist()) <= {0, 1, 2}
    elif conditional and y is not None:
        y_ok = isinstance(y, int | np.integer) and not isinstance(y, bool) and 0 <= y <= 2
    out, error = attempt(lambda: model.sample(n, y=y, seed=seed))
    if out is not None:
        assert isinstance(out, np.ndarray)
        assert out.shape == (int(n), *train.shape[1:]) and out.dtype == train.dtype
    elif seed_ok is True and y_ok and expected_error is not None:
        assert isinstance(error, expected_error), error
    elif seed_ok is False:
        assert error is not None
    must_work(expected_error is None and seed_ok is True and y_ok, error)


@SETTINGS
@given(arrays(), st.integers(0, 5), st.sampled_from(["vae", "gan"]))
def test_augment_unconditional(batch, n, name):
    model, train = MODELS[name]
    before = batch.copy()  # for object arrays, the same objects: compared by their pointers
    out, error = attempt(lambda: model.augment(batch, n))
    assert batch.tobytes() == before.tobytes()
    result = np.result_type(batch.dtype, train.dtype) if is_real(batch) else None
    if out is not None:
        assert out.dtype == result and out.shape == (len(batch) + n, 5)
        assert np.array_equal(out[: len(batch)], batch, equal_nan=batch.dtype.kind == "f")
    valid = (
        rows_of(batch, (5,))
        and finite_and_moderate(batch)
        and np.array_equal(batch.astype(result).astype(batch.dtype), batch)
    )
    must_work(valid, error)


@st.composite
def labelled_calls(draw):
    """(batch, labels, n, strategy, whether all are valid) for a conditional model: half the
    time valid labels with a valid strategy or n, else anything."""
    clean = draw(st.booleans())
    k = draw(st.integers(1 if clean else 0, 10))
    index = draw(st.lists(st.integers(0, len(X) - 1), min_size=k, max_size=k))
    batch = layout(X[index], draw(st.sampled_from(LAYOUTS)))
    valid_labels = Y[index]
    typed_labels = st.sampled_from([np.int64, np.int8, np.uint8, list]).map(
        lambda t: valid_labels.astype(t) if t is not list else valid_labels.tolist()
    )
    if clean:
        labels = draw(typed_labels)
        have = {c: int(np.sum(valid_labels == c)) for c in (0, 1, 2)}
        asked = draw(st.dictionaries(st.sampled_from([0, 1, 2]), st.integers(0, 30), max_size=3))
        counts = {c: have[c] + extra for c, extra in asked.items()}
        choice = draw(st.sampled_from(["none", "balance", "dict", "n"]))
        strategy = {"balance": "balance", "dict": counts}.get(choice)
        n = draw(st.integers(0, 6)) if choice == "n" else None
        return batch, labels, n, strategy, True
    labels = draw(
        st.one_of(
            typed_labels,
            st.just(valid_labels - 5),  # negative
            st.just(valid_labels + 0.5),  # fractional
            st.just(valid_labels + 3),  # unseen
            st.just(np.append(valid_labels, 0)),  # wrong length
            st.just(valid_labels[:-1]),
            st.none(),
            st.just("abc"),
        )
    )
    labels_ok = len(index) > 0 and (
        (isinstance(labels, list) and labels == valid_labels.tolist())
        or (
            isinstance(labels, np.ndarray)
            and labels.dtype.kind in "iu"
            and np.array_equal(labels, valid_labels)
        )
    )
    counts = st.one_of(
        st.integers(0, 40),
        st.integers(-5, -1),
        st.integers(2**40, 2**62),
        st.just(2**64),
        st.floats(0, 40),
    )
    classes = st.sampled_from([0, 1, 2, -1, 7, 1.5, "a", np.int64(1)])
    strategy = draw(
        st.one_of(
            st.none(),
            st.just("balance"),
            st.sampled_from(["smote", "", "BALANCE"]),
            st.dictionaries(classes, counts, max_size=3),
        )
    )
    n = draw(st.one_of(st.none(), st.integers(0, 6), st.integers(-3, -1)))
    strategy_ok = strategy is None or strategy == "balance"
    if isinstance(strategy, dict):
        have = {c: int(np.sum(valid_labels == c)) for c in (0, 1, 2)}
        strategy_ok = all(
            type(c) in (int, np.int64)
            and c in have
            and type(v) is int
            and have[int(c)] <= v <= 40
            and not isinstance(c, bool)
            for c, v in strategy.items()
        )
    n_ok = (n is None) or (n >= 0 and strategy is None)
    return batch, labels, n, strategy, labels_ok and strategy_ok and n_ok


@SETTINGS
@given(labelled_calls(), st.sampled_from(CONDITIONAL))
# An empty batch has no classes to share n new rows among: n rows or an error, not 0 rows.
@example(call=(X[:0], Y[:0], 3, None, False), name="cvae")
def test_augment_with_labels(call, name):
    batch, labels, n, strategy, valid = call
    model, _ = MODELS[name]
    out, error = attempt(lambda: model.augment(batch, n, labels=labels, strategy=strategy))
    if out is not None:
        x_aug, y_aug = out
        k = len(batch)
        assert x_aug.shape == (len(y_aug), 5) and x_aug.dtype == np.float64
        np.testing.assert_array_equal(x_aug[:k], batch)
        np.testing.assert_array_equal(y_aug[:k], np.asarray(labels))
        counts = {c: int(np.sum(y_aug == c)) for c in (0, 1, 2)}
        present = {c: int(np.sum(np.asarray(labels) == c)) for c in (0, 1, 2)}
        assert set(np.unique(y_aug).tolist()) <= {0, 1, 2}
        if isinstance(strategy, dict):
            for c in present:
                assert counts[c] == strategy.get(c, present[c])
        elif n is not None:
            assert len(y_aug) == k + n
            assert all(counts[c] == present[c] for c in present if present[c] == 0)
        else:  # balance
            top = max(present.values())
            assert top > 0 or len(y_aug) == 0
            assert top == 0 or all(
                counts[c] in (0, top) and (counts[c] == top) == (present[c] > 0) for c in present
            )
    must_work(valid, error)


@SETTINGS
@given(arrays(), st.sampled_from(["vae", "cvae"]), st.data())
def test_score_encode_reconstruct(batch, name, data):
    model, _ = MODELS[name]
    conditional = name == "cvae"
    rows = len(batch) if batch.ndim else 0
    y = data.draw(
        st.one_of(
            st.just(np.resize(Y, rows)),
            st.just(np.resize(Y, rows + 1)),
            st.just(np.full(rows, 9)),
            st.none(),
        ),
        label="y",
    )
    y_ok = (
        (y is None)
        if not conditional
        else (y is not None and len(y) == rows and y.max(initial=0) <= 2)
    )
    valid = rows_of(batch, (5,)) and finite_and_moderate(batch) and y_ok
    scores, error = attempt(lambda: model.score(batch, y))
    if scores is not None:
        assert scores.shape == (rows,) and np.isfinite(scores).all() and (scores >= -1e-6).all()
    must_work(valid, error)
    codes, error = attempt(lambda: model.encode(batch, y))
    if codes is not None:
        mean, logvar = codes
        assert mean.shape == logvar.shape == (rows, 2)
        assert np.isfinite(mean).all() and np.isfinite(logvar).all()
    must_work(valid, error)
    rebuilt, error = attempt(lambda: model.reconstruct(batch, y))
    if rebuilt is not None:
        assert rebuilt.shape == (rows, 5) and np.isfinite(rebuilt.astype(np.float64)).all()
    must_work(valid, error)


@settings(SETTINGS, max_examples=60)
@given(arrays(sample_shape=(3,)), st.data())
def test_fit(x, data):
    rows = len(x) if x.ndim else 0
    y = data.draw(
        st.one_of(
            st.none(),
            st.just(np.arange(rows) % 2),
            st.just((np.arange(rows) % 2).astype(np.uint8)),
            st.just(np.arange(rows) % 2 - 1),  # negative classes
            st.just(np.arange(rows) + 0.5),  # fractional
            st.just(np.zeros(rows + 1, dtype=int)),  # wrong length
        ),
        label="y",
    )
    y_ok = y is None or (y.dtype.kind in "iu" and len(y) == rows and y.min(initial=0) >= 0)
    valid = (
        2 <= x.ndim <= 4 and all(side > 0 for side in x.shape) and finite_and_moderate(x) and y_ok
    )
    model = genaug.VAE(latent_dim=2, hidden=(4,), device="cpu", seed=0)
    fitted, error = attempt(lambda: model.fit(x, y, epochs=1, batch_size=8, progress=False))
    must_work(valid, error)
    if fitted is not None:
        classes = fitted.classes_
        out = fitted.sample(2, y=classes[0]) if classes else fitted.sample(2)
        assert out.shape == (2, *x.shape[1:]) and out.dtype == x.dtype
        if is_real(x) and x.size:
            # Within the training data's range (per feature, so within its overall range).
            low, high = float(x.min()), float(x.max())
            margin = 1e-3 * (1 + max(abs(low), abs(high)))
            values = out.astype(np.float64)
            assert (values >= low - margin).all() and (values <= high + margin).all()


SIZES = st.one_of(
    st.integers(1, 6).map(lambda v: (True, v)),
    st.integers(-3, 0).map(lambda v: (False, v)),
    st.integers(2**36, 2**63 - 1).map(lambda v: (False, v)),
)


@settings(SETTINGS, max_examples=40)
@given(SIZES, st.lists(SIZES, max_size=3), st.sampled_from(["vae", "gan"]))
def test_network_sizes(latent, hidden, kind):
    (latent_ok, latent), widths = latent, [w for _, w in hidden]
    valid = latent_ok and all(ok for ok, _ in hidden) and len(hidden) > 0
    cls = genaug.VAE if kind == "vae" else genaug.GAN
    model, error = attempt(lambda: cls(latent_dim=latent, hidden=widths, device="cpu", seed=0))
    must_work(valid, error)
    if model is not None:
        fitted, error = attempt(lambda: model.fit(X[:20], epochs=1, progress=False))
        must_work(valid, error)
        if fitted is not None:
            assert fitted.sample(2).shape == (2, 5)


# Integer arguments other than n are not in the contract's list of generated inputs, so they
# have their own property: Python ints beyond 64 bits, floats, NaN and Inf give a GenaugError.
NOT_INT64 = st.one_of(
    st.integers(min_value=2**64),
    st.integers(max_value=-(2**63) - 1),
    st.floats(allow_nan=True, allow_infinity=True),
)
INT_ARGUMENTS = {
    "sample seed": lambda v: MODELS["vae"][0].sample(2, seed=v),
    "augment seed": lambda v: MODELS["vae"][0].augment(X[:2], 2, seed=v),
    "strategy count": lambda v: MODELS["cvae"][0].augment(X[:5], labels=Y[:5], strategy={0: v}),
    "constructor latent_dim": lambda v: genaug.VAE(latent_dim=v, device="cpu").fit(X, epochs=1),
    "constructor hidden": lambda v: genaug.GAN(hidden=(v,), device="cpu").fit(X, epochs=1),
    "constructor seed": lambda v: genaug.VAE(seed=v, device="cpu"),
    "fit epochs": lambda v: genaug.VAE(**SMALL).fit(X, epochs=v, progress=False),
    "fit batch_size": lambda v: genaug.VAE(**SMALL).fit(X, epochs=1, batch_size=v, progress=False),
}


@SETTINGS
@given(st.sampled_from(sorted(INT_ARGUMENTS)), NOT_INT64)
def test_integer_arguments_beyond_64_bits_or_not_integers(argument, value):
    _, error = attempt(lambda: INT_ARGUMENTS[argument](value))
    assert error is not None


@SETTINGS
@given(
    st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=200).map(lambda b: struct.pack("<Q", len(b)) + b),
        st.binary(max_size=100).map(lambda b: struct.pack("<Q", 2) + b"{}" + b),
    )
)
def test_from_bytes_of_random_bytes(blob):
    _, error = attempt(lambda: genaug.from_bytes(blob))
    assert isinstance(error, genaug.CheckpointError)
