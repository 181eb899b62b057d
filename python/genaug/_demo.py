"""The digits demo: balance cut-down digits training sets with a conditional VAE and show what
it does for a classifier trained on them."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import genaug

# Every model is genaug.VAE(seed=...) with its defaults: the README's figures are those a user
# who tunes nothing gets.
MINORITY_CLASSES = (0, 1, 2, 3, 4)
MINORITY_SIZE = 8
# Which 8 images a cut keeps moves balanced accuracy by +-0.01, so the imbalanced setting is
# run on several cuts and reported by their mean.
CUTS = 5
# The classifier sees pixels scaled to 0..1 (digits' values run 0..16), the range the VAE models.
PIXEL_MAX = 16.0


def classifier_score(x_train, y_train, x_test, y_test) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    clf = LogisticRegression(max_iter=2000).fit(x_train / PIXEL_MAX, y_train)
    predicted = clf.predict(x_test / PIXEL_MAX)
    return accuracy_score(y_test, predicted), balanced_accuracy_score(y_test, predicted)


def cut_down(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Keeps `MINORITY_SIZE` randomly chosen rows of each minority class, and every other row."""
    rng = np.random.default_rng(seed)
    keep = np.ones(len(y), dtype=bool)
    for cls in MINORITY_CLASSES:
        members = np.flatnonzero(y == cls)
        keep[rng.permutation(members)[MINORITY_SIZE:]] = False
    return x[keep], y[keep]


def smote_or_none():
    """imbalanced-learn's SMOTE for comparison, or None when it is not installed."""
    try:
        from imblearn.over_sampling import SMOTE
    except ImportError:
        return None
    return SMOTE(random_state=0)


def run(out_dir: str | Path = "demo-output", seed: int = 0, progress: bool | None = None) -> dict:
    """Runs the demo, prints its figures and returns them."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=0
    )
    print(f"digits: {len(x_train)} training and {len(x_test)} test images, 8x8, values 0..16")
    print(f"classifier: logistic regression (max_iter=2000) on pixel values / {PIXEL_MAX:g}")

    # Train on synthetic, test on real: how faithful are the generated digits?
    vae = genaug.VAE(seed=seed).fit(x_train, y_train, progress=progress)
    y_synth = np.sort(y_train)
    x_synth = vae.sample(len(y_synth), y=y_synth)
    real_acc, _ = classifier_score(x_train, y_train, x_test, y_test)
    tstr_acc, _ = classifier_score(x_synth, y_synth, x_test, y_test)
    print(f"logistic regression trained on real data:       accuracy {real_acc:.3f}")
    print(f"logistic regression trained on synthetic data:  accuracy {tstr_acc:.3f}")

    # The imbalanced setting: classes 0-4 cut down to a few images each, on several cuts.
    smote = smote_or_none()
    print(
        f"imbalanced setting: classes {MINORITY_CLASSES[0]}-{MINORITY_CLASSES[-1]} cut down to "
        f"{MINORITY_SIZE} images each, {CUTS} random cuts; balanced accuracy per cut:"
    )
    print("   cut  imbalanced  genaug VAE" + ("  SMOTE" if smote is not None else ""))
    scores: dict[str, list[float]] = {"imbalanced": [], "genaug": [], "smote": []}
    grid_vae: genaug.VAE | None = None
    for cut in range(CUTS):
        cut_seed = seed + cut
        x_imb, y_imb = cut_down(x_train, y_train, cut_seed)
        vae = genaug.VAE(seed=cut_seed).fit(x_imb, y_imb, progress=progress)
        if grid_vae is None:
            grid_vae = vae
        x_bal, y_bal = vae.augment(x_imb, labels=y_imb, strategy="balance")
        scores["imbalanced"].append(classifier_score(x_imb, y_imb, x_test, y_test)[1])
        scores["genaug"].append(classifier_score(x_bal, y_bal, x_test, y_test)[1])
        line = f"  {cut:4d}  {scores['imbalanced'][-1]:10.3f}  {scores['genaug'][-1]:10.3f}"
        if smote is not None:
            x_sm, y_sm = smote.fit_resample(x_imb, y_imb)
            scores["smote"].append(classifier_score(x_sm, y_sm, x_test, y_test)[1])
            line += f"  {scores['smote'][-1]:5.3f}"
        print(line)
    means = {name: float(np.mean(values)) if values else None for name, values in scores.items()}
    line = f"  mean {means['imbalanced']:10.3f}  {means['genaug']:10.3f}"
    print(line + (f"  {means['smote']:5.3f}" if smote is not None else ""))
    print(f"each balanced set: {len(y_bal)} images, {len(y_bal) - len(y_imb)} of them generated")

    figures = {
        "real_accuracy": real_acc,
        "synthetic_accuracy": tstr_acc,
        "imbalanced_balanced_accuracy": means["imbalanced"],
        "augmented_balanced_accuracy": means["genaug"],
        "smote_balanced_accuracy": means["smote"],
        "per_cut": scores,
    }
    try:
        from genaug.plot import sample_grid
    except ImportError:  # pragma: no cover - matplotlib is in the demo extra
        print("matplotlib is not installed: skipping the sample grid (pip install genaug[demo])")
    else:
        assert grid_vae is not None  # CUTS >= 1
        labels = np.repeat(np.arange(10), 10)
        grid = Path(out_dir) / "digits.png"
        sample_grid(
            grid_vae.sample(len(labels), y=labels, seed=seed),
            labels,
            title="genaug conditional VAE fitted to cut 0: generated digits per class",
            path=grid,
        )
        print(f"generated digits per class: {grid}")
    print(f"demo finished in {time.perf_counter() - started:.0f} s")
    return figures
