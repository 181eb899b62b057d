"""genaug's VAE against a plain-PyTorch VAE doing the same work, side by side in one run.

Both train the same conditional MLP VAE (64 -> 256 -> 256 -> 2x8 latent, mirrored decoder,
Bernoulli reconstruction less the target entropy, Adam 1e-3, batch 64) for the same number
of epochs on scikit-learn's digits, on one CPU thread, and then draw 10,000 samples.
Reported as the ratio genaug / PyTorch (below 1: genaug is faster).
Run: ``python benchmarks/vae_training.py [--epochs N] [--repeats R]``.
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
from torch import nn  # noqa: E402

LATENT, HIDDEN, BATCH = 8, 256, 64


class TorchVAE(nn.Module):
    def __init__(self, width: int, classes: int) -> None:
        super().__init__()
        self.enc = nn.Sequential(
            nn.Linear(width + classes, HIDDEN), nn.ReLU(),
            nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
            nn.Linear(HIDDEN, 2 * LATENT),
        )  # fmt: skip
        self.dec = nn.Sequential(
            nn.Linear(LATENT + classes, HIDDEN), nn.ReLU(),
            nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
            nn.Linear(HIDDEN, width),
        )  # fmt: skip

    def loss(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        mean, logvar = self.enc(torch.cat([x, c], 1)).chunk(2, 1)
        logvar = logvar.clamp(-12, 12)
        z = mean + (0.5 * logvar).exp() * torch.randn_like(mean)
        logits = self.dec(torch.cat([z, c], 1))
        bce = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
        recon = (bce + torch.xlogy(x, x) + torch.xlogy(1 - x, 1 - x)).sum(1)
        kl = -0.5 * (1 + logvar - mean.square() - logvar.exp()).sum(1)
        return (recon + kl).mean()


def torch_run(x: np.ndarray, y: np.ndarray, epochs: int) -> float:
    started = time.perf_counter()
    lo, hi = x.min(0), x.max(0)
    data = torch.tensor((x - lo) / np.maximum(hi - lo, 1e-12), dtype=torch.float32)
    onehot = nn.functional.one_hot(torch.tensor(y), 10).float()
    model = TorchVAE(x.shape[1], 10)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        order = torch.randperm(len(data))
        for start in range(0, len(data), BATCH):
            idx = order[start : start + BATCH]
            loss = model.loss(data[idx], onehot[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        labels = torch.arange(10).repeat(1000)
        z = torch.randn(len(labels), LATENT)
        out = model.dec(torch.cat([z, nn.functional.one_hot(labels, 10).float()], 1))
        _ = out.sigmoid().numpy() * (hi - lo) + lo
    return time.perf_counter() - started


def genaug_run(x: np.ndarray, y: np.ndarray, epochs: int) -> float:
    started = time.perf_counter()
    vae = genaug.VAE(latent_dim=LATENT, hidden=(HIDDEN, HIDDEN), seed=0)
    vae.fit(x, y, epochs=epochs, batch_size=BATCH, progress=False)
    _ = vae.sample(10_000, y=np.tile(np.arange(10), 1000))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = load_digits(return_X_y=True)
    timings: dict[str, list[float]] = {"genaug": [], "pytorch": []}
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        timings["pytorch"].append(torch_run(x, y, args.epochs))
        timings["genaug"].append(genaug_run(x, y, args.epochs))
    best = {name: min(values) for name, values in timings.items()}
    print(f"digits conditional VAE, {args.epochs} epochs + 10,000 samples, 1 thread")
    print(f"  plain PyTorch: {best['pytorch']:.2f} s   genaug: {best['genaug']:.2f} s")
    print(f"  ratio genaug / PyTorch: {best['genaug'] / best['pytorch']:.2f}")


if __name__ == "__main__":
    main()
