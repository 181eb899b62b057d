"""genaug.plot: what each figure holds, that pyplot and the backend are left alone, and errors."""

import importlib
import sys

import genaug
import matplotlib
import numpy as np
import pytest
from genaug import plot
from matplotlib import pyplot
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

PNG = b"\x89PNG\r\n\x1a\n"


def drawn(function, *args, **kwargs) -> Figure:
    """Calls a plot function and checks it returned a Figure and left global matplotlib state
    (backend, pyplot's figures, rcParams) as it found it."""
    backend = matplotlib.get_backend()
    figures = len(pyplot.get_fignums())
    params = dict(matplotlib.rcParams)
    fig = function(*args, **kwargs)
    assert isinstance(fig, Figure)
    assert matplotlib.get_backend() == backend
    assert len(pyplot.get_fignums()) == figures
    assert dict(matplotlib.rcParams) == params
    return fig


@pytest.fixture
def digits() -> tuple[np.ndarray, np.ndarray]:
    """Eleven 8x8 images: 5 of class 0, 4 of class 7, 2 of class 3, each image distinct."""
    images = np.random.default_rng(0).uniform(0, 16, size=(11, 8, 8))
    labels = np.array([7, 0, 0, 3, 7, 0, 7, 0, 3, 7, 0])
    return images, labels


# sample_grid


def test_grid_has_one_row_of_per_class_images_per_class(digits):
    images, labels = digits
    fig = drawn(plot.sample_grid, images, labels, per_class=4, title="digits")
    axes = fig.axes
    assert len(axes) == 3 * 4
    shown = [ax for ax in axes if ax.images]
    assert len(shown) == 4 + 2 + 4  # class 0 capped at 4; class 3 has 2; class 7 has 4
    assert all(len(ax.images) == 1 and isinstance(ax.images[0], AxesImage) for ax in shown)
    assert all(not ax.axison for ax in axes)
    rows = [axes[i * 4 : (i + 1) * 4] for i in range(3)]
    # Classes sorted; each row shows its class's first images, in order; the rest stay empty.
    for row, cls in zip(rows, [0, 3, 7], strict=True):
        assert row[0].get_title(loc="left") == str(cls)
        expected = images[labels == cls][:4]
        for ax, image in zip(row, expected, strict=False):
            np.testing.assert_array_equal(ax.images[0].get_array(), image)
        assert all(not ax.images for ax in row[len(expected) :])
    assert fig.get_suptitle() == "digits"
    # Grey images share one colour scale.
    assert {ax.images[0].get_clim() for ax in shown} == {(images.min(), images.max())}


def test_grid_takes_flat_channel_and_rgb_images(digits):
    images, labels = digits
    flat = drawn(plot.sample_grid, images.reshape(11, 64), labels, per_class=2)
    assert flat.axes[0].images[0].get_array().shape == (8, 8)
    one = drawn(plot.sample_grid, images[:, None], labels, per_class=2)
    np.testing.assert_array_equal(one.axes[0].images[0].get_array(), images[labels == 0][0])
    rgb = np.random.default_rng(1).integers(10, 240, size=(4, 3, 5, 6)).astype(np.uint8)
    fig = drawn(plot.sample_grid, rgb, per_class=3)
    assert len(fig.axes) == 3 and all(len(ax.images) == 1 for ax in fig.axes)
    shown = fig.axes[0].images[0].get_array()
    assert shown.shape == (5, 6, 3)  # channels last, as imshow takes them
    np.testing.assert_allclose(shown, np.moveaxis(rgb[0], 0, -1) / 255)
    # Floats outside imshow's [0, 1] are rescaled by the batch's range.
    signed = rgb / 127.5 - 1.0
    shown = drawn(plot.sample_grid, signed, per_class=1).axes[0].images[0].get_array()
    low, high = signed.min(), signed.max()
    np.testing.assert_allclose(shown, (np.moveaxis(signed[0], 0, -1) - low) / (high - low))


def test_unlabelled_grid_is_one_row(digits):
    images, _ = digits
    fig = drawn(plot.sample_grid, images, per_class=5)
    assert len(fig.axes) == 5 and sum(len(ax.images) for ax in fig.axes) == 5
    fig = drawn(plot.sample_grid, images[:2], per_class=5)
    assert len(fig.axes) == 5 and sum(len(ax.images) for ax in fig.axes) == 2


@pytest.mark.parametrize(
    "shape",
    [(4,), (0, 8, 8), (4, 10), (4, 2, 8, 8), (4, 8, 8, 3), (4, 1, 1, 8, 8)],
)
def test_grid_rejects_other_shapes(shape):
    with pytest.raises(genaug.ShapeError, match="shape"):
        plot.sample_grid(np.zeros(shape))


def test_grid_rejects_bad_labels_and_options(digits):
    images, labels = digits
    with pytest.raises(genaug.LabelError, match="10 labels for 11 images"):
        plot.sample_grid(images, labels[:10])
    with pytest.raises(ValueError, match="per_class"):
        plot.sample_grid(images, labels, per_class=0)
    with pytest.raises(genaug.DataError, match="dtype"):
        plot.sample_grid(np.full((2, 4, 4), "x"))


# history


def lines_by_label(ax) -> dict:
    return {line.get_label(): line for line in ax.get_lines()}


def test_vae_history_curves(blobs):
    x, _ = blobs
    vae = genaug.VAE(latent_dim=2, hidden=(16,), seed=0)
    vae.fit(x, epochs=4, validation=0.25, progress=False)
    fig = drawn(plot.history, vae)
    assert len(fig.axes) == 1
    lines = lines_by_label(fig.axes[0])
    assert set(lines) == {"loss", "reconstruction", "kl", "val_loss"}
    epochs = [row["epoch"] for row in vae.history]
    assert epochs == [1, 2, 3, 4]
    for key, line in lines.items():
        np.testing.assert_array_equal(line.get_xdata(), epochs)
        np.testing.assert_allclose(line.get_ydata(), [row[key] for row in vae.history])
    assert lines["val_loss"].get_linestyle() == "--"
    # The history list itself, and a subset of keys.
    fig = drawn(plot.history, vae.history, keys=["loss", "val_loss"])
    assert set(lines_by_label(fig.axes[0])) == {"loss", "val_loss"}


def test_gan_history_puts_diversity_and_mmd_on_their_own_axes(blobs):
    x, _ = blobs
    gan = genaug.GAN(latent_dim=2, hidden=(16,), loss="wgan-gp", seed=0)
    gan.fit(x, epochs=3, validation=0.25, progress=False)
    fig = drawn(plot.history, gan)
    assert len(fig.axes) == 3
    losses, diversity, mmd = (lines_by_label(ax) for ax in fig.axes)
    assert set(losses) == {"d_loss", "g_loss", "gradient_penalty", "wasserstein"}
    assert set(diversity) == {"diversity"} and set(mmd) == {"val_loss"}
    np.testing.assert_allclose(
        diversity["diversity"].get_ydata(), [row["diversity"] for row in gan.history]
    )
    np.testing.assert_array_equal(mmd["val_loss"].get_xdata(), [1, 2, 3])
    assert all(ax.get_xlabel() == "epoch" for ax in fig.axes)
    # keys can leave a panel out.
    assert len(drawn(plot.history, gan, keys=["d_loss", "g_loss"]).axes) == 1


def test_history_without_epoch_numbers_counts_from_one():
    fig = drawn(plot.history, [{"loss": 3.0}, {"loss": 2.0, "note": "x"}, {"loss": 1.5}])
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(line.get_ydata(), [3.0, 2.0, 1.5])


def test_history_errors(blobs):
    with pytest.raises(genaug.NotFittedError, match="fit it first"):
        plot.history(genaug.VAE())
    with pytest.raises(ValueError, match="empty"):
        plot.history([])
    with pytest.raises(ValueError, match="no numeric"):
        plot.history([{"epoch": 1, "seconds": 0.1}])
    with pytest.raises(ValueError, match="bogus"):
        plot.history([{"epoch": 1, "loss": 1.0}], keys=["bogus"])
    with pytest.raises(TypeError, match="per-epoch"):
        plot.history(42)


# compare


def assert_projects(real_dots, gen_dots, real, generated):
    """The scatters are both row sets projected on the real rows' leading principal axes."""
    centre = real.mean(axis=0)
    _, _, vt = np.linalg.svd(real - centre, full_matrices=False)
    axes = np.zeros((2, real.shape[1]))
    axes[: len(vt[:2])] = vt[:2]
    want_real, want_gen = (real - centre) @ axes.T, (generated - centre) @ axes.T
    # An axis's sign is arbitrary, but the same for both sets.
    signs = np.where(np.sum(real_dots.get_offsets() * want_real, axis=0) < 0, -1.0, 1.0)
    np.testing.assert_allclose(real_dots.get_offsets(), want_real * signs, atol=1e-9)
    np.testing.assert_allclose(gen_dots.get_offsets(), want_gen * signs, atol=1e-9)


def test_compare_arrays(blobs):
    x, _ = blobs
    generated = x[:45] + 0.1
    fig = drawn(plot.compare, x, generated, bins=12)
    pca, *hists = fig.axes
    assert len(hists) == x.shape[1]
    real_dots, gen_dots = pca.collections
    assert real_dots.get_label() == "real" and gen_dots.get_label() == "generated"
    assert len(real_dots.get_offsets()) == len(x) and len(gen_dots.get_offsets()) == 45
    # The projection is the standardised real rows' two leading principal axes (up to sign).
    mean, std = x.mean(axis=0), x.std(axis=0)
    assert_projects(real_dots, gen_dots, (x - mean) / std, (generated - mean) / std)
    for ax in hists:
        assert len(ax.patches) == 2 * 12  # two overlaid histograms of 12 bins
        widths = np.array([p.get_width() for p in ax.patches])
        heights = np.array([p.get_height() for p in ax.patches])
        # Density-normalised: each histogram's area is 1.
        np.testing.assert_allclose((widths * heights).reshape(2, 12).sum(axis=1), 1.0)
    assert hists[0].get_title() == "column 0"
    fig = drawn(plot.compare, x, generated, columns=[3, 1])
    assert [ax.get_title() for ax in fig.axes[1:]] == ["column 3", "column 1"]


@pytest.mark.parametrize("shape", [(4, 9), (10, 1)])
def test_compare_pca_of_few_rows_or_one_column(shape):
    rng = np.random.default_rng(0)
    real, generated = rng.normal(size=shape), rng.normal(size=(7, shape[1]))
    fig = drawn(plot.compare, real, generated)
    mean, std = real.mean(axis=0), real.std(axis=0)
    assert_projects(*fig.axes[0].collections, (real - mean) / std, (generated - mean) / std)


def test_compare_shows_twelve_columns_by_default():
    rng = np.random.default_rng(0)
    fig = drawn(plot.compare, rng.normal(size=(30, 15)), rng.normal(size=(20, 15)))
    assert len(fig.axes) == 1 + plot.MAX_COLUMNS


def test_compare_frames_with_categories():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    real = pd.DataFrame(
        {
            "age": rng.normal(40, 10, size=40),
            "count": pd.array(rng.integers(0, 5, size=40), dtype="Int64"),
            "colour": pd.Categorical(["red"] * 30 + ["blue"] * 10),
            "member": [True] * 10 + [False] * 30,
            "city": ["Oslo", "Lima"] * 20,
        }
    )
    generated = real.sample(25, random_state=0)[list(reversed(real.columns))]
    generated.loc[generated.index[:5], "colour"] = "blue"
    fig = drawn(plot.compare, real, generated)
    pca, *axes = fig.axes
    assert [ax.get_title() for ax in axes] == list(real.columns)
    assert [len(c.get_offsets()) for c in pca.collections] == [40, 25]
    colour = axes[2]
    assert [t.get_text() for t in colour.get_xticklabels()] == ["blue", "red"]
    heights = [p.get_height() for p in colour.patches]
    want = generated["colour"].value_counts(normalize=True)
    np.testing.assert_allclose(heights, [0.25, 0.75, want["blue"], want["red"]])
    member = axes[3]
    assert [t.get_text() for t in member.get_xticklabels()] == ["False", "True"]
    np.testing.assert_allclose([p.get_height() for p in member.patches][:2], [0.75, 0.25])
    assert len(drawn(plot.compare, real, generated, columns=["city"]).axes) == 2


def test_compare_errors(blobs):
    x, _ = blobs
    with pytest.raises(genaug.ShapeError, match="columns"):
        plot.compare(x, x[:, :3])
    with pytest.raises(genaug.ShapeError, match="2-D"):
        plot.compare(x[:, 0], x[:, 0])
    with pytest.raises(ValueError, match="no column 'price'"):
        plot.compare(x, x, columns=["price"])
    with pytest.raises(ValueError, match="out of range"):
        plot.compare(x, x, columns=[5])
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(x, columns=list("abcde"))
    with pytest.raises(genaug.ShapeError, match="same columns"):
        plot.compare(frame, frame.rename(columns={"a": "z"}))
    with pytest.raises(genaug.ShapeError, match="one of each"):
        plot.compare(frame, x)


# class_counts


def test_class_counts_bars(blobs):
    _, y = blobs
    after = np.concatenate([y, np.repeat([1, 2], [20, 30])])
    fig = drawn(plot.class_counts, y, after)
    (ax,) = fig.axes
    before_bars, after_bars = ax.containers
    assert [b.get_height() for b in before_bars] == [40, 20, 10]
    assert [b.get_height() for b in after_bars] == [40, 40, 40]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    assert sorted(t.get_text() for t in ax.texts) == sorted(["40", "20", "10"] + ["40"] * 3)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["before", "after"]


def test_class_counts_takes_any_hashable_labels():
    fig = drawn(plot.class_counts, ["cat", "dog", "cat"], ["dog", "cat", "cat", "emu"])
    before_bars, after_bars = fig.axes[0].containers
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["cat", "dog", "emu"]
    assert [b.get_height() for b in before_bars] == [2, 1, 0]
    assert [b.get_height() for b in after_bars] == [2, 1, 1]


def test_class_counts_errors():
    with pytest.raises(genaug.LabelError, match="1-D"):
        plot.class_counts(np.zeros((2, 2)), [0])
    with pytest.raises(genaug.LabelError, match="no labels"):
        plot.class_counts([], [])


# Saving, Jupyter, missing matplotlib


def test_path_writes_a_png_and_returns_the_figure(tmp_path, blobs, digits):
    x, y = blobs
    vae = genaug.VAE(latent_dim=2, hidden=(8,), seed=0).fit(x, epochs=2, progress=False)
    calls = {
        "grid": (plot.sample_grid, (*digits,)),
        "history": (plot.history, (vae,)),
        "compare": (plot.compare, (x, x[::-1])),
        "counts": (plot.class_counts, (y, y)),
    }
    for name, (function, args) in calls.items():
        path = tmp_path / "new" / "folder" / f"{name}.png"
        fig = drawn(function, *args, path=path)
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 1000
        assert len(fig.axes) > 0


def test_figure_renders_as_png_in_ipython(digits):
    formatters = pytest.importorskip("IPython.core.formatters")
    fig = drawn(plot.sample_grid, *digits, per_class=2)
    data, _ = formatters.DisplayFormatter().format(fig)
    assert data["image/png"][:8] == PNG


def test_missing_matplotlib_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "genaug.plot")
    with pytest.raises(ImportError, match=r"pip install genaug\[demo\]"):
        importlib.import_module("genaug.plot")
