"""Anomaly detection: genaug's VAE next to scikit-learn's IsolationForest and LocalOutlierFactor,
in one run, on one CPU thread, every model at its defaults.

Protocol: each data set is split 70/30, stratified, ``random_state=0``. The detectors are fitted
on the training rows of the normal classes only and score the whole test split; the held-out
class is the anomaly. ROC AUC of the anomaly scores against "is the anomaly class".

- digits, class 9 held out (fitted on classes 0-8); digits, class 0 held out (fitted on 1-9);
- breast_cancer: fitted on the benign training rows (raw features, no scaling), malignant is the
  anomaly.

Methods:

- ``genaug.VAE(seed=s).fit(x, progress=False)``, scored two ways from the same fitted model:
  ``score_samples`` (importance-weighted log-likelihood, higher = normal, so the anomaly score is
  ``-score_samples``) and the older ``score`` (per-row negative ELBO, higher = anomalous);
- ``IsolationForest(random_state=s)`` (anomaly score ``-score_samples``);
- ``LocalOutlierFactor(novelty=True)`` (anomaly score ``-score_samples``; it has no randomness,
  so its seeds agree).

Printed: ROC AUC per method, data set and seed with fit seconds (the VAE's two rows share one
fit), then the fraction of rows ``VAE.predict`` calls inliers (+1): on the test split's normal
rows and on the training rows, both of which should be about ``1 - contamination`` (0.9), and on
the test split's anomalies.

Run: ``python benchmarks/anomaly.py [--seeds 0 1 2] [--data digits9 digits0 breast_cancer]
[--methods vae iforest lof]`` (``--methods iforest lof`` needs no genaug build).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neighbors import LocalOutlierFactor  # noqa: E402

# name: (loader, the anomaly class)
DATA: dict[str, tuple[Callable, int]] = {
    "digits9": (load_digits, 9),
    "digits0": (load_digits, 0),
    "breast_cancer": (load_breast_cancer, 0),  # 0 = malignant, 1 = benign
}
PEERS = {"iforest": "IsolationForest(random_state=s)", "lof": "LocalOutlierFactor(novelty=True)"}
METHODS = ["vae", *PEERS]


def split(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training rows of the normal classes, the whole test split, and whether each test row is
    the anomaly."""
    loader, anomaly = DATA[name]
    x, y = loader(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, random_state=0, stratify=y
    )
    return x_train[y_train != anomaly], x_test, y_test == anomaly


def run_peer(method: str, seed: int, x_fit, x_test) -> tuple[np.ndarray, float]:
    """A scikit-learn detector's anomaly scores (-score_samples) and fit seconds."""
    model: Any
    if method == "iforest":
        model = IsolationForest(random_state=seed)
    else:
        model = LocalOutlierFactor(novelty=True)
    started = time.perf_counter()
    model.fit(x_fit)
    seconds = time.perf_counter() - started
    return -model.score_samples(x_test), seconds


def run_vae(
    seed: int, x_fit, x_test, is_anomaly
) -> tuple[dict[str, np.ndarray], float, tuple[float, float, float, float]]:
    """Anomaly scores of both VAE scorings, fit seconds, and offset_ with predict()'s inlier
    fractions on the test split's normal rows, the training rows and the test anomalies."""
    import genaug

    model = genaug.VAE(seed=seed)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", genaug.TrainingWarning)
        model.fit(x_fit, progress=False)
    seconds = time.perf_counter() - started
    scores = {
        "genaug VAE -score_samples": -np.asarray(model.score_samples(x_test)),
        "genaug VAE score (neg. ELBO)": np.asarray(model.score(x_test)),
    }
    test_in = np.asarray(model.predict(x_test)) == 1
    train_in = np.asarray(model.predict(x_fit)) == 1
    fractions = (
        float(model.offset_),
        float(test_in[~is_anomaly].mean()),
        float(train_in.mean()),
        float(test_in[is_anomaly].mean()),
    )
    return scores, seconds, fractions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data", nargs="+", default=list(DATA), choices=list(DATA))
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    args = parser.parse_args()
    torch.set_num_threads(1)

    seeds = args.seeds
    print("anomaly detection, fitted on the normal classes' training rows; ROC AUC; 1 thread\n")
    print(f"| data | method | {' | '.join(f'seed {s}' for s in seeds)} | mean | mean fit s |")
    print(f"| --- | --- | {' | '.join('---' for _ in seeds)} | --- | --- |")
    predicted: list[tuple[str, int, float, float, float, float]] = []
    for name in args.data:
        x_fit, x_test, is_anomaly = split(name)
        results: dict[str, list[tuple[float, float]]] = {}
        for seed in seeds:
            if "vae" in args.methods:
                scores, seconds, fractions = run_vae(seed, x_fit, x_test, is_anomaly)
                for label, score in scores.items():
                    auc = float(roc_auc_score(is_anomaly, score))
                    results.setdefault(label, []).append((auc, seconds))
                predicted.append((name, seed, *fractions))
            for method in [m for m in args.methods if m in PEERS]:
                score, seconds = run_peer(method, seed, x_fit, x_test)
                auc = float(roc_auc_score(is_anomaly, score))
                results.setdefault(PEERS[method], []).append((auc, seconds))
        for label, rows in results.items():
            cells = " | ".join(f"{auc:.3f} ({sec:.2f} s)" for auc, sec in rows)
            auc_mean = np.mean([auc for auc, _ in rows])
            sec_mean = np.mean([sec for _, sec in rows])
            print(f"| {name} | {label} | {cells} | {auc_mean:.3f} | {sec_mean:.2f} |", flush=True)

    if predicted:
        print("\nVAE.predict: fraction of rows called inliers (+1); default contamination 0.1\n")
        print("| data | seed | offset_ | test normal rows | training rows | test anomalies |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name, seed, offset, test_in, train_in, anomaly_in in predicted:
            print(
                f"| {name} | {seed} | {offset:.2f} | {test_in:.3f} | {train_in:.3f} | "
                f"{anomaly_in:.3f} |"
            )


if __name__ == "__main__":
    main()
