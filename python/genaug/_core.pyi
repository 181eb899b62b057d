from collections.abc import Callable, Iterable, Mapping
from os import PathLike
from typing import Any, Literal, Self, final, overload

import numpy as np
import numpy.typing as npt

__all__ = [
    "GAN",
    "VAE",
    "_after_fork",
    "_after_fork_in_child",
    "_before_fork",
    "_metric",
    "cuda_is_available",
    "from_bytes",
    "load",
]

_Count = int | np.integer[Any]

_Callback = Callable[[dict[str, float]], object]

# Rows: a NumPy array, or a pandas DataFrame for a model fitted on one (pandas is optional).
_Rows = Any
# A class: an integer label, or a value of a DataFrame's label column.
_Label = Any

@final
class GAN:
    def __new__(
        cls,
        latent_dim: int | None = ...,  # 64
        hidden: Iterable[int] | None = None,  # None: (256, 256); (128, 128) for bce, narrow rows
        loss: Literal["bce", "wgan-gp"] = "bce",
        arch: Literal["auto", "mlp", "conv"] = "auto",
        device: str = "auto",
        seed: int | None = ...,  # 0
        *,
        n_critic: int | None = ...,
        gp_lambda: float = 10.0,
        lr: float | None = None,
        betas: tuple[float, float] | None = None,
    ) -> GAN: ...
    def fit(
        self,
        x: npt.ArrayLike,
        y: npt.ArrayLike | str | None = None,
        *,
        epochs: int | None = None,  # None: the budget (see fit_params_)
        batch_size: int | None = None,  # None: 64
        lr: float | None = None,
        callbacks: _Callback | Iterable[_Callback] | None = None,
        progress: bool | None = None,
        validation: float
        | tuple[npt.ArrayLike, npt.ArrayLike | None]
        | npt.ArrayLike
        | None = None,
        patience: int | None = None,
        resume: bool = False,
        discrete_columns: Iterable[int] | None = None,
        missing: Literal["error", "model"] = "error",
        transform: Literal["auto", "minmax", "quantile"] = "auto",
    ) -> GAN: ...
    def sample(
        self, n: _Count, y: _Label | npt.ArrayLike | None = None, seed: int | None = None
    ) -> _Rows: ...
    @overload
    def augment(
        self,
        batch: npt.ArrayLike,
        n: _Count,
        seed: int | None = None,
        *,
        labels: None = None,
        strategy: None = None,
    ) -> _Rows: ...
    @overload
    def augment(
        self,
        batch: npt.ArrayLike,
        n: _Count | None = None,
        seed: int | None = None,
        *,
        labels: npt.ArrayLike,
        strategy: Literal["balance"] | Mapping[int, int] | None = None,
    ) -> tuple[_Rows, np.ndarray]: ...
    @overload
    def augment(
        self,
        batch: _Rows,
        n: None = None,
        seed: int | None = None,
        *,
        labels: None = None,
        strategy: Literal["balance"] | Mapping[_Label, int] | None = None,
    ) -> _Rows: ...
    def evaluate(
        self,
        x: npt.ArrayLike | Any,
        n: _Count | None = None,
        *,
        y: npt.ArrayLike | None = None,
        seed: int | None = None,  # None: 0
        train: npt.ArrayLike | Any = None,
        k: int = 5,
    ) -> dict[str, float]: ...
    def save(self, path: str | PathLike[str], *, include_optimizer: bool = True) -> None: ...
    def to_bytes(self, *, include_optimizer: bool = True) -> bytes: ...
    @property
    def history(self) -> list[dict[str, Any]]: ...
    @property
    def fit_params_(self) -> dict[str, Any]: ...
    @property
    def classes_(self) -> list[_Label] | None: ...
    @property
    def is_fitted(self) -> bool: ...
    @property
    def device(self) -> str: ...
    def get_params(self, deep: bool = True) -> dict[str, Any]: ...
    def set_params(self, **params: Any) -> Self: ...
    def to(self, device: str) -> Self: ...
    def _repr_html_(self) -> str: ...
    @property
    def n_features_in_(self) -> int: ...
    @property
    def feature_names_in_(self) -> np.ndarray: ...
    @property
    def sample_shape_(self) -> tuple[int, ...]: ...
    @property
    def dtype_(self) -> str: ...
    @property
    def arch_(self) -> Literal["mlp", "conv"]: ...
    @property
    def layers_(self) -> list[list[int]]: ...
    @property
    def latent_dim(self) -> int: ...
    @property
    def loss(self) -> str: ...

@final
class VAE:
    def __new__(
        cls,
        latent_dim: int | None = ...,  # 8
        hidden: Iterable[int] | None = None,  # None: (256, 256); (128, 128) tables, narrow rows
        beta: float = 1.0,
        arch: Literal["auto", "mlp", "conv"] = "auto",
        device: str = "auto",
        seed: int | None = ...,  # 0
        *,
        free_bits: float | None = None,  # None: 1.5; 0 for tables
        contamination: float = ...,  # 0.1
    ) -> VAE: ...
    def fit(
        self,
        x: npt.ArrayLike,
        y: npt.ArrayLike | str | None = None,
        *,
        epochs: int | None = None,  # None: the budget (see fit_params_)
        batch_size: int | None = None,  # None: 64; 512 for tables
        lr: float | None = None,
        callbacks: _Callback | Iterable[_Callback] | None = None,
        progress: bool | None = None,
        validation: float
        | tuple[npt.ArrayLike, npt.ArrayLike | None]
        | npt.ArrayLike
        | None = None,
        patience: int | None = None,
        resume: bool = False,
        discrete_columns: Iterable[int] | None = None,
        missing: Literal["error", "model"] = "error",
        transform: Literal["auto", "minmax", "quantile"] = "auto",
    ) -> VAE: ...
    def sample(
        self, n: _Count, y: _Label | npt.ArrayLike | None = None, seed: int | None = None
    ) -> _Rows: ...
    @overload
    def augment(
        self,
        batch: npt.ArrayLike,
        n: _Count,
        seed: int | None = None,
        *,
        labels: None = None,
        strategy: None = None,
    ) -> _Rows: ...
    @overload
    def augment(
        self,
        batch: npt.ArrayLike,
        n: _Count | None = None,
        seed: int | None = None,
        *,
        labels: npt.ArrayLike,
        strategy: Literal["balance"] | Mapping[int, int] | None = None,
    ) -> tuple[_Rows, np.ndarray]: ...
    @overload
    def augment(
        self,
        batch: _Rows,
        n: None = None,
        seed: int | None = None,
        *,
        labels: None = None,
        strategy: Literal["balance"] | Mapping[_Label, int] | None = None,
    ) -> _Rows: ...
    def encode(
        self, x: npt.ArrayLike, y: npt.ArrayLike | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...
    def decode(self, z: npt.ArrayLike, y: npt.ArrayLike | None = None) -> _Rows: ...
    def reconstruct(self, x: npt.ArrayLike, y: npt.ArrayLike | None = None) -> _Rows: ...
    def score(self, x: npt.ArrayLike, y: npt.ArrayLike | None = None) -> np.ndarray: ...
    def score_samples(
        self,
        x: npt.ArrayLike,
        y: npt.ArrayLike | None = None,
        *,
        k: int = ...,  # 50
    ) -> np.ndarray: ...
    def decision_function(
        self,
        x: npt.ArrayLike,
        y: npt.ArrayLike | None = None,
        *,
        k: int = ...,  # 50
    ) -> np.ndarray: ...
    def predict(
        self,
        x: npt.ArrayLike,
        y: npt.ArrayLike | None = None,
        *,
        k: int = ...,  # 50
    ) -> np.ndarray: ...
    @property
    def offset_(self) -> float: ...
    def impute(
        self,
        x: npt.ArrayLike | Any,
        y: npt.ArrayLike | None = None,
        *,
        n_draws: int | None = None,
        seed: int | None = None,  # None: 0
    ) -> Any: ...
    def evaluate(
        self,
        x: npt.ArrayLike | Any,
        n: _Count | None = None,
        *,
        y: npt.ArrayLike | None = None,
        seed: int | None = None,  # None: 0
        train: npt.ArrayLike | Any = None,
        k: int = 5,
    ) -> dict[str, float]: ...
    def save(self, path: str | PathLike[str], *, include_optimizer: bool = True) -> None: ...
    def to_bytes(self, *, include_optimizer: bool = True) -> bytes: ...
    @property
    def history(self) -> list[dict[str, Any]]: ...
    @property
    def fit_params_(self) -> dict[str, Any]: ...
    @property
    def classes_(self) -> list[_Label] | None: ...
    @property
    def is_fitted(self) -> bool: ...
    @property
    def device(self) -> str: ...
    def get_params(self, deep: bool = True) -> dict[str, Any]: ...
    def set_params(self, **params: Any) -> Self: ...
    def to(self, device: str) -> Self: ...
    def _repr_html_(self) -> str: ...
    @property
    def n_features_in_(self) -> int: ...
    @property
    def feature_names_in_(self) -> np.ndarray: ...
    @property
    def sample_shape_(self) -> tuple[int, ...]: ...
    @property
    def dtype_(self) -> str: ...
    @property
    def arch_(self) -> Literal["mlp", "conv"]: ...
    @property
    def layers_(self) -> list[list[int]]: ...
    @property
    def latent_dim(self) -> int: ...

def load(path: str | PathLike[str], device: str = "cpu") -> GAN | VAE: ...
def from_bytes(data: bytes | bytearray | memoryview, device: str = "cpu") -> GAN | VAE: ...
def cuda_is_available() -> bool: ...
def _metric(
    which: str,
    real: np.ndarray,
    generated: np.ndarray,
    train: np.ndarray | None,
    discrete: list[bool],
    names: list[str],
    standardize: bool,
    k: int,
    bandwidth: float | None,
) -> Any: ...
def _before_fork() -> None: ...
def _after_fork() -> None: ...
def _after_fork_in_child(torch_started_cuda: bool) -> None: ...
