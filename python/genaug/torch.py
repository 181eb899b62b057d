"""PyTorch helpers: augment every batch a ``DataLoader`` yields with a fitted genaug model.

``AugmentCollate`` is a ``collate_fn``. It pickles through the model's safetensors bytes, so it
works in ``DataLoader`` worker processes whatever their start method.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import default_collate

from genaug._core import GAN, VAE
from genaug.exceptions import ParameterError

__all__ = ["AugmentCollate"]

# Seeds for genaug come from torch's generator, which DataLoader seeds differently per worker.
_SEED_LIMIT = 2**62


class AugmentCollate:
    """Collates a batch as ``collate_fn`` (default: PyTorch's ``default_collate``) does, then
    extends it with generated rows.

    - A batch that collates to one tensor ``x``, or to ``[x]`` (as a ``TensorDataset(x)``
      does), for an unconditional model: ``x`` followed by ``n`` generated rows, in the same
      structure.
    - A batch that collates to ``(x, y)`` (a conditional model): ``(x_aug, y_aug)`` from
      ``model.augment(x, n, labels=y, strategy=strategy)``, that is ``n`` rows shared among the
      batch's classes in proportion, or the classes topped up by ``strategy`` ("balance", the
      default when ``n`` is None, or ``{class: final_count}``).

    Returned tensors keep the batch's dtypes. Each call draws its seed from torch's generator,
    so the rows differ between workers and epochs yet repeat under ``torch.manual_seed`` (and a
    ``DataLoader(generator=...)``).
    """

    def __init__(
        self,
        model: VAE | GAN,
        n: int | None = None,
        *,
        strategy: Literal["balance"] | Mapping[int, int] | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        if not model.is_fitted:
            raise ParameterError("AugmentCollate needs a fitted model")
        self.model = model
        self.n = n
        self.strategy = strategy
        self.collate_fn = collate_fn or default_collate

    def __call__(self, items: list[Any]) -> Any:
        batch = self.collate_fn(items)
        seed = int(torch.randint(_SEED_LIMIT, ()).item())
        if isinstance(batch, torch.Tensor):
            return self._extend(batch, seed)
        if isinstance(batch, Sequence) and len(batch) == 1 and isinstance(batch[0], torch.Tensor):
            return [self._extend(batch[0], seed)]
        if isinstance(batch, Sequence) and len(batch) == 2:
            x, y = batch
            if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
                raise ParameterError("AugmentCollate expects batches of tensors (x, y)")
            x_aug, y_aug = self.model.augment(
                _numpy(x), self.n, seed, labels=_numpy(y), strategy=self.strategy
            )
            return torch.as_tensor(x_aug, dtype=x.dtype), torch.as_tensor(y_aug, dtype=y.dtype)
        raise ParameterError(
            f"AugmentCollate expects batches that collate to x or (x, y), got {type(batch)}"
        )

    def _extend(self, x: torch.Tensor, seed: int) -> torch.Tensor:
        if self.model.classes_ is not None:
            raise ParameterError("this model is conditional: the dataset must yield (x, y) pairs")
        if self.n is None:
            raise ParameterError("AugmentCollate(model, n) needs n for an unconditional model")
        return torch.as_tensor(self.model.augment(_numpy(x), self.n, seed), dtype=x.dtype)


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()
