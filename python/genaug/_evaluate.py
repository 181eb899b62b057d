"""``model.evaluate``: the metrics report of real rows against rows the model generates for
them."""

from __future__ import annotations

from typing import Any

import numpy as np

from genaug import _checks, _frame
from genaug.exceptions import LabelError
from genaug.metrics import report


def _real_labels(model: Any, real: Any, y: Any) -> np.ndarray:
    """The classes of the real rows: ``y``, or the label column of a DataFrame (the column that
    is not one of the model's features)."""
    if y is not None:
        labels = np.asarray(y)
    elif _frame.is_frame(real) and _checks.fitted_on_frame(model):
        features = {str(name) for name in model.feature_names_in_}
        extra = [c for c in real.columns if str(c) not in features]
        if len(extra) != 1:
            raise LabelError(
                f"this conditional {type(model).__name__} needs the real rows' labels: x has no "
                f"single label column besides its features (extra columns: {extra}); pass y="
            )
        labels = real[extra[0]].to_numpy()
    else:
        raise LabelError(
            f"this conditional {type(model).__name__} draws each class as often as the real "
            "rows have it: pass their labels, evaluate(x, y=labels)"
        )
    if labels.ndim != 1 or len(labels) != len(real):
        raise LabelError(f"y has shape {labels.shape}; x has {len(real)} rows")
    return labels


def evaluate(
    model: Any, real: Any, n: Any, y: Any, seed: Any, train: Any, k: int
) -> dict[str, float]:
    """``report(real, generated, train, k=k)`` with ``n`` generated rows (as many as ``real``
    by default), drawn with ``seed`` (0 by default, so that evaluations repeat)."""
    count = len(real) if n is None else n
    seed = 0 if seed is None else seed
    if model.classes_ is None:
        generated = model.sample(count, seed=seed)
    else:
        labels = _real_labels(model, real, y)
        # The real rows' classes in their proportions, cycled to `count` rows.
        picks = labels[np.arange(int(count)) % len(labels)] if len(labels) else labels
        generated = model.sample(count, y=picks, seed=seed)
    return report(real, generated, train, k=k)
