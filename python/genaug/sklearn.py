"""scikit-learn estimators over genaug's models (scikit-learn itself is needed only here).

``VAEImputer`` is a transformer: ``fit`` trains a VAE on rows with missing values, ``transform``
fills every NaN entry with the model's expected value given the row's observed values (see
``VAE.impute``). It works in a ``Pipeline``, with ``clone``, ``GridSearchCV`` and
``set_output``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from genaug._core import VAE
from genaug._frame import is_frame
from genaug.exceptions import DataError, ShapeError

__all__ = ["VAEImputer"]

# The array VAE's layers when hidden=None: measured best for imputing digits.
ARRAY_HIDDEN = (512, 512)


def _takes_frame(X: Any) -> bool:
    """A DataFrame with a column that is not NumPy numbers (categories, strings, booleans,
    nullable or pyarrow dtypes): the model reads it column by column and ``transform`` returns
    a frame of its dtypes. A frame of NumPy numbers goes the array way, as scikit-learn's
    imputers treat it."""
    return is_frame(X) and not all(isinstance(dt, np.dtype) and dt.kind in "fiu" for dt in X.dtypes)


class VAEImputer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Fills missing values with a variational autoencoder.

    Parameters are ``genaug.VAE``'s and ``VAE.fit``'s. ``hidden=None`` is (512, 512) for
    arrays: on scikit-learn's digits with 20% of pixels missing, wider layers than the VAE's
    default impute closer to the truth (``benchmarks/imputation.py``); a DataFrame of mixed
    columns gets the VAE's own default (``benchmarks/imputation_tables.py``).

    Attributes: ``model_`` (the fitted ``genaug.VAE``), ``n_features_in_``, and
    ``feature_names_in_`` after a fit on a DataFrame whose column labels are strings.
    """

    def __init__(
        self,
        latent_dim: int | None = None,
        hidden: tuple[int, ...] | None = None,
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

    def _fitted_vae(
        self, X: Any, hidden: tuple[int, ...] | None, missing: Literal["error", "model"]
    ) -> VAE:
        return VAE(
            latent_dim=self.latent_dim,
            hidden=hidden,
            beta=self.beta,
            device=self.device,
            seed=self.seed,
        ).fit(
            X,
            epochs=self.epochs,
            batch_size=self.batch_size,
            missing=missing,
            progress=self.progress,
        )

    def fit(self, X: Any, y: Any = None) -> VAEImputer:
        """Trains the VAE on ``X``: an array of shape ``(N, D)`` with NaN for missing values,
        or a DataFrame (any columns a VAE takes, gaps as NaN, None or ``pd.NA``).

        On an array with missing values, a first VAE is trained on ``X`` with each gap at its
        column's mean, fills the gaps of ``X``, and the kept VAE is trained on those completed
        rows, so that it learns from values like the observed ones rather than from column
        means. A DataFrame of mixed columns trains one VAE with ``missing="model"``, which
        learns each column from the rows that have it (on diamonds, closer than the two
        steps: see ``benchmarks/imputation_tables.py``)."""
        for attribute in ("model_", "n_features_in_", "feature_names_in_", "_mixed_frame_"):
            self.__dict__.pop(attribute, None)
        if is_frame(X):
            if X.columns.has_duplicates:
                raise ShapeError(f"X has duplicate column labels {list(X.columns)}")
            empty = list(X.columns[X.isna().all(axis=0).to_numpy()])
            if empty:
                raise DataError(f"columns {empty[:5]} have no observed value to learn from")
            if all(isinstance(c, str) for c in X.columns):
                self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        if _takes_frame(X):
            self._mixed_frame_ = True
            self.model_ = self._fitted_vae(X, self.hidden, "model")
            self.n_features_in_ = X.shape[1]
            return self
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ShapeError(f"VAEImputer takes arrays of shape (N, D), got {X.shape}")
        gaps = np.isnan(X)
        if gaps.all(axis=0).any():
            empty = np.flatnonzero(gaps.all(axis=0))[:5].tolist()
            raise DataError(f"columns {empty} have no observed value to learn from")
        hidden = ARRAY_HIDDEN if self.hidden is None else self.hidden
        if gaps.any():
            first = self._fitted_vae(np.where(gaps, np.nanmean(X, axis=0), X), hidden, "error")
            X = first.impute(X)
        self.model_ = self._fitted_vae(X, hidden, "error")
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: Any) -> Any:
        """``X`` with its missing values filled (observed values unchanged): an array, or a
        DataFrame of the training frame's columns and dtypes after a fit on one that is not
        all NumPy numbers."""
        check_is_fitted(self, "model_")
        if getattr(self, "_mixed_frame_", False):
            if not is_frame(X):
                raise ShapeError(
                    "this VAEImputer was fitted on a DataFrame of mixed columns: transform "
                    f"takes a DataFrame of the same columns, got {type(X).__name__}"
                )
            return self.model_.impute(X)
        names = getattr(self, "feature_names_in_", None)
        if names is not None and is_frame(X) and list(X.columns) != list(names):
            # As scikit-learn's imputers: an array's columns are matched by position.
            raise ShapeError(
                f"X has columns {list(X.columns)}, but this VAEImputer was fitted on "
                f"{list(names)} (in that order)"
            )
        return self.model_.impute(np.asarray(X, dtype=np.float64))
