"""Tables as data scientists have them: DataFrames with mixed dtypes, categorical columns,
missing values, a label column; and NumPy arrays with discrete_columns."""

import pickle
import subprocess
import sys
import warnings

import genaug
import numpy as np
import pandas as pd
import pytest
from _helpers import with_metadata

EPOCHS = 15


def mixed_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": np.exp(rng.normal(10, 1, n)),
            "city": pd.Categorical(
                rng.choice(["north", "south", "east"], n, p=[0.6, 0.3, 0.1]),
                categories=["north", "south", "east", "west"],
            ),
            "grade": pd.Categorical(rng.choice([1, 2, 3], n), ordered=True),
            "member": rng.random(n) < 0.3,
            # object stays object on pandas 3, whose default for strings is "str".
            "plan": pd.Series(rng.choice(["basic", "pro"], n), dtype=object),
            "tier": pd.array(rng.choice(["a", "b"], n), dtype="string"),
            "visits": pd.array(rng.integers(0, 9, n), dtype="Int64"),
            "ratio": pd.array(rng.random(n), dtype="Float64"),
            "active": pd.array(rng.random(n) < 0.5, dtype="boolean"),
            "small": rng.integers(0, 5, n).astype(np.int16),
            "weight": rng.normal(70, 10, n).astype(np.float32),
        }
    )


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return mixed_frame()


@pytest.fixture(scope="module", params=["VAE", "GAN"])
def fitted(request: pytest.FixtureRequest, frame: pd.DataFrame) -> genaug.VAE | genaug.GAN:
    cls = getattr(genaug, request.param)
    return cls(seed=0).fit(frame, epochs=EPOCHS, progress=False)


def test_sample_has_the_frames_columns_dtypes_and_categories(fitted, frame):
    out = fitted.sample(300, seed=1)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(frame.columns)
    assert out.dtypes.to_dict() == frame.dtypes.to_dict()
    assert isinstance(out.index, pd.RangeIndex) and out.index[0] == 0 and len(out) == 300
    assert list(out["city"].cat.categories) == ["north", "south", "east", "west"]
    assert out["grade"].cat.ordered
    # Generated discrete values are categories seen in training.
    for name in ["city", "grade", "plan", "tier"]:
        assert set(out[name].dropna()) <= set(frame[name].dropna()), name
    assert set(out["member"]) <= {False, True}
    # Integer columns come back whole and in the training range.
    for name in ["age", "visits", "small"]:
        assert out[name].min() >= frame[name].min() and out[name].max() <= frame[name].max()
    assert not out.isna().any().any()


def test_sample_is_reproducible_and_frequencies_are_plausible(fitted):
    a, b = fitted.sample(400, seed=3), fitted.sample(400, seed=3)
    pd.testing.assert_frame_equal(a, b)
    share = a["city"].value_counts(normalize=True)
    assert share["north"] > share["east"]
    assert share.get("west", 0) == 0


def test_augment_keeps_the_batch_rows_index_and_all_first(fitted, frame):
    batch = frame.iloc[10:15].copy()
    batch.index = [100, 7, 3, 50, 9]
    out = fitted.augment(batch, 4, seed=0)
    assert len(out) == 9
    pd.testing.assert_frame_equal(out.iloc[:5], batch)
    assert list(out.index[5:]) == [101, 102, 103, 104]
    assert out.dtypes.to_dict() == frame.dtypes.to_dict()
    by_name = batch.set_axis(["r1", "r2", "r3", "r4", "r5"])
    assert list(fitted.augment(by_name, 2, seed=0).index[5:]) == [0, 1]


def test_unseen_category_in_a_batch_passes_through_untouched(fitted, frame):
    batch = frame.iloc[:3].copy()
    batch["plan"] = ["basic", "enterprise", "pro"]
    out = fitted.augment(batch, 2, seed=0)
    assert list(out["plan"].iloc[:3]) == ["basic", "enterprise", "pro"]
    assert set(out["plan"].iloc[3:]) <= {"basic", "pro"}


def test_batch_with_other_columns_or_dtypes_is_a_shape_error(fitted, frame):
    with pytest.raises(genaug.ShapeError, match="income"):
        fitted.augment(frame.drop(columns=["income"]).iloc[:3], 2)
    with pytest.raises(genaug.ShapeError, match="age.*float64.*int64"):
        fitted.augment(frame.astype({"age": "float64"}).iloc[:3], 2)
    with pytest.raises(genaug.ShapeError, match="extra"):
        fitted.augment(frame.assign(extra=1).iloc[:3], 2)


def test_unsupported_columns_are_data_errors_naming_column_and_dtype(frame):
    model = genaug.VAE(seed=0)
    dated = frame.assign(when=pd.Timestamp("2024-01-01"))
    with pytest.raises(genaug.DataError, match=r"'when'.*datetime64"):
        model.fit(dated, epochs=1, progress=False)
    mixed = frame.assign(odd=[1, "a"] * (len(frame) // 2))
    with pytest.raises(genaug.DataError, match=r"'odd'.*int, str"):
        model.fit(mixed, epochs=1, progress=False)
    nested = frame.assign(nest=[[1]] * len(frame))
    with pytest.raises(genaug.DataError, match="'nest'"):
        model.fit(nested, epochs=1, progress=False)
    assert not model.is_fitted


def test_missing_values_raise_unless_modelled(frame):
    gappy = frame.copy()
    rng = np.random.default_rng(5)
    gappy.loc[rng.random(len(gappy)) < 0.3, "income"] = np.nan
    gappy.loc[rng.random(len(gappy)) < 0.1, "city"] = None
    gappy["visits"] = gappy["visits"].mask(rng.random(len(gappy)) < 0.2)
    with pytest.raises(genaug.DataError, match=r"column 'income'.*rows .*missing=\"model\""):
        genaug.VAE(seed=0).fit(gappy, epochs=1, progress=False)
    model = genaug.VAE(seed=0).fit(gappy, epochs=150, missing="model", progress=False)
    out = model.sample(2000, seed=0)
    assert out.dtypes.to_dict() == gappy.dtypes.to_dict()
    for name, rate in [("income", 0.3), ("city", 0.1), ("visits", 0.2)]:
        got = out[name].isna().mean()
        assert abs(got - gappy[name].isna().mean()) < 0.08, (name, got, rate)
    assert not out["age"].isna().any()


@pytest.mark.parametrize("empty", [np.nan, None, pd.NA])
def test_a_column_missing_in_every_row_is_a_data_error(frame, empty):
    # Its generated rows would hold values the data never had.
    blank = frame.assign(notes=pd.Series([empty] * len(frame), dtype=object))
    if empty is np.nan:
        blank["notes"] = np.nan
    with pytest.raises(genaug.DataError, match="column 'notes' is missing in every row"):
        genaug.VAE(seed=0).fit(blank, epochs=1, missing="model", progress=False)
    x = np.random.default_rng(0).normal(size=(50, 3))
    x[:, 2] = np.nan
    with pytest.raises(genaug.DataError, match="column 2 is missing in every row"):
        genaug.GAN(seed=0).fit(x, epochs=1, missing="model", progress=False)


def test_label_column_conditions_with_exact_counts():
    df = mixed_frame(300, seed=1)
    model = genaug.VAE(seed=0).fit(df, y="plan", epochs=EPOCHS, progress=False)
    assert model.classes_ == ["basic", "pro"]
    out = model.sample(7, y="pro", seed=0)
    assert list(out.columns) == list(df.columns)
    assert (out["plan"] == "pro").all() and out["plan"].dtype == df["plan"].dtype
    both = model.sample(3, y=["basic", "pro", "basic"], seed=0)
    assert list(both["plan"]) == ["basic", "pro", "basic"]
    batch = df.iloc[:40]
    counts = batch["plan"].value_counts()
    out = model.augment(batch, strategy={"pro": int(counts["pro"]) + 9}, seed=0)
    assert isinstance(out, pd.DataFrame) and len(out) == 49
    assert out["plan"].value_counts()["pro"] == counts["pro"] + 9
    assert out["plan"].value_counts()["basic"] == counts["basic"]
    balanced = model.augment(batch, seed=0)
    assert balanced["plan"].value_counts().nunique() == 1
    # A batch that is already balanced needs no rows: it comes back as it is.
    pd.testing.assert_frame_equal(model.augment(balanced, seed=0), balanced)
    with pytest.raises(genaug.LabelError, match="gold"):
        model.sample(2, y="gold")
    with pytest.raises(genaug.LabelError, match="gold"):
        model.augment(batch, strategy={"gold": 3})
    with pytest.raises(genaug.LabelError, match="not a column"):
        genaug.VAE().fit(df, y="nope", epochs=1, progress=False)
    with pytest.raises(genaug.LabelError, match="'income' holds continuous values"):
        genaug.VAE().fit(df, y="income", epochs=1, progress=False)
    with pytest.raises(genaug.LabelError, match="'income' holds infinite values"):
        genaug.VAE().fit(df.assign(income=np.inf), y="income", epochs=1, progress=False)
    # A category of the label's dtype that no training row has is no class of the model.
    unused = df.assign(plan=pd.Categorical(df["plan"], categories=["basic", "pro", "gold"]))
    partial = genaug.VAE(seed=0).fit(unused, y="plan", epochs=1, progress=False)
    assert partial.classes_ == ["basic", "pro"]
    no_rows = r"'gold' is a category of the label column 'plan' that no training row had"
    with pytest.raises(genaug.LabelError, match=no_rows):
        partial.sample(2, y=["pro", "gold"])
    with pytest.raises(genaug.LabelError, match=no_rows):
        partial.augment(unused.iloc[:10], strategy={"gold": 3})
    # So it is in a frame's own label column, and a value of no category lists the classes.
    golden = unused.iloc[:10].copy()
    golden.loc[golden.index[0], "plan"] = "gold"
    with pytest.raises(genaug.LabelError, match=no_rows):
        partial.augment(golden, seed=0)
    with pytest.raises(genaug.LabelError, match=no_rows):
        partial.encode(golden)
    with pytest.raises(genaug.LabelError, match=r"the model knows \['basic', 'pro'\]$"):
        partial.sample(2, y="platinum")
    # Without y, the error lists the column's values, not the model's codes.
    values = r"label column 'plan'.*\['basic', 'pro'\]"
    with pytest.raises(genaug.LabelError, match=values):
        model.decode(np.zeros((2, model.latent_dim), np.float32))
    assert len(model.reconstruct(batch)) == len(batch)


def test_a_table_conditioned_on_a_column_samples_whole_rows_in_its_shares(tmp_path):
    df = mixed_frame(300, seed=1)
    model = genaug.VAE(seed=0).fit(df, y="plan", epochs=EPOCHS, progress=False)
    out = model.sample(900, seed=3)
    assert list(out.columns) == list(df.columns) and out["plan"].dtype == df["plan"].dtype
    # Three times the training rows: three times each class's training count, exactly.
    assert out["plan"].value_counts().to_dict() == (3 * df["plan"].value_counts()).to_dict()
    # Seeded calls repeat, other seeds shuffle the labels, and the rows follow their labels.
    pd.testing.assert_frame_equal(model.sample(900, seed=3), out)
    assert list(model.sample(900, seed=4)["plan"]) != list(out["plan"])
    pd.testing.assert_frame_equal(model.sample(900, y=list(out["plan"]), seed=3), out)
    # Saved and pickled models keep the shares.
    path = tmp_path / "plan.safetensors"
    model.save(path)
    for back in (genaug.load(path), pickle.loads(pickle.dumps(model))):
        pd.testing.assert_frame_equal(back.sample(900, seed=3), out)

    # A file saved without the training counts still samples given y, and says what it needs.
    def without_counts(metadata: dict[str, str]) -> None:
        del metadata["class_counts"]

    old = genaug.from_bytes(with_metadata(model.to_bytes(), without_counts))
    assert list(old.sample(4, y="pro", seed=0)["plan"]) == ["pro"] * 4
    with pytest.raises(genaug.LabelError, match="without its classes' training counts"):
        old.sample(4)
    # Arrays have no label column to fill: a conditional model on an array needs y.
    x = np.random.default_rng(0).normal(size=(60, 3)).astype(np.float32)
    on_array = genaug.VAE(seed=0).fit(x, y=np.repeat([0, 1], 30), epochs=2, progress=False)
    with pytest.raises(genaug.LabelError):
        on_array.sample(4)


def test_an_identifier_column_is_warned_of():
    df = mixed_frame(120, seed=2)
    df["name"] = [f"person {i}" for i in range(len(df))]
    with pytest.warns(genaug.DataWarning, match="column 'name' has 120 distinct values") as seen:
        genaug.VAE(seed=0).fit(df, epochs=1, progress=False)
    assert len(seen) == 1 and seen[0].filename == __file__
    # Ordinary discrete columns are not warned of, on many rows or few.
    with warnings.catch_warnings():
        warnings.simplefilter("error", genaug.DataWarning)
        genaug.VAE(seed=0).fit(df.drop(columns="name"), epochs=1, progress=False)
        genaug.GAN(seed=0).fit(mixed_frame(40), epochs=1, progress=False)


def test_numpy_discrete_columns_come_back_as_training_values():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=500), rng.choice([3.0, 7.0, 11.0], 500)])
    model = genaug.GAN(seed=0).fit(x, discrete_columns=[1], epochs=EPOCHS, progress=False)
    out = model.sample(300, seed=0)
    assert out.dtype == np.float64 and out.shape == (300, 2)
    assert set(np.unique(out[:, 1])) <= {3.0, 7.0, 11.0}
    with pytest.raises(genaug.ParameterError, match="discrete_columns holds 5"):
        genaug.GAN().fit(x, discrete_columns=[5], epochs=1, progress=False)
    with pytest.raises(genaug.ParameterError, match="transform"):
        genaug.GAN().fit(x, transform="log", epochs=1, progress=False)
    with pytest.raises(genaug.ParameterError, match="missing"):
        genaug.GAN().fit(x, missing="drop", epochs=1, progress=False)


def test_numpy_missing_values_are_modelled_per_column():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 3))
    x[rng.random(600) < 0.25, 2] = np.nan
    with pytest.raises(genaug.DataError, match="column 2"):
        genaug.VAE().fit(x, epochs=1, progress=False)
    # Normal columns: the quantile transform (min-max arrays' VAE, with free bits, matches a
    # missing rate only to about 0.1 on so few rows; see the README).
    model = genaug.VAE(seed=0).fit(
        x, missing="model", transform="quantile", epochs=200, progress=False
    )
    out = model.sample(2000, seed=0)
    assert abs(np.isnan(out[:, 2]).mean() - 0.25) < 0.05
    assert not np.isnan(out[:, :2]).any()


def test_tabular_models_save_load_and_pickle(tmp_path, frame):
    model = genaug.VAE(seed=0).fit(frame, y="city", epochs=5, progress=False)
    path = tmp_path / "table.safetensors"
    model.save(path)
    for back in (genaug.load(path), pickle.loads(pickle.dumps(model))):
        pd.testing.assert_frame_equal(
            back.sample(20, y="south", seed=4), model.sample(20, y="south", seed=4)
        )
        assert back.classes_ == ["north", "south", "east"]
        np.testing.assert_allclose(
            back.score(frame.iloc[:5]), model.score(frame.iloc[:5]), rtol=1e-5
        )


def test_a_table_gan_matches_category_frequencies_and_saves(tmp_path):
    rng = np.random.default_rng(0)
    p = 0.5 ** np.arange(6)
    p /= p.sum()
    table = pd.DataFrame(
        {f"c{j}": pd.Categorical(rng.choice(list("abcdef"), 800, p=p)) for j in range(4)}
    )
    table["x"] = rng.normal(size=800) + (table["c0"] == "a")
    model = genaug.GAN(hidden=(64, 64), seed=0).fit(table, epochs=80, progress=False)
    # The discriminator sees each row beside its batch's means: twice the 25 model-space values.
    assert [layer[0] for layer in model.layers_] == [model.latent_dim, 50, model.latent_dim]
    # Generated rows, categories drawn as sample draws them, are as spread out as real ones.
    assert model.history[-1]["diversity"] > 0.8
    out = model.sample(4000, seed=0)
    for column in ["c0", "c1", "c2", "c3"]:
        generated = out[column].value_counts(normalize=True)
        real = table[column].value_counts(normalize=True)
        assert 0.5 * generated.sub(real, fill_value=0).abs().sum() < 0.1, column
    path = tmp_path / "gan.safetensors"
    model.save(path)
    pd.testing.assert_frame_equal(genaug.load(path).sample(50, seed=1), model.sample(50, seed=1))

    # An MLP GAN saved by checkpoint version 2 had a narrower discriminator.
    def to_version_2(metadata: dict[str, str]) -> None:
        assert metadata["version"] == "4"
        metadata["version"] = "2"

    old = with_metadata(model.to_bytes(), to_version_2)
    with pytest.raises(genaug.CheckpointError, match="version 2.*fit it again"):
        genaug.from_bytes(old)


def test_encode_and_score_take_frames_and_refuse_unseen_categories(frame):
    model = genaug.VAE(seed=0).fit(frame, epochs=5, progress=False)
    mean, _ = model.encode(frame.iloc[:4])
    assert mean.shape == (4, model.latent_dim)
    recon = model.reconstruct(frame.iloc[:4])
    assert recon.dtypes.to_dict() == frame.dtypes.to_dict()
    odd = frame.iloc[:2].copy()
    odd["plan"] = ["basic", "enterprise"]
    with pytest.raises(genaug.DataError, match="'plan'.*'enterprise'"):
        model.score(odd)
    with pytest.raises(genaug.DataError, match="fitted on an array"):
        genaug.VAE(seed=0).fit(np.ones((10, 2)), epochs=1, progress=False).score(frame)


def test_arrays_never_import_pandas():
    code = (
        "import sys, numpy as np, genaug\n"
        "m = genaug.VAE(seed=0).fit(np.random.rand(50, 3), epochs=1, progress=False)\n"
        "m.sample(5); m.augment(np.random.rand(2, 3), 2)\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
