"""genaug's conditional DCGAN on digits upscaled to 32x32 uint8 images.

Fits ``genaug.GAN(loss=..., seed=0)``, every other argument at its default, with labels on the
70% training split of scikit-learn's digits (stratified, random_state=0), each 8x8 image
upscaled 4x to 32x32 and stored as uint8 0..255, on one CPU thread. It then generates as many
images per class as the split holds, mean-pools them back to 8x8, and scores a logistic
regression (max_iter=2000, pixels in 0..1) trained on those alone on the real test split.
Reported: that accuracy, the output's shape, dtype and range, the training time, and the
diversity figure over the epochs.
Run: ``python benchmarks/dcgan_digits.py [--loss bce|wgan-gp] [--epochs N]`` (no ``--epochs``:
the default training budget).
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loss", choices=["bce", "wgan-gp"], default="bce")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=0
    )
    images = np.kron(x_train.reshape(-1, 8, 8), np.ones((4, 4))) * (255 / 16)
    images = images.round().astype(np.uint8)
    started = time.perf_counter()
    gan = genaug.GAN(loss=args.loss, seed=0)
    gan.fit(images, y_train, epochs=args.epochs, progress=False)
    seconds = time.perf_counter() - started
    labels = np.sort(y_train)
    samples = gan.sample(len(labels), y=labels)
    pooled = samples.reshape(-1, 8, 4, 8, 4).mean(axis=(2, 4)).reshape(-1, 64) / 255
    clf = LogisticRegression(max_iter=2000).fit(pooled, labels)
    print(f"digits as 32x32 uint8 images, conditional DCGAN, loss={args.loss}, 1 thread")
    print(f"  samples: {samples.shape} {samples.dtype} in {samples.min()}..{samples.max()}")
    print(f"  train on synthetic, test on real: accuracy {clf.score(x_test / 16, y_test):.3f}")
    print(f"  {gan.fit_params_['epochs']} epochs in {seconds:.0f} s")
    diversity = [f"{stats['diversity']:.2f}" for stats in gan.history[::10]]
    print(f"  diversity every 10th epoch: {' '.join(diversity)}")


if __name__ == "__main__":
    main()
