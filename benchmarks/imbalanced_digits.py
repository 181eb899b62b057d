"""The demo's imbalanced setting with genaug and with a plain-PyTorch conditional VAE, side by
side in one run, on the same cuts.

Digits, split 70/30 (stratified, random_state=0); classes 0-4 of the training split cut down to
8 images each, on several random cuts (the demo's); each cut balanced by:
  - a plain-PyTorch conditional VAE written the textbook way (MLP 256-256, latent 8, pixels / 16,
    summed Bernoulli cross-entropy + KL, Adam 1e-3, 300 epochs, batch 64, prior samples);
  - genaug's VAE of the same networks with the plain ELBO (beta 1);
  - genaug's VAE at beta 0.5, as the demo fitted it before it moved to the defaults;
  - imbalanced-learn's SMOTE, when installed.
Reports the mean balanced accuracy of the demo's logistic regression over the cuts, and the
training time ratio genaug / PyTorch for the same model (beta 1).
Run: ``python benchmarks/imbalanced_digits.py [--cuts N]``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import genaug  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from genaug._demo import (  # noqa: E402
    PIXEL_MAX,
    classifier_score,
    cut_down,
    smote_or_none,
)
from run import HIDDEN as TORCH_HIDDEN  # noqa: E402
from run import VAE_LATENT as TORCH_LATENT  # noqa: E402
from run import TorchVAE  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from torch.nn import functional as F  # noqa: E402

# The settings the demo used before it moved to the defaults, which this comparison keeps so
# that both sides train the same model.
LATENT_DIM, HIDDEN, EPOCHS, BATCH_SIZE, FEW_SHOT_BETA = 8, (256, 256), 300, 64, 0.5

# The reference below reuses the speed benchmark's networks; they must be these sizes.
assert (TORCH_LATENT, (TORCH_HIDDEN, TORCH_HIDDEN)) == (LATENT_DIM, HIDDEN)


def torch_balance(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    torch.manual_seed(seed)
    classes = 10
    data = torch.tensor(x / PIXEL_MAX, dtype=torch.float32)
    onehot = F.one_hot(torch.tensor(y), classes).float()
    # The networks of the speed benchmark's plain-PyTorch VAE.
    model = TorchVAE(x.shape[1], classes)
    enc, dec = model.enc, model.dec
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(EPOCHS):
        order = torch.randperm(len(data))
        for start in range(0, len(data), BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            xb, cb = data[idx], onehot[idx]
            mean, logvar = enc(torch.cat([xb, cb], 1)).chunk(2, 1)
            z = mean + (0.5 * logvar).exp() * torch.randn_like(mean)
            logits = dec(torch.cat([z, cb], 1))
            recon = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum")
            kl = -0.5 * (1 + logvar - mean.square() - logvar.exp()).sum()
            opt.zero_grad()
            (recon + kl).backward()
            opt.step()
    counts = np.bincount(y, minlength=classes)
    labels = np.repeat(np.arange(classes), counts.max() - counts)
    with torch.no_grad():
        z = torch.randn(len(labels), LATENT_DIM)
        out = dec(torch.cat([z, F.one_hot(torch.tensor(labels), classes).float()], 1))
    generated = out.sigmoid().numpy() * PIXEL_MAX
    return np.concatenate([x, generated]), np.concatenate([y, labels])


def genaug_balance(
    x: np.ndarray, y: np.ndarray, seed: int, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    vae = genaug.VAE(latent_dim=LATENT_DIM, hidden=HIDDEN, beta=beta, seed=seed)
    vae.fit(x, y, epochs=EPOCHS, batch_size=BATCH_SIZE, progress=False)
    return vae.augment(x, labels=y, strategy="balance")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cuts", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=0
    )
    methods = {
        "imbalanced (no balancing)": lambda xi, yi, s: (xi, yi),
        "plain PyTorch cVAE, beta 1": torch_balance,
        "genaug VAE, beta 1": lambda xi, yi, s: genaug_balance(xi, yi, s, 1.0),
        f"genaug VAE, beta {FEW_SHOT_BETA:g} (demo)": lambda xi, yi, s: genaug_balance(
            xi, yi, s, FEW_SHOT_BETA
        ),
    }
    smote = smote_or_none()
    if smote is not None:
        methods["SMOTE (imbalanced-learn)"] = lambda xi, yi, s: smote.fit_resample(xi, yi)
    scores: dict[str, list[float]] = {name: [] for name in methods}
    seconds: dict[str, float] = {name: 0.0 for name in methods}
    for cut in range(args.cuts):
        x_imb, y_imb = cut_down(x_train, y_train, cut)
        for name, balance in methods.items():
            started = time.perf_counter()
            x_bal, y_bal = balance(x_imb, y_imb, cut)
            seconds[name] += time.perf_counter() - started
            scores[name].append(classifier_score(x_bal, y_bal, x_test, y_test)[1])
    print(f"digits, classes 0-4 cut to 8 images, {args.cuts} cuts, 1 thread: balanced accuracy")
    for name, values in scores.items():
        per_cut = " ".join(f"{v:.3f}" for v in values)
        print(f"  {name:32s} mean {np.mean(values):.3f}  ({per_cut})  {seconds[name]:6.1f} s")
    ratio = seconds["genaug VAE, beta 1"] / seconds["plain PyTorch cVAE, beta 1"]
    print(f"  time ratio genaug / PyTorch (beta 1, fit + balance): {ratio:.2f}")


if __name__ == "__main__":
    main()
