"""Pictures of generated data (needs matplotlib: ``pip install genaug[demo]``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt


def sample_grid(
    images: np.ndarray,
    labels: npt.ArrayLike,
    path: str | Path,
    *,
    per_class: int = 10,
    title: str | None = None,
) -> Path:
    """Writes a PNG with one row of ``per_class`` images for each class in ``labels``.

    ``images`` is ``(N, H, W)``, ``(N, 1, H, W)`` or ``(N, H*W)`` with a square ``H*W``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 2:
        side = int(round(images.shape[1] ** 0.5))
        images = images.reshape(len(images), side, side)
    elif images.ndim == 4:
        images = images[:, 0]
    labels = np.asarray(labels)
    classes = np.unique(labels)
    fig, axes = plt.subplots(
        len(classes), per_class, figsize=(per_class * 0.8, len(classes) * 0.8), squeeze=False
    )
    for row, cls in zip(axes, classes, strict=True):
        picks = images[labels == cls][:per_class]
        for col, ax in enumerate(row):
            ax.axis("off")
            if col < len(picks):
                ax.imshow(picks[col], cmap="gray_r", interpolation="nearest")
        row[0].set_title(str(cls), loc="left", fontsize=8)
    if title:
        fig.suptitle(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
