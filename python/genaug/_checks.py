"""Checks of arguments shared by the parallel helpers (``genaug.chunks``, ``genaug.ray``)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from genaug._core import GAN, VAE
from genaug.exceptions import NotFittedError, ParameterError


def is_count(value: Any) -> bool:
    """An integer (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def fitted(model: Any) -> GAN | VAE:
    """``model`` itself, if it is a fitted genaug model."""
    if not isinstance(model, GAN | VAE):
        raise ParameterError(f"model must be a genaug GAN or VAE, got {type(model).__name__}")
    if not model.is_fitted:
        raise NotFittedError(f"this {type(model).__name__} is not fitted yet: call fit first")
    return model


def fitted_on_frame(model: GAN | VAE) -> bool:
    """Whether a fitted ``model`` was fitted on a DataFrame (it then has feature names)."""
    return hasattr(model, "feature_names_in_")


def seed(value: Any) -> int:
    if not is_count(value) or not 0 <= int(value) < 2**63:
        raise ParameterError(f"seed must be an integer in [0, 2**63), got {value!r}")
    return int(value)
