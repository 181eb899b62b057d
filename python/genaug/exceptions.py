"""The exceptions genaug raises. Each is a ``GenaugError`` and also the builtin exception a
Python user would catch for that kind of problem."""

from __future__ import annotations

__all__ = [
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
]


class GenaugError(Exception):
    """Base class of every error genaug raises."""


class ShapeError(GenaugError, ValueError):
    """Data of the wrong rank, an empty array, or samples whose shape differs from training."""


class DataError(GenaugError, ValueError):
    """NaN or Inf values, or a dtype that is not real or integer."""


class LabelError(GenaugError, ValueError):
    """Labels of the wrong length or type, or a class the model does not know."""


class ParameterError(GenaugError, ValueError):
    """An argument outside its domain, such as ``n < 0`` or an unknown ``arch``."""


class NotFittedError(GenaugError, ValueError, AttributeError):
    """The model was used before ``fit`` (as scikit-learn's ``NotFittedError``)."""


class CheckpointError(GenaugError, ValueError):
    """A checkpoint file that is missing, truncated, corrupt, or not genaug's."""


class TrainingDivergedError(GenaugError, RuntimeError):
    """A loss became NaN or Inf; the model keeps the weights of its last finite epoch."""


class DeviceError(GenaugError, RuntimeError):
    """The requested device is not available."""


class ModelBusyError(GenaugError, RuntimeError):
    """The model was used from inside its own ``fit`` (a callback), which would wait forever."""


class SizeError(GenaugError, MemoryError):
    """A request whose result cannot fit in memory (or whose size overflows), refused before
    anything is allocated."""


class TrainingWarning(UserWarning):
    """Training went wrong without failing: a GAN's generator collapsed onto a few modes, or a
    VAE's posterior collapsed onto the prior. Issued by ``fit`` at most once per call."""


class DataWarning(UserWarning):
    """Training data that fits but will train poorly, such as a discrete column with a distinct
    value in almost every row (an identifier). Issued by ``fit``."""
