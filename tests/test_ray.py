"""genaug.ray on a local Ray cluster that the suite starts itself (4 logical CPUs on however
many cores there are; pools leave a CPU free for the tasks that feed them)."""

import genaug
import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")
# Ray Data's own context warns of its deprecated settings whenever it is copied.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
import genaug.ray as gray  # noqa: E402
from genaug import chunks  # noqa: E402


# Module scope: the cluster stops before the rest of the suite runs.
@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.init(
        num_cpus=4,
        include_dashboard=False,
        object_store_memory=100 * 2**20,
        log_to_driver=False,
    )
    context = ray.data.DataContext.get_current()
    bars = context.enable_progress_bars
    context.enable_progress_bars = False
    yield
    context.enable_progress_bars = bars
    ray.shutdown()


@pytest.fixture(scope="module")
def blobs_model() -> tuple[genaug.VAE, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [120, 60, 20])
    x = rng.normal(size=(len(y), 3)) + 4.0 * y[:, None]
    return genaug.VAE(hidden=(32,), seed=0).fit(x, y, progress=False), x, y


@pytest.fixture(scope="module")
def gan() -> genaug.GAN:
    x = np.random.default_rng(1).normal(size=(200, 4)).astype(np.float32)
    return genaug.GAN(hidden=(32,), seed=0).fit(x, epochs=2, progress=False)


def test_generate_is_exact_and_independent_of_actor_count(gan):
    # 1000 rows in chunks of 300: three whole chunks and a short one of 100.
    one = gray.generate(gan, 1000, seed=7, rows_per_chunk=300, actors=1).to_pandas()
    two = gray.generate(gan, 1000, seed=7, rows_per_chunk=300, actors=2).to_pandas()
    other = gray.generate(gan, 1000, seed=8, rows_per_chunk=300, actors=2).to_pandas()
    assert list(one.columns) == ["x0", "x1", "x2", "x3"] and len(one) == 1000
    pd.testing.assert_frame_equal(one, two)
    assert not np.allclose(one.to_numpy(dtype=float), other.to_numpy(dtype=float))
    # Row for row what the chunk plan gives in this process (Dask and Spark run the same).
    job = chunks.plan(gan, 1000, seed=7, rows_per_chunk=300)
    last = job.frame_of(gan, 3)
    np.testing.assert_array_equal(one.iloc[900:].to_numpy(dtype=np.float32), last.to_numpy())


def test_conditional_generation_has_exact_class_counts(blobs_model):
    model, _, _ = blobs_model
    ds = gray.generate(
        model, None, seed=0, rows_per_chunk=128, y={2: 300, 0: 100, 1: 7}, labels_column="label"
    )
    frame = ds.to_pandas()
    assert list(frame.columns) == ["x0", "x1", "x2", "label"]
    assert frame["label"].tolist() == [2] * 300 + [0] * 100 + [1] * 7
    # Each row is drawn for its label: the classes keep their training order (centres 0, 4, 8).
    means = frame.groupby("label")["x0"].mean()
    assert means[0] + 1 < means[1] < means[2] - 1


def test_parquet_round_trip_keeps_a_dataframe_models_schema(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    table = pd.DataFrame(
        {
            "income": rng.lognormal(10, 0.5, n),
            "region": pd.Categorical(rng.choice(["north", "south", "east"], n)),
            "children": rng.integers(0, 4, n),
            "owner": rng.random(n) < 0.4,
            "plan": rng.choice(["basic", "plus"], n),
        }
    )
    model = genaug.VAE(hidden=(32,), seed=0).fit(table, y="plan", epochs=2, progress=False)
    gray.generate(
        model, 500, seed=1, rows_per_chunk=120, y={"basic": 200, "plus": 300}
    ).write_parquet(str(tmp_path / "rows"))
    back = pd.read_parquet(tmp_path / "rows")
    assert len(back) == 500
    assert list(back.columns) == list(table.columns)
    assert back.dtypes.to_dict() == table.dtypes.to_dict()
    assert back["plan"].value_counts().to_dict() == {"plus": 300, "basic": 200}
    assert set(back["region"].cat.categories) == {"north", "south", "east"}
    # Without y: whole rows, each chunk's labels in their training shares.
    whole = gray.generate(model, 500, seed=1, rows_per_chunk=120).to_pandas()
    counts = whole["plan"].value_counts()
    assert len(whole) == 500 and counts.sum() == 500
    expected = 500 * table["plan"].value_counts() / n
    assert (abs(counts - expected) <= 5).all()  # within a row per chunk of the exact shares


def test_images_are_one_tensor_column():
    images = np.random.default_rng(0).integers(0, 256, (60, 6, 6)).astype(np.uint8)
    model = genaug.VAE(hidden=(16,), seed=0).fit(images, epochs=1, progress=False)
    ds = gray.generate(model, 50, seed=0, rows_per_chunk=20)
    batch = ds.take_batch(50, batch_format="numpy")
    assert list(batch) == ["x"]
    assert batch["x"].shape == (50, 6, 6) and batch["x"].dtype == np.uint8


def test_augment_balances_each_batch(blobs_model):
    model, x, y = blobs_model
    rows = [{"a": r[0], "b": r[1], "c": r[2], "label": int(k)} for r, k in zip(x, y, strict=True)]
    ds = ray.data.from_items(rows, override_num_blocks=2)
    kwargs = {"labels_column": "label", "strategy": "balance", "batch_size": 50, "seed": 3}
    augmented = gray.augment(ds, model, actors=1, **kwargs)
    out = augmented.to_pandas()
    assert augmented.schema().names == ["a", "b", "c", "label"]
    assert str(augmented.schema().types[3]) == "int64"
    # Batches of 50 rows in order: 50 of class 0; 50 of 0; 20 of 0 and 30 of 1 (0 topped up
    # by 10); 30 of 1 and 20 of 2 (2 topped up by 10).
    assert out["label"].value_counts().to_dict() == {0: 120 + 10, 1: 60, 2: 20 + 10}
    original = pd.DataFrame(rows)
    assert len(original.merge(out, how="inner")) == len(original)
    again = gray.augment(ds, model, actors=2, **kwargs).to_pandas()
    ordered = sorted(map(tuple, out.to_numpy().tolist()))
    assert ordered == sorted(map(tuple, again.to_numpy().tolist()))


def test_augment_unconditional_dataframe_batches():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {"w": rng.normal(size=100), "k": pd.Categorical(rng.choice(["p", "q"], 100))}
    )
    model = genaug.GAN(hidden=(16,), seed=0).fit(table, epochs=1, progress=False)
    out = gray.augment(ray.data.from_pandas(table), model, n=10, batch_size=25).to_pandas()
    assert len(out) == 100 + 4 * 10
    assert set(out["k"].astype(str)) <= {"p", "q"}


def test_fit_many_fits_each_group_as_one_process_would(blobs_model):
    _, x, y = blobs_model
    groups = {"small": x[y == 2], "labelled": (x, y)}
    models = gray.fit_many(
        lambda key: genaug.VAE(hidden=(16,), seed=4), groups, fit_params={"epochs": 2}
    )
    assert list(models) == ["small", "labelled"]
    assert models["small"].classes_ is None and models["labelled"].classes_ == [0, 1, 2]
    local = genaug.VAE(hidden=(16,), seed=4).fit(x, y, epochs=2, progress=False)
    np.testing.assert_array_equal(
        models["labelled"].sample(20, y=1, seed=0), local.sample(20, y=1, seed=0)
    )


def test_fit_many_raises_the_failing_groups_error():
    with pytest.raises(genaug.ShapeError) as caught:
        gray.fit_many(lambda key: genaug.VAE(seed=0), [np.zeros((4, 2)), np.zeros(5)])
    assert "group 1" in "".join(caught.value.__notes__)
    with pytest.raises(genaug.ParameterError, match="function"):
        gray.fit_many(genaug.VAE, [np.zeros((4, 2))])


@pytest.mark.parametrize("call", ["generate", "augment"])
def test_gpus_need_an_integer_batch_size(gan, call):
    with pytest.raises(genaug.ParameterError, match="needs an integer"):
        if call == "generate":
            gray.generate(gan, 100, seed=0, num_gpus=0.5)
        else:
            gray.augment(ray.data.range(4), gan, n=1, num_gpus=0.5)


def test_gpu_actors_need_gpus_in_the_cluster(gan):
    with pytest.raises(genaug.ParameterError, match="0 GPUs"):
        gray.generate(gan, 100, seed=0, rows_per_chunk=50, actors=1, num_gpus=0.5)


def test_pools_that_would_starve_the_cluster_are_refused(gan):
    with pytest.raises(genaug.ParameterError, match="one CPU left"):
        gray.generate(gan, 100, seed=0, actors=4)
    with pytest.raises(genaug.ParameterError, match="one CPU left"):
        gray.generate(gan, 100, seed=0, actors=2, num_cpus=2)
    with pytest.raises(genaug.NotFittedError):
        gray.generate(genaug.GAN(), 100, seed=0)
