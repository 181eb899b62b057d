"""genaug: generative data augmentation (VAEs and GANs in Rust over libtorch) for NumPy
pipelines."""

from __future__ import annotations

import copyreg
import os
from collections.abc import Callable
from typing import Any

# Importing torch first loads the one shared libtorch with its CUDA kernels registered; the
# native module then links against that same library.
import torch as _torch  # noqa: F401

from genaug import metrics
from genaug._core import (
    GAN,
    VAE,
    _after_fork,
    _after_fork_in_child,
    _before_fork,
    cuda_is_available,
    from_bytes,
    load,
)
from genaug.exceptions import (
    CheckpointError,
    DataError,
    DataWarning,
    DeviceError,
    GenaugError,
    LabelError,
    ModelBusyError,
    NotFittedError,
    ParameterError,
    ShapeError,
    SizeError,
    TrainingDivergedError,
    TrainingWarning,
)

__version__ = "0.1.0"

__all__ = [
    "GAN",
    "VAE",
    "CheckpointError",
    "DataError",
    "DataWarning",
    "DeviceError",
    "GenaugError",
    "LabelError",
    "ModelBusyError",
    "NotFittedError",
    "ParameterError",
    "ShapeError",
    "SizeError",
    "TrainingDivergedError",
    "TrainingWarning",
    "cuda_is_available",
    "from_bytes",
    "load",
    "metrics",
]


def _unfitted(cls: type[GAN | VAE], params: dict[str, Any]) -> GAN | VAE:
    return cls(**params)


def _restore(data: bytes, device: str) -> GAN | VAE:
    # A model pickled on a GPU comes back on that GPU when this process has it, else on the CPU.
    try:
        return from_bytes(data, device)
    except DeviceError:
        return from_bytes(data, "cpu")


def _reduce(model: GAN | VAE) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    # Fitted models pickle as their safetensors checkpoint bytes and device: no code is pickled.
    # An unfitted one is its parameters as given (device="auto" stays "auto" in another process).
    if not model.is_fitted:
        return _unfitted, (type(model), model.get_params())
    return _restore, (model.to_bytes(), model.device)


def _in_child() -> None:
    # A child forked after CUDA started cannot use it: genaug refuses a GPU there, by name.
    bad_fork = getattr(_torch.cuda, "_is_in_bad_fork", lambda: False)
    _after_fork_in_child(bool(bad_fork()))


# A child forked while another thread was inside a model's status lock would inherit it held.
os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_in_child)

copyreg.pickle(GAN, _reduce)
copyreg.pickle(VAE, _reduce)
