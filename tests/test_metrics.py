"""genaug.metrics: each function against the plain NumPy/SciPy formulas of
tests/_metric_reference.py, on arrays, tables and image-shaped arrays; known cases (identical,
disjoint, copied sets); the `prdc` and `sdmetrics` packages where they compute the same quantity;
report(), model.evaluate(), and bad input."""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable
from functools import cache
from typing import Any, TypeAlias

import _metric_reference as ref
import genaug
import numpy as np
import pandas as pd
import pytest
from genaug import metrics

Data: TypeAlias = np.ndarray | pd.DataFrame
Case: TypeAlias = tuple[Data, Data, dict[str, Any]]

REPORT_KEYS = set(ref.REPORT_KEYS)


def close(expected: Any) -> Any:
    return pytest.approx(expected, rel=1e-4, abs=1e-9, nan_ok=True)


def correlated(n: int, seed: int, scale: float = 1.0, shift: float = 0.0) -> np.ndarray:
    """n rows of 6 correlated Gaussian features (the same mixing matrix for every seed)."""
    mix = np.random.default_rng(99).normal(size=(6, 6))
    return (np.random.default_rng(seed).normal(size=(n, 6)) * scale + shift) @ mix


def coded(n: int, seed: int, unseen: bool) -> np.ndarray:
    """4 continuous columns and 2 columns of integer codes; with `unseen`, code 3 appears in
    column 4 (real data has codes 0..2 only)."""
    rng = np.random.default_rng(seed)
    x = correlated(n, seed)[:, :4]
    first = rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1] if unseen else [0.5, 0.3, 0.2, 0.0])
    second = rng.integers(0, 2, n)
    return np.column_stack([x, first, second]).astype(np.float64)


CITIES = ["east", "north", "south", "west"]


def frame(n: int, seed: int, shift: float) -> pd.DataFrame:
    """2 continuous columns (a float, an integer) and 2 discrete ones (a category, strings);
    with a shift, "west" (never in the real frame) appears."""
    rng = np.random.default_rng(seed)
    p = [0.2, 0.5, 0.3, 0.0] if shift == 0 else [0.25, 0.4, 0.3, 0.05]
    return pd.DataFrame(
        {
            "income": rng.normal(10 + shift, 2, n),
            "age": rng.integers(18, 80, n),
            "city": pd.Categorical(rng.choice(CITIES, n, p=p), categories=CITIES),
            "plan": rng.choice(["basic", "pro", "max"], n, p=[0.5, 0.3, 0.2]).astype(object),
        }
    )


def frame_codes(f: pd.DataFrame) -> np.ndarray:
    """The frame as an array, its discrete columns as codes (for discrete_columns=[2, 3])."""
    plans = {"basic": 0, "pro": 1, "max": 2}
    return np.column_stack(
        [f["income"], f["age"], f["city"].cat.codes, f["plan"].map(plans)]
    ).astype(np.float64)


@cache
def case_data(name: str) -> Case:
    if name.startswith("array"):
        real, gen = correlated(300, 1), correlated(250, 2, 1.1, 0.2)
        return real, gen, {"standardize": True} if name == "array-standardized" else {}
    if name.startswith("coded"):
        kw: dict[str, Any] = {"discrete_columns": [4, 5]}
        if name == "coded-raw":
            kw["standardize"] = False
        return coded(300, 1, False), coded(250, 2, True), kw
    if name.startswith("frame"):
        real_f, gen_f = frame(300, 1, 0.0), frame(250, 2, 0.3)
        return real_f, gen_f, {"standardize": False} if name == "frame-raw" else {}
    assert name == "image"
    rng = np.random.default_rng(5)
    return rng.random((120, 8, 8)), rng.random((100, 8, 8)) ** 1.2, {}


CASES = ["array", "array-standardized", "coded", "coded-raw", "frame", "frame-raw", "image"]


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest) -> Case:
    return case_data(request.param)


def column_kw(kw: dict[str, Any]) -> dict[str, Any]:
    """The keywords column_fidelity and correlation_difference take (no standardize)."""
    return {key: v for key, v in kw.items() if key == "discrete_columns"}


def rows(data: Data, index: Any) -> Data:
    if isinstance(data, pd.DataFrame):
        return data.iloc[index].reset_index(drop=True)
    return data[index]


def stack(a: Data, b: Data) -> Data:
    if isinstance(a, pd.DataFrame):
        return pd.concat([a, b], ignore_index=True)
    return np.concatenate([a, b])


# --- each function against the reference --------------------------------------------------


def test_mmd_matches_reference(case):
    real, gen, kw = case
    assert metrics.mmd(real, gen, **kw) == close(ref.mmd(real, gen, **kw))
    assert metrics.mmd(real, gen, bandwidth=2.5, **kw) == close(
        ref.mmd(real, gen, bandwidth=2.5, **kw)
    )


@pytest.mark.parametrize("k", [1, 5])
def test_prdc_matches_reference(case, k):
    real, gen, kw = case
    out = metrics.precision_recall_density_coverage(real, gen, k=k, **kw)
    assert set(out) == {"precision", "recall", "density", "coverage"}
    assert out == close(ref.precision_recall_density_coverage(real, gen, k=k, **kw))


def test_frechet_matches_reference(case):
    real, gen, kw = case
    assert metrics.frechet_distance(real, gen, **kw) == close(ref.frechet_distance(real, gen, **kw))


def test_memorisation_matches_reference(case):
    real, gen, kw = case
    out = metrics.memorisation(real, gen, **kw)
    assert set(out) == {"dcr_ratio", "duplicate_rate"}
    assert out == close(ref.memorisation(real, gen, **kw))
    # 10 of the generated rows copy real rows.
    copying = stack(rows(gen, slice(0, len(gen) - 10)), rows(real, slice(20, 30)))
    out = metrics.memorisation(real, copying, **kw)
    assert out == close(ref.memorisation(real, copying, **kw))
    assert out["duplicate_rate"] == close(10 / len(gen))


@pytest.mark.parametrize("k", [1, 5])
def test_classifier_auc_matches_reference(case, k):
    real, gen, kw = case
    assert metrics.classifier_auc(real, gen, k=k, **kw) == close(
        ref.classifier_auc(real, gen, k=k, **kw)
    )


def test_column_fidelity_matches_reference(case):
    real, gen, kw = case
    out = metrics.column_fidelity(real, gen, **column_kw(kw))
    expected = ref.column_fidelity(real, gen, **column_kw(kw))
    assert list(out) == list(expected)
    assert out == close(expected)


def test_correlation_difference_matches_reference(case):
    real, gen, kw = case
    assert metrics.correlation_difference(real, gen, **column_kw(kw)) == close(
        ref.correlation_difference(real, gen, **column_kw(kw))
    )


def test_report_matches_reference(case):
    real, gen, kw = case
    out = metrics.report(real, gen, **kw)
    assert set(out) == REPORT_KEYS
    assert all(isinstance(v, float) for v in out.values()), out
    assert out == close(ref.report(real, gen, **kw))


def test_report_values_are_the_functions_values(case):
    real, gen, kw = case
    out = metrics.report(real, gen, k=3, **kw)
    expected = {"mmd": metrics.mmd(real, gen, **kw)}
    expected.update(metrics.precision_recall_density_coverage(real, gen, k=3, **kw))
    expected["frechet_distance"] = metrics.frechet_distance(real, gen, **kw)
    expected["classifier_auc"] = metrics.classifier_auc(real, gen, k=3, **kw)
    expected.update(metrics.memorisation(real, gen, **kw))
    fidelity = metrics.column_fidelity(real, gen, **column_kw(kw))
    discrete = {c.name: c.discrete for c in ref.columns(real, kw.get("discrete_columns"))}
    ks = [v for name, v in fidelity.items() if not discrete[name]]
    tvd = [v for name, v in fidelity.items() if discrete[name]]
    expected["ks"] = float(np.mean(ks)) if ks else math.nan
    expected["tvd"] = float(np.mean(tvd)) if tvd else math.nan
    expected["correlation_difference"] = metrics.correlation_difference(real, gen, **column_kw(kw))
    assert set(out) == REPORT_KEYS
    assert out == close(expected)


# --- known cases ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["array", "frame"])
def test_identical_sets(name):
    real, _, kw = case_data(name)
    same = real.copy()
    assert metrics.mmd(real, same, **kw) == pytest.approx(0.0, abs=1e-9)
    prdc = metrics.precision_recall_density_coverage(real, same, **kw)
    # Every real ball holds its own centre's copy and k - 1 others (distances have no ties).
    assert prdc == close({"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0})
    assert metrics.frechet_distance(real, same, **kw) == pytest.approx(0.0, abs=1e-6)
    assert metrics.memorisation(real, same, **kw) == {"dcr_ratio": 0.0, "duplicate_rate": 1.0}
    assert set(metrics.column_fidelity(real, same).values()) == {0.0}
    assert metrics.correlation_difference(real, same) == pytest.approx(0.0, abs=1e-12)
    out = metrics.report(real, same, **kw)
    assert out["ks"] == 0.0 and out["correlation_difference"] == pytest.approx(0.0, abs=1e-12)
    if name == "frame":
        assert out["tvd"] == 0.0
    # Each row's nearest other row is its copy, and equal distances go to the lower pooled
    # index, a real row: a real row's k = 5 neighbours are 3 generated, a generated row's 2.
    assert metrics.classifier_auc(real, same, **kw) == 0.0 == ref.classifier_auc(real, same)


def test_same_distribution_is_indistinguishable():
    real, fresh = correlated(300, 1), correlated(300, 11)
    assert 0.4 < metrics.classifier_auc(real, fresh) < 0.6
    assert metrics.mmd(real, fresh) < 0.02
    prdc = metrics.precision_recall_density_coverage(real, fresh)
    assert min(prdc.values()) > 0.85, prdc


def test_disjoint_sets():
    real = correlated(300, 1)
    far = real + 100.0
    prdc = metrics.precision_recall_density_coverage(real, far)
    assert prdc == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    assert metrics.classifier_auc(real, far) == 1.0
    assert set(metrics.column_fidelity(real, far).values()) == {1.0}
    # Cross terms vanish: mmd = mean K(x, x') + mean K(y, y') = 2 mean K(x, x'), near 2 once the
    # bandwidth is wide against each set's spread (and still narrow against the gap of 100).
    assert 1.9 < metrics.mmd(real, far, bandwidth=30.0) <= 2.0
    s = ref.median_bandwidth(real)
    within = np.exp(-((real[:, None, :] - real[None, :, :]) ** 2).sum(-1) / (2 * s * s)).mean()
    assert metrics.mmd(real, far) == close(2 * within)
    # Equal covariances: only the means' distance is left.
    assert metrics.frechet_distance(real, far) == close(6 * 100.0**2)


@pytest.mark.parametrize("name", ["array", "frame"])
def test_a_generator_that_copies_its_training_rows(name):
    train = correlated(200, 3) if name == "array" else frame(200, 3, 0.0)
    fresh = correlated(200, 4) if name == "array" else frame(200, 4, 0.0)
    copies = rows(train, np.random.default_rng(0).permutation(200)[:150])
    assert metrics.memorisation(train, copies) == {"dcr_ratio": 0.0, "duplicate_rate": 1.0}
    out = metrics.memorisation(train, fresh)
    assert out["duplicate_rate"] == 0.0
    assert 0.6 < out["dcr_ratio"] < 1.6, out


def test_dcr_ratio_is_nan_when_every_train_row_repeats():
    train = np.repeat(correlated(50, 3), 2, axis=0)
    out = metrics.memorisation(train, correlated(40, 4))
    assert math.isnan(out["dcr_ratio"]) and out["duplicate_rate"] == 0.0


def test_bandwidth_is_one_when_all_real_rows_are_equal():
    # ||1 - 0||^2 = 3, so K(real, generated) = exp(-3 / 2) with s = 1.
    assert metrics.mmd(np.ones((10, 3)), np.zeros((8, 3))) == close(2 - 2 * math.exp(-1.5))


def test_median_heuristic_uses_the_strided_subsample():
    # 1500 rows: m = 1000 rows at floor(1.5 i), which never hits a row 2 (mod 3); those rows
    # are far out, so any other choice of rows gives a very different bandwidth.
    rng = np.random.default_rng(0)
    real = rng.normal(size=(1500, 2))
    real[2::3] *= 20.0
    gen = rng.normal(size=(60, 2)) * 1.5
    s = ref.median_bandwidth(real)
    assert metrics.mmd(real, gen) == close(ref.mmd(real, gen))
    assert metrics.mmd(real, gen) == close(metrics.mmd(real, gen, bandwidth=s))
    assert metrics.mmd(real, gen) != close(metrics.mmd(real, gen, bandwidth=1.5 * s))


def test_unseen_generated_categories_share_one_extra_slot():
    # One discrete column: real codes 0 and 1 become (1, 0) and (0, 1); any generated code that
    # real lacks becomes (0, 0, 1), at distance sqrt(2) from every real row.
    real = np.array([[0.0], [1.0]] * 5)
    expected = 1.5 - 1.5 * math.exp(-1.0)  # s = 1: K = exp(-1) at distance sqrt(2)
    for gen in (np.full((4, 1), 2.0), np.array([[2.0], [7.0], [2.0], [-1.0]])):
        out = metrics.mmd(real, gen, bandwidth=1.0, discrete_columns=[0])
        assert out == close(expected)
        assert out == close(ref.mmd(real, gen, bandwidth=1.0, discrete_columns=[0]))
    # Seen codes only: no extra slot, the features of real rows.
    seen = np.array([[1.0], [0.0]] * 3)
    assert metrics.mmd(real, seen, bandwidth=1.0, discrete_columns=[0]) == pytest.approx(
        0.0, abs=1e-9
    )


def test_constant_columns():
    # A constant column's correlations count as 0, and it is standardized with sd 1.
    real, gen = correlated(120, 1), correlated(100, 2, 1.1, 0.2)
    real[:, 2] = 5.0
    gen[:, 4] = -1.0
    assert metrics.correlation_difference(real, gen) == close(ref.correlation_difference(real, gen))
    assert np.isfinite(metrics.correlation_difference(real, gen))
    pairs = [
        (metrics.mmd, ref.mmd),
        (metrics.frechet_distance, ref.frechet_distance),
        (metrics.classifier_auc, ref.classifier_auc),
    ]
    for fn, reference in pairs:
        assert fn(real, gen, standardize=True) == close(reference(real, gen, standardize=True))
    assert metrics.memorisation(real, gen, standardize=True) == close(
        ref.memorisation(real, gen, standardize=True)
    )


def test_undefined_means_are_nan():
    real, gen = coded(80, 1, False), coded(70, 2, False)
    assert math.isnan(metrics.correlation_difference(real[:, :1], gen[:, :1]))
    assert math.isnan(metrics.correlation_difference(real, gen, discrete_columns=[1, 2, 3, 4, 5]))
    assert math.isnan(metrics.report(real, gen)["tvd"])
    out = metrics.report(real[:, 4:], gen[:, 4:], discrete_columns=[0, 1])
    assert math.isnan(out["ks"]) and math.isnan(out["correlation_difference"])
    assert np.isfinite(out["tvd"]) and np.isfinite(out["mmd"])


def test_standardize_makes_array_metrics_scale_free():
    real, gen = correlated(150, 1), correlated(120, 2, 1.1, 0.2)
    scale = np.array([1e-3, 1.0, 50.0, 7.0, 1e3, 0.2])
    shift = np.array([5.0, -3.0, 0.0, 1e3, 2.0, -0.5])
    before = metrics.report(real, gen, standardize=True)
    after = metrics.report(real * scale + shift, gen * scale + shift, standardize=True)
    assert after == close(before)
    assert metrics.report(real, gen) == close(metrics.report(real, gen, standardize=False))


def test_frames_are_standardized_by_default_and_match_coded_arrays():
    real, gen, _ = case_data("frame")
    out = metrics.report(real, gen)
    assert out == close(metrics.report(real, gen, standardize=True))
    codes = metrics.report(frame_codes(real), frame_codes(gen), discrete_columns=[2, 3])
    assert codes == close(out)
    fidelity = metrics.column_fidelity(real, gen)
    coded_fidelity = metrics.column_fidelity(
        frame_codes(real), frame_codes(gen), discrete_columns=[2, 3]
    )
    assert list(fidelity) == ["income", "age", "city", "plan"]
    assert list(coded_fidelity) == ["0", "1", "2", "3"]
    assert list(coded_fidelity.values()) == close(list(fidelity.values()))


def test_integer_arrays_are_their_float_values():
    rng = np.random.default_rng(0)
    real, gen = rng.integers(0, 50, (100, 5)), rng.integers(0, 60, (90, 5))
    assert metrics.report(real, gen) == close(metrics.report(real * 1.0, gen * 1.0))


# --- other packages computing the same quantities ------------------------------------------


@pytest.mark.parametrize("k", [2, 5])
@pytest.mark.parametrize("name", ["array", "frame", "image"])
def test_prdc_package(name, k):
    prdc = pytest.importorskip("prdc")
    real, gen, kw = case_data(name)
    features = ref.encode(real, gen, **kw)
    with contextlib.redirect_stdout(io.StringIO()):  # compute_prdc prints the set sizes
        expected = prdc.compute_prdc(*features, nearest_k=k)
    out = metrics.precision_recall_density_coverage(real, gen, k=k, **kw)
    assert out == close({key: float(v) for key, v in expected.items()})


@pytest.mark.parametrize("name", ["array", "frame", "coded"])
def test_sdmetrics_column_scores(name):
    pytest.importorskip("sdmetrics")
    from sdmetrics.single_column import KSComplement, TVComplement

    real, gen, kw = case_data(name)
    fidelity = metrics.column_fidelity(real, gen, **column_kw(kw))
    discrete = {c.name: c.discrete for c in ref.columns(real, kw.get("discrete_columns"))}
    if isinstance(real, pd.DataFrame):
        real_f, gen_f = real, gen
    else:
        real_f = pd.DataFrame(real, columns=list(fidelity))
        gen_f = pd.DataFrame(gen, columns=list(fidelity))
    for column, value in fidelity.items():
        if discrete[column]:
            # sdmetrics counts a generated value that real lacks 1e-6 times in real.
            expected = 1 - TVComplement.compute(real_f[column], gen_f[column])
            assert value == pytest.approx(expected, rel=1e-4, abs=1e-5), column
        else:
            expected = 1 - KSComplement.compute(real_f[column], gen_f[column])
            assert value == close(expected), column


@pytest.mark.parametrize("pair", [(0, 1), (2, 5), (3, 4)])
def test_sdmetrics_correlation_similarity(pair):
    pytest.importorskip("sdmetrics")
    from sdmetrics.column_pairs import CorrelationSimilarity

    real, gen, _ = case_data("array")
    real, gen = real[:, list(pair)], gen[:, list(pair)]
    similarity = CorrelationSimilarity.compute(
        pd.DataFrame(real), pd.DataFrame(gen), coefficient="Pearson"
    )
    assert metrics.correlation_difference(real, gen) == close(2 * (1 - similarity))


# --- report ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["array", "frame", "image"])
def test_report_with_train_uses_train_for_memorisation(name):
    real, gen, kw = case_data(name)
    train = rows(stack(real, gen), np.random.default_rng(1).permutation(len(real) + len(gen)))
    train = rows(train, slice(0, 200))
    copying = stack(rows(gen, slice(0, len(gen) - 40)), rows(train, slice(0, 40)))
    out = metrics.report(real, copying, train, **kw)
    expected = metrics.memorisation(train, copying, **kw)
    assert {key: out[key] for key in expected} == close(expected)
    assert out == close(ref.report(real, copying, train, **kw))
    assert out["duplicate_rate"] >= 40 / len(gen)
    # Without train, memorisation is against real; everything else is the same.
    alone = metrics.report(real, copying, **kw)
    assert {key: alone[key] for key in expected} == close(metrics.memorisation(real, copying, **kw))
    rest = REPORT_KEYS - set(expected)
    assert {key: out[key] for key in rest} == close({key: alone[key] for key in rest})


# --- bad input ------------------------------------------------------------------------------

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "mmd": lambda r, g, **kw: metrics.mmd(r, g, **kw),
    "prdc": lambda r, g, **kw: metrics.precision_recall_density_coverage(r, g, **kw),
    "frechet": lambda r, g, **kw: metrics.frechet_distance(r, g, **kw),
    "memorisation": lambda r, g, **kw: metrics.memorisation(r, g, **kw),
    "classifier_auc": lambda r, g, **kw: metrics.classifier_auc(r, g, **kw),
    "column_fidelity": lambda r, g, **kw: metrics.column_fidelity(r, g, **column_kw(kw)),
    "correlation_difference": lambda r, g, **kw: metrics.correlation_difference(
        r, g, **column_kw(kw)
    ),
    "report": lambda r, g, **kw: metrics.report(r, g, **kw),
    "report-train": lambda r, g, **kw: metrics.report(r, g, r, **kw),
}
WITH_K = ["prdc", "classifier_auc", "report", "report-train"]


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_nan_is_a_data_error(fn):
    real, gen = correlated(30, 1), correlated(25, 2)
    call = FUNCTIONS[fn]
    bad = real.copy()
    bad[3, 2] = np.nan
    with pytest.raises(genaug.DataError):
        call(bad, gen)
    bad = gen.copy()
    bad[7, 0] = np.nan
    with pytest.raises(genaug.DataError):
        call(real, bad)
    real_f, gen_f = frame(30, 1, 0.0), frame(25, 2, 0.0)
    bad_f = gen_f.copy()
    bad_f.loc[4, "income"] = np.nan
    with pytest.raises(genaug.DataError, match=r"column 'income' \(row 4\)"):
        call(real_f, bad_f)
    bad_f = real_f.copy()
    bad_f.loc[2, "plan"] = None
    with pytest.raises(genaug.DataError, match=r"real has a missing value in column 'plan'"):
        call(bad_f, gen_f)


def test_nan_in_train_is_a_data_error():
    real, gen = correlated(30, 1), correlated(25, 2)
    train = correlated(20, 3)
    train[0, 5] = np.nan
    with pytest.raises(genaug.DataError):
        metrics.report(real, gen, train)
    with pytest.raises(genaug.DataError):
        metrics.memorisation(train, gen)


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_column_mismatch_is_a_shape_error(fn):
    call = FUNCTIONS[fn]
    real, gen = correlated(30, 1), correlated(25, 2)
    with pytest.raises(genaug.ShapeError):
        call(real, gen[:, :5])
    with pytest.raises(genaug.ShapeError):
        call(real[:, :4], gen)
    rng = np.random.default_rng(0)
    with pytest.raises(genaug.ShapeError):
        call(rng.random((20, 8, 8)), rng.random((20, 8, 7)))
    real_f, gen_f = frame(30, 1, 0.0), frame(25, 2, 0.0)
    with pytest.raises(genaug.ShapeError):
        call(real_f, gen_f.drop(columns=["age"]))


def test_train_column_mismatch_is_a_shape_error():
    real, gen = correlated(30, 1), correlated(25, 2)
    with pytest.raises(genaug.ShapeError):
        metrics.report(real, gen, real[:, :5])


@pytest.mark.parametrize("fn", WITH_K)
def test_k_must_be_below_each_sets_row_count(fn):
    call = FUNCTIONS[fn]
    real, gen = correlated(10, 1), correlated(20, 2)
    call(real, gen, k=9)
    call(gen, real, k=9)
    for k in (10, 11, 0):
        with pytest.raises(genaug.ParameterError):
            call(real, gen, k=k)
        with pytest.raises(genaug.ParameterError):
            call(gen, real, k=k)


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("name", ["array", "frame", "image"])
def test_inputs_are_not_modified(fn, name):
    real, gen, kw = case_data(name)
    real, gen = rows(real, slice(0, 60)).copy(), rows(gen, slice(0, 50)).copy()
    real_copy, gen_copy = real.copy(), gen.copy()
    if isinstance(real, np.ndarray):
        # Read-only arrays are taken as they are.
        real.setflags(write=False)
        gen.setflags(write=False)
    FUNCTIONS[fn](real, gen, **kw)
    if isinstance(real, pd.DataFrame):
        pd.testing.assert_frame_equal(real, real_copy)
        pd.testing.assert_frame_equal(gen, gen_copy)
    else:
        np.testing.assert_array_equal(real, real_copy)
        np.testing.assert_array_equal(gen, gen_copy)
        assert real.dtype == real_copy.dtype and gen.dtype == gen_copy.dtype


# --- model.evaluate -------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["VAE", "GAN"])
def fitted(request: pytest.FixtureRequest) -> tuple[Any, np.ndarray]:
    x = np.random.default_rng(0).random((200, 4))
    model = getattr(genaug, request.param)(seed=0).fit(x, epochs=2, progress=False)
    return model, x


def test_evaluate_is_the_report_of_a_sample(fitted):
    model, x = fitted
    out = model.evaluate(x)
    assert set(out) == REPORT_KEYS
    assert all(isinstance(v, float) for v in out.values()), out
    assert math.isnan(out["tvd"])
    assert all(math.isfinite(v) for key, v in out.items() if key != "tvd"), out
    assert out == close(metrics.report(x, model.sample(len(x), seed=0)))
    out = model.evaluate(x, 50, seed=3, train=x[:100])
    assert out == close(metrics.report(x, model.sample(50, seed=3), x[:100]))


def test_evaluate_a_conditional_model_draws_the_real_rows_classes(blobs):
    x, y = blobs
    model = genaug.VAE(seed=0).fit(x, y, epochs=2, progress=False)
    with pytest.raises(genaug.LabelError, match="evaluate\\(x, y=labels\\)"):
        model.evaluate(x)
    out = model.evaluate(x, y=y)
    assert out == close(metrics.report(x, model.sample(len(x), y=y, seed=0)))
    # n rows: the real classes cycled, so in the real rows' proportions.
    out = model.evaluate(x, 140, y=y, seed=2)
    assert out == close(metrics.report(x, model.sample(140, y=np.tile(y, 2), seed=2)))


def test_evaluate_a_model_conditional_on_a_frame_column():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"size": rng.normal(size=120), "kind": pd.Categorical(rng.choice(["a", "b"], 120))}
    )
    model = genaug.VAE(seed=0).fit(frame, y="kind", epochs=2, progress=False)
    out = model.evaluate(frame)
    expected = metrics.report(frame, model.sample(len(frame), y=frame["kind"], seed=0))
    assert out == close(expected)
    with pytest.raises(genaug.LabelError, match="label column"):
        model.evaluate(frame.drop(columns="kind"))
