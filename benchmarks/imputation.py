"""Imputation: genaug's VAE next to scikit-learn's SimpleImputer, KNNImputer and
IterativeImputer, in one run, on one CPU thread, every model at its defaults.

Data: digits (all classes), split 70/30, stratified, ``random_state=0``. For each seed ``s``,
``rng = np.random.default_rng(s)`` removes each pixel of the test split with probability 0.2
(completely at random), then each pixel of the training split likewise. Scored: the RMSE over the
removed entries only, in pixel units (0-16).

Scenarios:

- "complete train": every method fitted on the complete training split imputes the gappy test
  split;
- "gappy train -> test": fitted on the gappy training split (the imputers directly on the rows
  with NaN), imputing the gappy test split;
- "gappy train -> itself": the same fitted models imputing the training split's own gaps.

Methods: ``SimpleImputer()`` (column mean), ``KNNImputer()``, ``IterativeImputer(random_state=0)``,
``genaug.sklearn.VAEImputer(seed=s).fit(x).transform(x_nan)`` (its VAE's ``impute``), and
genaug's multiple imputation:
the mean of ``impute(x_nan, n_draws=10, seed=s)`` over its 10 draws (also the mean RMSE of the
single draws). Seconds: fit plus imputation (genaug's rows of one scenario share a fit, and the
"gappy train" scenarios share one fit, counted in both).

Run: ``python benchmarks/imputation.py [--seeds 0 1 2] [--rate 0.2] [--draws 10]
[--methods mean knn iterative vae]`` (without ``vae`` it needs no genaug build).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.experimental import enable_iterative_imputer  # noqa: E402, F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

PEERS = {
    "mean": "SimpleImputer(mean)",
    "knn": "KNNImputer()",
    "iterative": "IterativeImputer(random_state=0)",
}
METHODS = [*PEERS, "vae"]
SCENARIOS = ["complete train", "gappy train -> test", "gappy train -> itself"]


def rmse(imputed: np.ndarray, truth: np.ndarray, removed: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(imputed)[removed] - truth[removed]) ** 2)))


def peer(method: str) -> Any:
    if method == "mean":
        return SimpleImputer(strategy="mean")
    if method == "knn":
        return KNNImputer()
    return IterativeImputer(random_state=0)


def run_peer(
    method: str, fit_on: np.ndarray, parts: dict[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, float]]:
    """Each part's gaps imputed by an imputer fitted on `fit_on`, with its seconds (the fit
    counted in each)."""
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # IterativeImputer's
        model = peer(method).fit(fit_on)
        fitted = time.perf_counter() - started
        out = {}
        for part, x in parts.items():
            started = time.perf_counter()
            out[part] = (model.transform(x), fitted + time.perf_counter() - started)
    return out


def run_vae(
    seed: int, draws: int, fit_on: np.ndarray, missing: str, parts: dict[str, np.ndarray]
) -> dict[str, dict[str, tuple[np.ndarray, float]]]:
    """genaug's single imputation and its `draws` multiple imputations, shape (draws, N, D), of
    each part's gaps by a VAE fitted on `fit_on`, with their seconds (the fit counted in each)."""
    import genaug
    from genaug.sklearn import VAEImputer

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", genaug.TrainingWarning)
        model = VAEImputer(seed=seed).fit(fit_on).model_
    fitted = time.perf_counter() - started
    out: dict[str, dict[str, tuple[np.ndarray, float]]] = {"single": {}, "multiple": {}}
    for part, x in parts.items():
        started = time.perf_counter()
        single = np.asarray(model.impute(x))
        out["single"][part] = (single, fitted + time.perf_counter() - started)
        started = time.perf_counter()
        multiple = np.asarray(model.impute(x, n_draws=draws, seed=seed))
        out["multiple"][part] = (multiple, fitted + time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rate", type=float, default=0.2, help="fraction of pixels removed")
    parser.add_argument("--draws", type=int, default=10, help="genaug's multiple imputations")
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    args = parser.parse_args()
    torch.set_num_threads(1)

    x, y = load_digits(return_X_y=True)
    x_train, x_test, _, _ = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    # results[(scenario, method)] = [(rmse, seconds) per seed]
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}

    def record(scenario: str, method: str, value: float, seconds: float) -> None:
        results.setdefault((scenario, method), []).append((value, seconds))

    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        test_removed = rng.random(x_test.shape) < args.rate
        train_removed = rng.random(x_train.shape) < args.rate
        test_nan = np.where(test_removed, np.nan, x_test)
        train_nan = np.where(train_removed, np.nan, x_train)
        # scenario: (what the models are fitted on, genaug's `missing`, part imputed)
        scenarios = {
            "complete train": (x_train, "error", "test"),
            "gappy train -> test": (train_nan, "model", "test"),
            "gappy train -> itself": (train_nan, "model", "train"),
        }
        truth = {"train": (x_train, train_removed), "test": (x_test, test_removed)}
        # the parts each fit imputes: the gappy scenarios share one fit
        parts = {
            "error": {"test": test_nan},
            "model": {"train": train_nan, "test": test_nan},
        }
        fits: dict[tuple[str, str], Any] = {}
        for scenario, (fit_on, missing, part) in scenarios.items():
            x_true, removed = truth[part]
            for method in [m for m in args.methods if m in PEERS]:
                key = (method, missing)
                if key not in fits:
                    fits[key] = run_peer(method, fit_on, parts[missing])
                imputed, seconds = fits[key][part]
                record(scenario, PEERS[method], rmse(imputed, x_true, removed), seconds)
            if "vae" in args.methods:
                key = ("vae", missing)
                if key not in fits:
                    fits[key] = run_vae(seed, args.draws, fit_on, missing, parts[missing])
                imputed, seconds = fits[key]["single"][part]
                record(scenario, "genaug VAEImputer", rmse(imputed, x_true, removed), seconds)
                draws, seconds = fits[key]["multiple"][part]
                label = f"genaug VAE mean of {args.draws} draws"
                record(scenario, label, rmse(draws.mean(axis=0), x_true, removed), seconds)
                each = float(np.mean([rmse(d, x_true, removed) for d in draws]))
                record(scenario, f"genaug VAE one of {args.draws} draws (mean)", each, seconds)

    seeds = args.seeds
    print(f"digits imputation, {args.rate:.0%} of pixels removed at random; RMSE over the removed")
    print("entries (pixel units 0-16); seconds = fit + imputation; 1 thread\n")
    print(f"| scenario | method | {' | '.join(f'seed {s}' for s in seeds)} | mean RMSE | mean s |")
    print(f"| --- | --- | {' | '.join('---' for _ in seeds)} | --- | --- |")
    for (scenario, method), rows in results.items():
        cells = " | ".join(f"{value:.3f}" for value, _ in rows)
        mean = np.mean([value for value, _ in rows])
        seconds = np.mean([sec for _, sec in rows])
        print(f"| {scenario} | {method} | {cells} | {mean:.3f} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
