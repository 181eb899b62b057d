"""The digits demo: balance a cut-down digits training set with a conditional VAE and show what
it does for a classifier trained on it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import genaug

# The settings the demo trains with (the README's quality figures come from these).
LATENT_DIM = 8
HIDDEN = (256, 256)
EPOCHS = 300
BATCH_SIZE = 64
MINORITY_CLASSES = (0, 1, 2, 3, 4)
MINORITY_SIZE = 8
# The classifier sees pixels scaled to 0..1 (digits' values run 0..16), the range the VAE models.
PIXEL_MAX = 16.0


def _classifier_score(x_train, y_train, x_test, y_test) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    clf = LogisticRegression(max_iter=2000).fit(x_train / PIXEL_MAX, y_train)
    predicted = clf.predict(x_test / PIXEL_MAX)
    return accuracy_score(y_test, predicted), balanced_accuracy_score(y_test, predicted)


def _cvae(seed: int) -> genaug.VAE:
    return genaug.VAE(latent_dim=LATENT_DIM, hidden=HIDDEN, seed=seed)


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
    vae = _cvae(seed).fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH_SIZE, progress=progress)
    y_synth = np.sort(y_train)
    x_synth = vae.sample(len(y_synth), y=y_synth)
    real_acc, _ = _classifier_score(x_train, y_train, x_test, y_test)
    tstr_acc, _ = _classifier_score(x_synth, y_synth, x_test, y_test)
    print(f"logistic regression trained on real data:       accuracy {real_acc:.3f}")
    print(f"logistic regression trained on synthetic data:  accuracy {tstr_acc:.3f}")

    # The imbalanced setting: classes 0-4 cut down to a few images each.
    rng = np.random.default_rng(seed)
    keep = np.ones(len(y_train), dtype=bool)
    for cls in MINORITY_CLASSES:
        members = np.flatnonzero(y_train == cls)
        keep[rng.permutation(members)[MINORITY_SIZE:]] = False
    x_imb, y_imb = x_train[keep], y_train[keep]
    counts = {int(c): int(k) for c, k in zip(*np.unique(y_imb, return_counts=True), strict=True)}
    print(f"imbalanced training set: {len(y_imb)} images, per class {counts}")

    vae = _cvae(seed).fit(x_imb, y_imb, epochs=EPOCHS, batch_size=BATCH_SIZE, progress=progress)
    x_bal, y_bal = vae.augment(x_imb, labels=y_imb, strategy="balance")
    _, imb_bacc = _classifier_score(x_imb, y_imb, x_test, y_test)
    _, bal_bacc = _classifier_score(x_bal, y_bal, x_test, y_test)
    print(f"balanced training set:   {len(y_bal)} images, {len(y_bal) - len(y_imb)} generated")
    print(f"balanced accuracy, imbalanced data:          {imb_bacc:.3f}")
    print(f"balanced accuracy, balanced with genaug VAE: {bal_bacc:.3f}")

    figures = {
        "real_accuracy": real_acc,
        "synthetic_accuracy": tstr_acc,
        "imbalanced_balanced_accuracy": imb_bacc,
        "augmented_balanced_accuracy": bal_bacc,
    }
    try:
        from genaug.plot import sample_grid
    except ImportError:  # pragma: no cover - matplotlib is in the demo extra
        print("matplotlib is not installed: skipping the sample grid (pip install genaug[demo])")
    else:
        labels = np.repeat(np.arange(10), 10)
        grid = sample_grid(
            vae.sample(len(labels), y=labels, seed=seed),
            labels,
            Path(out_dir) / "digits.png",
            title="genaug conditional VAE: generated digits per class",
        )
        print(f"generated digits per class: {grid}")
    print(f"demo finished in {time.perf_counter() - started:.0f} s")
    return figures
