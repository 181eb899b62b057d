"""scikit-learn estimators over genaug's models (scikit-learn itself is needed only here).

``VAEImputer`` is a transformer: ``fit`` trains a VAE on rows with missing values, ``transform``
fills every NaN entry with the model's expected value given the row's observed values (see
``VAE.impute``). It works in a ``Pipeline``, with ``clone`` and with ``GridSearchCV``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from genaug._core import VAE
from genaug.exceptions import DataError, ShapeError

__all__ = ["VAEImputer"]


class VAEImputer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Fills missing values with a variational autoencoder.

    Parameters are ``genaug.VAE``'s and ``VAE.fit``'s. ``hidden`` defaults to (512, 512): on
    scikit-learn's digits with 20% of pixels missing, wider layers than the VAE's default
    impute closer to the truth (``benchmarks/imputation.py``).

    Attributes: ``model_`` (the fitted ``genaug.VAE``), ``n_features_in_``.
    """

    def __init__(
        self,
        latent_dim: int | None = None,
        hidden: tuple[int, ...] | None = (512, 512),
        beta: float = 1.0,
        epochs: int | None = None,
        batch_size: int | None = None,
        device: str = "auto",
        seed: int = 0,
        progress: bool = False,
    ) -> None:
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.beta = beta
        self.epochs = epochs
        self.batch_size = batch_size
        self.device = device
        self.seed = seed
        self.progress = progress

    def _fitted_vae(self, X: np.ndarray) -> VAE:
        return VAE(
            latent_dim=self.latent_dim,
            hidden=self.hidden,
            beta=self.beta,
            device=self.device,
            seed=self.seed,
        ).fit(X, epochs=self.epochs, batch_size=self.batch_size, progress=self.progress)

    def fit(self, X: Any, y: Any = None) -> VAEImputer:
        """Trains the VAE on ``X`` (an array of shape ``(N, D)``, NaN for missing values).

        With missing values, a first VAE is trained on ``X`` with each gap at its column's
        mean, fills the gaps of ``X``, and the kept VAE is trained on those completed rows, so
        that it learns from values like the observed ones rather than from column means."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ShapeError(f"VAEImputer takes arrays of shape (N, D), got {X.shape}")
        gaps = np.isnan(X)
        if gaps.all(axis=0).any():
            empty = np.flatnonzero(gaps.all(axis=0))[:5].tolist()
            raise DataError(f"columns {empty} have no observed value to learn from")
        if gaps.any():
            first = self._fitted_vae(np.where(gaps, np.nanmean(X, axis=0), X))
            X = first.impute(X)
        self.model_ = self._fitted_vae(X)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: Any) -> Any:
        """``X`` with its missing values filled (observed values unchanged)."""
        check_is_fitted(self, "model_")
        return self.model_.impute(np.asarray(X, dtype=np.float64))
