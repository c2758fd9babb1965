"""Gaussian components with full, tied, diagonal or spherical covariance.

The E-step of every covariance type is a few large matrix products per chunk:
full covariance stacks the precision Cholesky factors of all components into
one ``(n_features, n_components * n_features)`` matrix, tied covariance
whitens the chunk once, and diagonal / spherical covariances multiply the
feature map ``[x**2, x]`` (spherical: ``[|x|**2, x]``) by one parameter matrix.  Statistics are taken about
a fixed centre (the weighted mean of the data) and accumulated in float64, so
data far from the origin loses no precision to cancellation.

The M-step is the maximum-likelihood update of McLachlan & Peel, *Finite
Mixture Models* (Wiley, 2000), section 3.2, with a floor added to the
diagonal of every covariance: ``reg_covar`` times each feature's variance in
the data (relative, the default, so that results do not depend on units; see
:mod:`emkit.families._scale`), or ``reg_covar`` itself as in scikit-learn
with ``reg_covar_relative=False``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_choice, check_float_param
from ._base import Family
from ._covariance import (
    COVARIANCE_TYPES,
    check_covariances,
    check_means,
    check_stored_covariances,
    covariance_step,
    covariances_from_unconstrained,
    covariances_to_unconstrained,
    full_matrices,
    precisions_from_cholesky,
    precisions_from_covariances,
    precisions_to_params,
)
from ._linalg import (
    SingularCovarianceError,
    feature_rows,
)
from ._gaussian_batch import GaussianBatchHooks
from ._gaussian_describe import GaussianDescription
from ._gaussian_missing import MissingCellHooks
from ._gaussian_products import cached_moments, log_densities, moments
from ._gaussian_chunk import fused_e_step
from ._mclust_models import MODEL_NAMES, MODELS_1D
from ._scale import WeightedMoments, feature_scale, whitened_min_eigenvalues

_EPS10 = 10 * np.finfo(np.float64).eps
#: largest magnitude a fit accepts: squares and products of such values stay finite
_MAX_MAGNITUDE = 1e150


@dataclass(frozen=True, eq=False)
class GaussianFamily(GaussianBatchHooks, GaussianDescription, MissingCellHooks, Family):
    """Multivariate normal components.

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
        Non-negative floor added to the diagonal of every covariance: relative
        to each feature's variance in the data (``reg_covar * var_j`` on
        entry ``j``) with ``reg_covar_relative``, else absolute.
    centre : ndarray of shape (n_features,) or None
        Point about which statistics are accumulated (usually the weighted
        mean of the data); ``None`` means the origin.
    reg_covar_relative : bool
        Scale the floor (and the degeneracy test) by the data's variances.
        False gives scikit-learn's absolute ``reg_covar``.
    data_variance : ndarray of shape (n_features,) or None
        Weighted variance of every feature of the data, set when the family
        is configured for a fit; ``None`` (before any data, or for scoring)
        counts as unit variances.

    Notes
    -----
    Parameters are ``means`` (n_components, n_features), ``covariances`` and
    ``precisions_cholesky`` with the scikit-learn shapes: (K, d, d) for full,
    (d, d) for tied, (K, d) for diag and (K,) for spherical.
    """

    covariance_type: str = "full"
    reg_covar: float = 1e-6
    centre: np.ndarray | None = None
    reg_covar_relative: bool = True
    data_variance: np.ndarray | None = None

    name = "gaussian"
    param_names = ("means", "covariances")
    estimator_name = "GaussianMixture"
    column_kinds = ("binary", "count", "real")
    display_name = "Gaussian"
    variant_param = "covariance_type"
    # the fourteen mclust models (and E / V in one dimension) run through
    # _gaussian_structured.StructuredGaussianFamily; "all" selects over them
    variants = COVARIANCE_TYPES + MODEL_NAMES + MODELS_1D
    variant_groups = {"all": MODEL_NAMES, "sklearn": COVARIANCE_TYPES}
    cli_params = {"covariance": "covariance_type"}
    settings_params = ("covariance_type", "reg_covar", "reg_covar_relative")
    init_names = ("means_init", "precisions_init")
    dtypes = (np.float64, np.float32)

    # ------------------------------------------------------------------ set-up
    def check_settings(self):
        from ._gaussian_structured import ALL_COVARIANCE_TYPES

        check_choice(self.covariance_type, "covariance_type", ALL_COVARIANCE_TYPES)
        check_float_param(self.reg_covar, "reg_covar", 0.0)
        if not isinstance(self.reg_covar_relative, (bool, np.bool_)):
            raise ValueError(f"reg_covar_relative must be True or False, got {self.reg_covar_relative!r}")

    def _for_model(self, centre, n_features: int, data_variance=None) -> GaussianFamily:
        """This family, or the mclust model's, centred at ``centre``."""
        from ._gaussian_structured import gaussian_family

        return gaussian_family(self.covariance_type, float(self.reg_covar), centre, n_features,
                               reg_covar_relative=bool(self.reg_covar_relative),
                               data_variance=data_variance)

    def reg_scale(self, n_features: int) -> np.ndarray:
        """What ``reg_covar`` multiplies on each diagonal entry, shape (n_features,).

        The data's variance of every feature (:func:`feature_scale`) when the
        floor is relative and the family was configured on data, else ones.
        """
        if not self.reg_covar_relative or self.data_variance is None:
            return np.ones(n_features)
        scale = feature_scale(self.data_variance)
        # spherical covariances are isotropic: one scale, the mean variance
        return np.full(n_features, float(scale.mean())) if self.covariance_type == "spherical" else scale

    def reg_diagonal(self, n_features: int) -> np.ndarray:
        """The floor added to the diagonal of every covariance, shape (n_features,), read-only.

        Computed once per family object and feature count (every M-step needs it).
        """
        hit = self.__dict__.get("_reg_diagonal")
        if hit is None or hit.shape[0] != n_features:
            hit = self.reg_covar * self.reg_scale(n_features)
            hit.setflags(write=False)
            self.__dict__["_reg_diagonal"] = hit  # a cache, not a field: frozen dataclass
        return hit

    def scan(self, chunk):
        """Weighted mean and centred sum of squares of the rows (:class:`WeightedMoments`).

        Raises ValueError for values beyond ``1e150`` in magnitude: their
        squares overflow float64, which would turn the fit into NaN.
        """
        X = np.asarray(chunk.X, dtype=np.float64)
        big = np.abs(X) > _MAX_MAGNITUDE
        if big.any():
            r, c = divmod(int(np.flatnonzero(big.ravel())[0]), X.shape[1])
            raise ValueError(
                f"X[{r + chunk.start}, {c}] = {X[r, c]:g} (row {r + chunk.start}, column {c}) is "
                f"beyond {_MAX_MAGNITUDE:g} in magnitude; squared it overflows float64, so "
                "divide X by a constant (for example a power of ten) before fitting"
            )
        return (WeightedMoments.of(X, np.asarray(chunk.sample_weight, dtype=np.float64)),)

    def configure(self, totals, data, init):
        """The family centred at the weighted mean of the data (``data.mean``), with its variances."""
        return self._for_model(data.mean, data.n_features, totals[0].variance())

    def check_init(self, values, n_components, n_features):
        K, out = n_components, {}
        if "means_init" in values:
            out["means"] = check_means(values["means_init"], K, n_features)
        if "precisions_init" in values:
            from ._gaussian_structured import storage_type

            ct = storage_type(self.covariance_type)
            prec = check_covariances(values["precisions_init"], ct, K, n_features)
            out["covariances"], out["precisions_cholesky"] = precisions_to_params(
                prec, ct, self.reg_covar)
        return out

    def init_kwargs(self, values, n_components, n_features):
        """``covariances`` (in the storage layout of the covariance type) start
        ``precisions_init`` as their inverses; ``means`` start ``means_init``."""
        values = dict(values)
        out = {}
        if "covariances" in values:
            from ._gaussian_structured import storage_type

            out["precisions_init"] = precisions_from_covariances(
                values.pop("covariances"), storage_type(self.covariance_type), n_components,
                n_features)
        return {**super().init_kwargs(values, n_components, n_features), **out}

    def init_value_names(self):
        return ("weights", "means", "covariances")

    def for_params(self, params):
        """Centred at the fitted mixture's mean, as scores do not depend on the centre."""
        means = np.asarray(params["means"])
        return self._for_model(np.asarray(params["weights"]) @ means, means.shape[1])

    def derived(self, params):
        """``precisions_`` and mclust's ``volume_``, ``shape_``, ``orientation_``."""
        from ._mclust_models import SKLEARN_ALIASES, decompose

        model = getattr(self, "model", SKLEARN_ALIASES.get(self.covariance_type))
        volume, shape, orientation = decompose(model, self.covariance_matrices(params))
        return {"precisions_": precisions_from_cholesky(params["precisions_cholesky"],
                                                        self.covariance_type),
                "volume_": volume, "shape_": shape, "orientation_": orientation}

    def held_keys(self, fixed):
        keys = super().held_keys(fixed)
        return keys + ["precisions_cholesky"] if "covariances" in fixed else keys

    @classmethod
    def expand_variants(cls, name, n_features):
        if name == "all" and n_features == 1:
            return MODELS_1D
        return cls.variant_groups.get(name)
    hierarchical_start = True

    # ----------------------------------------------------------------- helpers
    def _centre(self, d: int) -> np.ndarray:
        """The centre, rounded to a float32 value so that float32 chunks are
        centred about exactly the point the M-step adds back; read-only, computed
        once per family object (every E- and M-step needs it)."""
        hit = self.__dict__.get("_centre_value")
        if hit is not None and hit.shape[0] == d:
            return hit
        if self.centre is None:
            hit = np.zeros(d)
        else:
            c = np.asarray(self.centre, dtype=np.float64)
            with np.errstate(over="ignore"):
                c32 = c.astype(np.float32).astype(np.float64)
            hit = np.where(np.isfinite(c32), c32, c)
        hit.setflags(write=False)
        self.__dict__["_centre_value"] = hit  # a cache, not a field: frozen dataclass
        return hit

    def _features(self, X, params_or_k, products: bool = True) -> tuple[np.ndarray, int]:
        """Transposed, centred feature matrix of one chunk (see :func:`feature_rows`)."""
        K = params_or_k if isinstance(params_or_k, int) else params_or_k["weights"].shape[0]
        X = np.asarray(X)
        return feature_rows(X, self._centre(X.shape[1]), self.covariance_type, K, products)

    # ------------------------------------------------------------------ E-step
    def log_prob_cached(self, X, params, aux):
        """Log densities of a chunk; rows too far to score finitely get ``-inf``.

        A row whose squared distance overflows float64 (say ``1e200`` under a
        model of unit scale) has a log density below every float: it is
        ``-inf`` (as scikit-learn gives), never NaN from ``inf - inf``.
        """
        return self._log_prob_cached(X, params, None)

    def weighted_log_prob_cached(self, X, params, aux, log_weights):
        """Log densities plus the log weights, which ride on the product's row of ones
        (each component's constant) when they are finite."""
        if not np.isfinite(log_weights).all():
            return super().weighted_log_prob_cached(X, params, aux, log_weights)
        return self._log_prob_cached(X, params, np.asarray(log_weights, dtype=np.float64))

    def _log_prob_cached(self, X, params, shift):
        with np.errstate(over="ignore", invalid="ignore"):
            # full covariance: the product rows are filled only if some component
            # takes the expanded form (log_densities decides)
            F, lin = self._features(X, params, products=self.covariance_type != "full")
            d = F.shape[0] - lin - 1
            P = params["precisions_cholesky"]
            m = params["means"] - self._centre(d)  # (K, d) float64
            lp, cache = log_densities(F, lin, P, m, self.covariance_type, shift,
                                      filled=self.covariance_type != "full")
            # one sum instead of an (n, K) isfinite pass: a NaN or an infinity anywhere
            # makes it non-finite (a finite sum that overflows only costs the exact check)
            if not np.isfinite(lp.sum()):
                lp[~np.isfinite(lp)] = -np.inf
        return lp, cache

    def fused_e_step(self, chunk, params, labels=None, rows=None):
        """The low-overhead E-step of float64 data (:mod:`._gaussian_small`, :mod:`._gaussian_chunk`)."""
        if chunk.aux:
            return None
        return fused_e_step(self.covariance_type, chunk.X, chunk.sample_weight,
                            self._centre(chunk.X.shape[1]), params, labels, rows)

    def suff_stats(self, X, resp, aux, cache=None):
        if isinstance(cache, tuple):
            return cached_moments(cache, resp, self.covariance_type)
        F = self._features(X, resp.shape[1])[0] if cache is None else cache
        lin = F.shape[0] - 1 - np.asarray(X).shape[1]
        return moments(F, lin, resp, self.covariance_type)

    # ------------------------------------------------------------------ M-step
    def _means_step(self, stats, params, fixed):
        """``nk``, empirical and new centred means (K, d), and ``{"means"}`` (+ held covariances)."""
        nk = stats["nk"] + _EPS10
        c = self._centre(stats["sx"].shape[1])
        # each feature's observed weight when missing cells were dropped (diag, spherical)
        nkj = stats["nkj"] + _EPS10 if "nkj" in stats else nk[:, None]
        mhat = stats["sx"] / nkj  # empirical centred means
        means = np.array(params["means"], dtype=np.float64) if "means" in fixed else c + mhat
        out = {"means": means}
        if "covariances" in fixed:
            out["covariances"] = params["covariances"]
            out["precisions_cholesky"] = params["precisions_cholesky"]
        return nk, mhat, means - c, out

    def m_step(self, stats, params, fixed):
        nk, mhat, m, out = self._means_step(stats, params, fixed)
        if "covariances" in fixed:
            return out
        # per-feature weights of the observed cells (diag and spherical with missing cells)
        nkj = stats["nkj"] + _EPS10 if "nkj" in stats else nk[:, None]
        out["covariances"], out["precisions_cholesky"] = covariance_step(
            self.covariance_type, stats["sxx"], stats["sx"], nk, mhat, m,
            self.reg_diagonal(m.shape[1]), self.reg_covar, nkj)
        return out

    # ------------------------------------------------------ stored parameters
    def param_shapes(self, n_components, n_features):
        K, d = n_components, n_features
        cov = {"full": (K, d, d), "tied": (d, d), "diag": (K, d), "spherical": (K,)}[self.covariance_type]
        return {"means": (K, d), "covariances": cov, "precisions_cholesky": cov}

    def check_params(self, params):
        """Covariances positive definite and the precision factors their inverse roots."""
        check_stored_covariances(self.covariance_type, params["covariances"],
                                 params["precisions_cholesky"])

    # ------------------------------------------------------------ bookkeeping
    def n_parameters(self, params, fixed=frozenset()):
        K, d = params["means"].shape
        n = 0 if "means" in fixed else K * d
        if "covariances" not in fixed:
            n += {
                "full": K * d * (d + 1) // 2,
                "tied": d * (d + 1) // 2,
                "diag": K * d,
                "spherical": K,
            }[self.covariance_type]
        return int(n)

    def covariance_matrices(self, params) -> np.ndarray:
        """Full (n_components, n_features, n_features) covariance matrices."""
        K, d = np.shape(params["means"])
        return full_matrices(params["covariances"], self.covariance_type, K, d)

    def likelihood_slack(self):
        # the floor reg_covar makes the M-step a regularised one, which can lower the
        # likelihood where a component is nearly singular (measured: 5e-6 relative)
        return 1e-3 if self.reg_covar > 0 else 0.0

    def degenerate_components(self, params):
        """Components whose covariance has collapsed onto the floor (or onto rounding).

        Measured in units of the data (covariances whitened by the scale that
        ``reg_covar`` multiplies, :meth:`reg_scale`): a component is degenerate
        when an eigenvalue is at most twice ``reg_covar``, or below ``1e-12``
        of the largest variance.  The test gives the same answer for ``X``
        and ``c * X + b``.
        """
        covs = self.covariance_matrices(params)
        eig_min, top = whitened_min_eigenvalues(covs, self.reg_scale(covs.shape[-1]))
        threshold = max(2.0 * self.reg_covar, 1e-12 * top)
        return [int(k) for k in np.flatnonzero(eig_min <= threshold)]

    # ------------------------------------------------------ acceleration hooks
    def _unit_sd(self, d: int) -> np.ndarray:
        """Standard deviation of every feature of the data (ones before any data), shape (d,),
        read-only, computed once per family object (every SQUAREM cycle needs it)."""
        hit = self.__dict__.get("_unit_sd_value")
        if hit is None or hit.shape[0] != d:
            hit = np.ones(d) if self.data_variance is None else np.sqrt(feature_scale(self.data_variance))
            hit.setflags(write=False)
            self.__dict__["_unit_sd_value"] = hit  # a cache, not a field: frozen dataclass
        return hit

    def to_unconstrained(self, params, fixed):
        """Means, and log-Cholesky (full, tied) or log (diag, spherical) covariances, in data units.

        Means are centred and divided by each feature's standard deviation in
        the data, and the Cholesky factors are those of the covariances so
        standardised (:func:`covariances_to_unconstrained`), so SQUAREM's step
        length (a ratio of norms over all coordinates) is the same for ``X``
        and ``c * X + b``.
        """
        means = np.asarray(params["means"], dtype=np.float64)
        d = means.shape[1]
        sd = self._unit_sd(d)
        cov = np.asarray(params["covariances"], dtype=np.float64)
        return {"means": (means - self._centre(d)) / sd,
                **covariances_to_unconstrained(cov, self.covariance_type, sd)}

    def from_unconstrained(self, theta, params, fixed):
        d = theta["means"].shape[1]
        sd = self._unit_sd(d)
        cov, prec = covariances_from_unconstrained(theta, self.covariance_type, self.reg_covar, sd)
        return {"means": theta["means"] * sd + self._centre(d), "covariances": cov,
                "precisions_cholesky": prec}


__all__ = ["COVARIANCE_TYPES", "GaussianFamily", "SingularCovarianceError"]
