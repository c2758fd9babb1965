"""Gaussian components under mclust's covariance models (EVE, VVE, ...).

The E-step, the statistics, sampling and the acceleration hooks are those of
full covariance (:class:`~emkit.families.gaussian.GaussianFamily` with
``covariance_type="full"``): covariances and precision Cholesky factors are
stored as ``(n_components, n_features, n_features)`` stacks.  Only the
M-step and the parameter count differ; they come from
:mod:`emkit.families._mclust_models`.  SQUAREM extrapolates in the full
covariance coordinates and always ends on an M-step, so its iterates stay in
the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._describe import Description
from ._linalg import SingularCovarianceError, precision_cholesky_full, singular_message
from ._mclust_models import (
    MODEL_NAMES,
    MODELS_1D,
    SKLEARN_ALIASES,
    decompose,
    model_for_data,
    n_covariance_parameters,
    structured_covariances,
)
from ._scale import whitened_min_eigenvalues
from .gaussian import GaussianFamily

_EPS10 = 10 * np.finfo(np.float64).eps

#: models whose component volume is free while the shape is shared: a component
#: whose own points span fewer dimensions than the data borrows the others' shape
#: and shrinks its volume (a spurious maximum that keeps its covariance regular)
BORROWED_SHAPE = ("VEI", "VEE", "VEV")
#: the M-step's record of every component's own scatter (not a model parameter)
SCATTER_KEY = "own_scatter_min"

__all__ = ["StructuredGaussianFamily", "gaussian_family", "storage_type"]


def storage_type(covariance_type: str) -> str:
    """How a model's covariances are stored: one of the four scikit-learn
    types (the aliases keep their own layout; every other model is ``"full"``)."""
    return covariance_type if covariance_type in SKLEARN_ALIASES else "full"


def gaussian_family(covariance_type: str, reg_covar: float, centre, n_features: int,
                    reg_covar_relative: bool = True, data_variance=None) -> GaussianFamily:
    """The family object of a covariance type or mclust model name.

    The four scikit-learn names (and only they) run
    :class:`~emkit.families.gaussian.GaussianFamily` with its own storage;
    the mclust names that are aliases of them (``VVV`` = full, ``EEE`` =
    tied, ``VVI`` = diag, ``VII`` = spherical) run the same family through
    the full-covariance storage and the model's M-step, as do the others.

    Raises
    ------
    ValueError
        Unknown name, or a model undefined for ``n_features``.
    """
    model = model_for_data(covariance_type, n_features)
    kw = dict(reg_covar=reg_covar, centre=centre, reg_covar_relative=reg_covar_relative,
              data_variance=data_variance)
    if covariance_type in SKLEARN_ALIASES:
        return GaussianFamily(covariance_type, **kw)
    return StructuredGaussianFamily("full", model=model, **kw)


@dataclass(frozen=True, eq=False)
class StructuredGaussianFamily(GaussianFamily):
    """Multivariate normal components with an mclust covariance model.

    Parameters
    ----------
    covariance_type : "full"
        Storage of the parameters (always full matrices).
    reg_covar : float
        Added to the diagonal of every covariance after the model's M-step,
        the same on every feature (relative: times the mean variance of the
        features), so the floor is isotropic and keeps the model's structure
        (for the orientation models it keeps the orientation and changes
        only the eigenvalues).
    centre : ndarray of shape (n_features,) or None
    model : str
        One of ``MODEL_NAMES`` or ``MODELS_1D``.
    """

    model: str = "VVV"

    def batch_m_step(self, stats_list):
        return None  # the model's own M-step (it reads the previous covariances): one run at a time

    def m_step(self, stats, params, fixed):
        nk, mhat, m, out = self._means_step(stats, params, fixed)
        if "covariances" in fixed:
            return out
        K, d = m.shape
        # scatter about the new means: n_k (S_k/n_k - mhat m' - m mhat' + m m')
        W = (stats["sxx"] - nk[:, None, None] * (mhat[:, :, None] * m[:, None, :]
                                                 + m[:, :, None] * mhat[:, None, :]
                                                 - m[:, :, None] * m[:, None, :]))
        W = 0.5 * (W + W.transpose(0, 2, 1))
        prev = params.get("covariances") if params else None
        if prev is not None:
            prev = np.asarray(prev, dtype=np.float64)
            if prev.shape != (K, d, d) or not np.all(np.isfinite(prev)):
                prev = None
        try:
            cov = structured_covariances(self.model, W, nk, prev)
        except np.linalg.LinAlgError:  # a component's scatter matrix is singular
            raise SingularCovarianceError(singular_message("a component", self.reg_covar)) from None
        cov[:, np.arange(d), np.arange(d)] += self.reg_diagonal(d)
        out["covariances"] = cov
        out["precisions_cholesky"] = precision_cholesky_full(cov, self.reg_covar)
        if self.model in BORROWED_SHAPE:
            # the VVV covariance of each component's own points, as the degeneracy test sees it
            out[SCATTER_KEY] = whitened_min_eigenvalues(W / nk[:, None, None], self.reg_scale(d))[0]
        return out

    def degenerate_components(self, params):
        """Collapsed components: a covariance on the floor (every model), and in
        ``VEI``, ``VEE`` and ``VEV`` also a component whose own points would give it
        a degenerate ``VVV`` covariance (whitened scatter ``W_k / n_k`` with an
        eigenvalue at most ``reg_covar``, or ``1e-12`` of the largest variance).

        Those three models share the shape but not the volume: a component on a
        few collinear points (rounded data put many on one line) takes the
        others' shape, turns it along the line and shrinks its volume, a
        spurious maximum whose covariance stays well conditioned (mclust's
        condition-number check does not see it).  The test needs the M-step's
        scatter, so it applies to parameters that come from an M-step.
        """
        found = set(super().degenerate_components(params))
        own = params.get(SCATTER_KEY) if self.model in BORROWED_SHAPE else None
        if own is not None:
            d = np.shape(params["means"])[1]
            _, top = whitened_min_eigenvalues(self.covariance_matrices(params), self.reg_scale(d))
            found.update(np.flatnonzero(np.asarray(own) <= max(self.reg_covar, 1e-12 * top)).tolist())
        return sorted(int(k) for k in found)

    def reg_scale(self, n_features: int) -> np.ndarray:
        """One scale for every feature (the mean variance), so the floor is isotropic."""
        scale = super().reg_scale(n_features)
        return np.full(n_features, float(scale.mean()))

    def n_parameters(self, params, fixed=frozenset()):
        K, d = params["means"].shape
        n = 0 if "means" in fixed else K * d
        if "covariances" not in fixed:
            n += n_covariance_parameters(self.model, K, d)
        return int(n)

    def settings(self):
        return {"covariance_type": self.model}

    def describe(self, params):
        base = super().describe(params)
        fields = dict(base.fields, covariance_type=self.model)
        return Description(fields=fields, summary=(f"{self.model} covariance model",),
                           columns=base.columns, wide_max=base.wide_max)

    def decomposition(self, params):
        """Volume ``(K,)``, shape ``(K, d)`` and orientation ``(K, d, d)``."""
        return decompose(self.model, self.covariance_matrices(params))


#: every name ``covariance_type`` accepts
ALL_COVARIANCE_TYPES = tuple(SKLEARN_ALIASES) + MODEL_NAMES + MODELS_1D
