"""genaug's conditional GANs on digits, and a plain-PyTorch GAN doing the same work, in one run.

All three train a conditional MLP GAN (latent 32, generator 32+10 -> 256 -> 256 -> 64 with ReLU
and tanh, discriminator 2x64+10 -> 256 -> 256 -> 1 with LeakyReLU 0.2, each row beside its
batch's means) for the same epochs with batch 64 on the 70% training split of scikit-learn's
digits (stratified, random_state=0), on one CPU thread:

- genaug, ``loss="bce"`` (Adam 2e-4, betas (0.5, 0.999));
- genaug, ``loss="wgan-gp"`` (5 critic steps per generator step, lambda 10, Adam 1e-4,
  betas (0.0, 0.9));
- plain PyTorch with the BCE loss and the same optimiser as genaug's ``"bce"``.

Each then generates as many digits per class as the training split holds, and a logistic
regression (max_iter=2000, pixels divided by 16) trained on those alone is scored on the real
test split ("train on synthetic, test on real"). Reported: that accuracy, the training time,
the last epoch's diversity figure, and the time ratio genaug / PyTorch for the BCE GAN.
Run: ``python benchmarks/gan_digits.py [--epochs N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import genaug  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from torch import nn  # noqa: E402

LATENT, HIDDEN, BATCH = 32, 256, 64


def tstr(x_synth: np.ndarray, y_synth: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> float:
    clf = LogisticRegression(max_iter=2000).fit(x_synth / 16.0, y_synth)
    return float(clf.score(x_test / 16.0, y_test))


def torch_run(x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> tuple[float, np.ndarray]:
    """The plain-PyTorch conditional BCE GAN; returns seconds and samples for sorted(y)."""
    torch.manual_seed(seed)
    started = time.perf_counter()
    lo, hi = x.min(0), x.max(0)
    span = np.maximum(hi - lo, 1e-12)
    data = torch.tensor((x - lo) / span * 2 - 1, dtype=torch.float32)
    onehot = nn.functional.one_hot(torch.tensor(y), 10).float()
    width = x.shape[1]
    gen = nn.Sequential(
        nn.Linear(LATENT + 10, HIDDEN), nn.ReLU(),
        nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
        nn.Linear(HIDDEN, width), nn.Tanh(),
    )  # fmt: skip
    disc_net = nn.Sequential(
        nn.Linear(2 * width + 10, HIDDEN), nn.LeakyReLU(0.2),
        nn.Linear(HIDDEN, HIDDEN), nn.LeakyReLU(0.2),
        nn.Linear(HIDDEN, 1),
    )  # fmt: skip

    def disc(rows_and_classes: torch.Tensor) -> torch.Tensor:
        rows, c = rows_and_classes[:, :width], rows_and_classes[:, width:]
        return disc_net(torch.cat([rows, rows.mean(0, keepdim=True).expand_as(rows), c], 1))

    opt_g = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc_net.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.functional.binary_cross_entropy_with_logits
    for _ in range(epochs):
        order = torch.randperm(len(data))
        for start in range(0, len(data), BATCH):
            idx = order[start : start + BATCH]
            real, c = data[idx], onehot[idx]
            fake = gen(torch.cat([torch.randn(len(idx), LATENT), c], 1))
            real_out = disc(torch.cat([real, c], 1))
            fake_out = disc(torch.cat([fake.detach(), c], 1))
            d_loss = bce(real_out, torch.ones_like(real_out)) + bce(
                fake_out, torch.zeros_like(fake_out)
            )
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            out = disc(torch.cat([fake, c], 1))
            g_loss = bce(out, torch.ones_like(out))
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
    seconds = time.perf_counter() - started
    with torch.no_grad():
        labels = torch.tensor(np.sort(y))
        z = torch.randn(len(labels), LATENT)
        out = gen(torch.cat([z, nn.functional.one_hot(labels, 10).float()], 1))
        samples = ((out.numpy() + 1) / 2 * span + lo).round()
    return seconds, samples


def genaug_run(
    x: np.ndarray, y: np.ndarray, epochs: int, seed: int, loss: str
) -> tuple[float, np.ndarray, float]:
    """genaug's conditional GAN; returns seconds, samples for sorted(y), and the last diversity."""
    started = time.perf_counter()
    gan = genaug.GAN(latent_dim=LATENT, hidden=(HIDDEN, HIDDEN), loss=loss, seed=seed)
    gan.fit(x, y, epochs=epochs, batch_size=BATCH, progress=False)
    seconds = time.perf_counter() - started
    return seconds, gan.sample(len(y), y=np.sort(y)), gan.history[-1]["diversity"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=0
    )
    y_sorted = np.sort(y_train)
    print(f"digits conditional MLP GANs, {args.epochs} epochs, batch {BATCH}, 1 thread")
    real = LogisticRegression(max_iter=2000).fit(x_train / 16.0, y_train)
    print(f"  trained on real data:         accuracy {real.score(x_test / 16.0, y_test):.3f}")
    seconds = {}
    for loss in ("bce", "wgan-gp"):
        took, samples, diversity = genaug_run(x_train, y_train, args.epochs, args.seed, loss)
        seconds[loss] = took
        accuracy = tstr(samples, y_sorted, x_test, y_test)
        print(
            f"  genaug GAN {loss:8s} synthetic: accuracy {accuracy:.3f}  "
            f"{took:5.1f} s  diversity {diversity:.2f}"
        )
    took, samples = torch_run(x_train, y_train, args.epochs, args.seed)
    accuracy = tstr(samples, y_sorted, x_test, y_test)
    print(f"  PyTorch GAN bce      synthetic: accuracy {accuracy:.3f}  {took:5.1f} s")
    print(f"  time ratio genaug / PyTorch (bce): {seconds['bce'] / took:.2f}")


if __name__ == "__main__":
    main()
