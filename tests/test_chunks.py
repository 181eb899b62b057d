"""genaug.chunks: the chunk plan that Ray, Dask and Spark jobs share (no cluster needed)."""

import genaug
import numpy as np
import pandas as pd
import pytest
from genaug import chunks


@pytest.fixture(scope="module")
def conditional() -> genaug.VAE:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    y = np.repeat([0, 1, 2], 40)
    return genaug.VAE(hidden=(16,), seed=0).fit(x, y, epochs=2, progress=False)


def test_chunks_cover_the_rows_once_with_a_short_last_chunk(conditional):
    job = chunks.plan(conditional, 1000, seed=0, rows_per_chunk=300, y=1)
    assert job.count == 4
    assert [job.bounds(i) for i in range(4)] == [(0, 300), (300, 600), (600, 900), (900, 1000)]
    with pytest.raises(IndexError):
        job.bounds(4)
    assert chunks.plan(conditional, 0, seed=0, y=1).count == 0


def test_chunk_seeds_depend_on_seed_and_index_only(conditional):
    a = chunks.plan(conditional, 1000, seed=5, rows_per_chunk=300, y=1)
    b = chunks.plan(conditional, 50, seed=5, rows_per_chunk=7, y=1)
    c = chunks.plan(conditional, 1000, seed=6, rows_per_chunk=300, y=1)
    assert [a.seed_of(i) for i in range(4)] == [b.seed_of(i) for i in range(4)]
    assert len({a.seed_of(i) for i in range(4)}) == 4
    assert a.seed_of(0) != c.seed_of(0)


def test_class_counts_are_split_across_chunks_by_position(conditional):
    job = chunks.plan(conditional, None, seed=0, rows_per_chunk=300, y={2: 350, 0: 500, 1: 150})
    assert job.n == 1000
    labels = np.concatenate([job.labels_of(i) for i in range(job.count)]).astype(int)
    assert labels.tolist() == [2] * 350 + [0] * 500 + [1] * 150
    each = np.array([0, 2, 1, 1, 0] * 20)
    job = chunks.plan(conditional, 100, seed=0, rows_per_chunk=30, y=each)
    assert np.concatenate([job.labels_of(i) for i in range(job.count)]).tolist() == each.tolist()


def test_a_chunk_is_the_models_sample_with_its_seed(conditional):
    job = chunks.plan(conditional, 100, seed=3, rows_per_chunk=40, y={0: 50, 2: 50})
    cols = job.columns_of(conditional, 1)
    assert list(cols) == ["x0", "x1", "x2", "y"]
    assert cols["y"].tolist() == [0] * 10 + [2] * 30
    expected = conditional.sample(40, y=[0] * 10 + [2] * 30, seed=job.seed_of(1))
    np.testing.assert_array_equal(np.stack([cols[f"x{j}"] for j in range(3)], axis=1), expected)
    frame = job.frame_of(conditional, 2)
    assert list(frame.index) == list(range(80, 100))
    assert frame["y"].tolist() == [2] * 20


def test_names_for_numpy_models(conditional):
    job = chunks.plan(conditional, 5, seed=0, y=0, columns=["a", "b", "c"], labels_column="cls")
    assert list(job.columns_of(conditional, 0)) == ["a", "b", "c", "cls"]
    images = np.random.default_rng(0).integers(0, 256, (30, 6, 6)).astype(np.uint8)
    model = genaug.VAE(hidden=(16,), seed=0).fit(images, epochs=1, progress=False)
    cols = chunks.plan(model, 7, seed=0).columns_of(model, 0)
    assert list(cols) == ["x"] and cols["x"].shape == (7, 6, 6) and cols["x"].dtype == np.uint8


def test_dataframe_models_keep_their_columns_and_dtypes():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=90),
            "colour": pd.Categorical(rng.choice(["red", "blue"], 90)),
            "count": rng.integers(0, 9, 90),
            "kind": rng.choice(["a", "b", "c"], 90),
        }
    )
    model = genaug.VAE(hidden=(16,), seed=0).fit(frame, y="kind", epochs=1, progress=False)
    job = chunks.plan(model, 25, seed=0, rows_per_chunk=10, y={"b": 20, "c": 5})
    chunk = job.columns_of(model, 2)
    assert list(chunk.columns) == list(frame.columns)
    assert chunk.dtypes.to_dict() == frame.dtypes.to_dict()
    assert chunk["kind"].tolist() == ["c"] * 5 and list(chunk.index) == list(range(20, 25))
    with pytest.raises(genaug.ParameterError, match="fitted on a DataFrame"):
        chunks.plan(model, 5, seed=0, y="a", columns=["x"])
    # Without y: whole rows, each chunk the model's own sample(n) with the chunk's seed.
    whole = chunks.plan(model, 25, seed=3, rows_per_chunk=10)
    assert whole.labels is None and whole.count == 3
    last = whole.columns_of(model, 2)
    expected = model.sample(5, seed=whole.seed_of(2)).set_axis(range(20, 25))
    pd.testing.assert_frame_equal(last, expected)
    shares = frame["kind"].value_counts()
    drawn = whole.columns_of(model, 0)["kind"].value_counts()
    assert drawn.sum() == 10 and (abs(drawn - 10 * shares / 90) < 1).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 5}, genaug.LabelError, "pass y"),
        ({"n": 5, "y": 9}, genaug.LabelError, "9 is not one of"),
        ({"n": 5, "y": {0: 2, 1: 2}}, genaug.ParameterError, "add up to 4"),
        ({"n": 5, "y": {0: -1}}, genaug.ParameterError, "non-negative"),
        ({"n": 4, "y": [0, 1, 2]}, genaug.ParameterError, "holds 3 labels"),
        ({"n": -1, "y": 0}, genaug.ParameterError, "non-negative"),
        ({"n": 2.0, "y": 0}, genaug.ParameterError, "non-negative integer"),
        ({"n": 5, "y": 0, "seed": -1}, genaug.ParameterError, "seed"),
        ({"n": 5, "y": 0, "rows_per_chunk": 0}, genaug.ParameterError, "rows_per_chunk"),
        ({"n": 5, "y": 0, "columns": ["a"]}, genaug.ParameterError, "names 1 columns"),
        ({"n": 5, "y": 0, "labels_column": "x1"}, genaug.ParameterError, "distinct"),
    ],
)
def test_bad_plans_are_refused(conditional, kwargs, error, match):
    kwargs = {"seed": 0, **kwargs}
    with pytest.raises(error, match=match):
        chunks.plan(conditional, **kwargs)


def test_unfitted_and_unconditional_models():
    with pytest.raises(genaug.NotFittedError):
        chunks.plan(genaug.VAE(), 5, seed=0)
    x = np.random.default_rng(0).normal(size=(40, 2))
    model = genaug.GAN(hidden=(16,), seed=0).fit(x, epochs=1, progress=False)
    with pytest.raises(genaug.LabelError, match="fitted without"):
        chunks.plan(model, 5, seed=0, y=0)
    assert list(chunks.plan(model, 5, seed=0).columns_of(model, 0)) == ["x0", "x1"]


def test_frames_pickle_and_drive_dask(conditional):
    import pickle

    dd = pytest.importorskip("dask.dataframe")
    plan = chunks.plan(conditional, 90, seed=2, rows_per_chunk=40, y={0: 45, 1: 45})
    draw = pickle.loads(pickle.dumps(plan.frames(conditional)))
    pd.testing.assert_frame_equal(draw(1), plan.frame_of(conditional, 1))
    rows = dd.from_map(plan.frames(conditional), range(plan.count)).compute()
    assert rows.index.tolist() == list(range(90))
    assert rows["y"].tolist() == [0] * 45 + [1] * 45
    pd.testing.assert_frame_equal(rows.iloc[80:], plan.frame_of(conditional, 2))
