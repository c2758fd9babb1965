"""Gaussian components with full, tied, diagonal or spherical covariance.

The E-step of every covariance type is a few large matrix products per chunk:
full covariance stacks the precision Cholesky factors of all components into
one ``(n_features, n_components * n_features)`` matrix, tied covariance
whitens the chunk once, and diagonal / spherical covariances multiply the
feature map ``[x**2, x]`` by one parameter matrix.  Statistics are taken about
a fixed centre (the weighted mean of the data) and accumulated in float64, so
data far from the origin loses no precision to cancellation.

The M-step is the maximum-likelihood update of McLachlan & Peel, *Finite
Mixture Models* (Wiley, 2000), section 3.2, with ``reg_covar`` added to the
diagonal of every covariance as in scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base import Family
from ._linalg import SingularCovarianceError, precision_cholesky_full, singular_message

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_LOG_2PI = np.log(2.0 * np.pi)
_EPS10 = 10 * np.finfo(np.float64).eps


@dataclass(frozen=True, eq=False)
class GaussianFamily(Family):
    """Multivariate normal components.

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
        Non-negative constant added to the diagonal of every covariance.
    centre : ndarray of shape (n_features,) or None
        Point about which statistics are accumulated (usually the weighted
        mean of the data); ``None`` means the origin.

    Notes
    -----
    Parameters are ``means`` (n_components, n_features), ``covariances`` and
    ``precisions_cholesky`` with the scikit-learn shapes: (K, d, d) for full,
    (d, d) for tied, (K, d) for diag and (K,) for spherical.
    """

    covariance_type: str = "full"
    reg_covar: float = 1e-6
    centre: np.ndarray | None = None

    name = "gaussian"
    param_names = ("means", "covariances")

    # ----------------------------------------------------------------- helpers
    def _centre(self, d: int) -> np.ndarray:
        return np.zeros(d) if self.centre is None else self.centre

    def _centred(self, X: np.ndarray) -> np.ndarray:
        c = self._centre(X.shape[1])
        return X - c.astype(X.dtype, copy=False)

    # ------------------------------------------------------------------ E-step
    def log_prob(self, X, params, aux):
        return self.log_prob_cached(X, params, aux)[0]

    def log_prob_cached(self, X, params, aux):
        X = np.asarray(X)
        dt = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        Xc = self._centred(X.astype(dt, copy=False))
        n, d = Xc.shape
        P = params["precisions_cholesky"]
        mu = params["means"] - self._centre(d)  # (K, d) float64
        K = mu.shape[0]
        ct = self.covariance_type
        cache = Xc
        if ct == "full":
            Pstack = P.transpose(1, 0, 2).reshape(d, K * d)
            Y = Xc @ Pstack.astype(dt)  # (n, K*d): every component whitened at once
            Y -= np.einsum("kd,kde->ke", mu, P).reshape(K * d).astype(dt)
            Y *= Y
            sq = Y.reshape(n, K, d).sum(axis=2, dtype=np.float64)
            log_det = np.log(np.diagonal(P, axis1=1, axis2=2)).sum(axis=1)
        elif ct == "tied":
            Y = Xc @ P.astype(dt)  # whitened once, shared by all components
            B = mu @ P
            sq = (
                (Y * Y).sum(axis=1, dtype=np.float64)[:, None]
                - 2.0 * (Y @ B.T.astype(dt))
                + (B * B).sum(axis=1)[None, :]
            )
            log_det = np.log(np.diag(P)).sum()
        else:
            prec = P**2 if ct == "diag" else np.broadcast_to((P**2)[:, None], (K, d))
            Z = np.empty((n, 2 * d), dtype=dt)  # feature map [x**2, x]
            np.multiply(Xc, Xc, out=Z[:, :d])
            Z[:, d:] = Xc
            theta = np.concatenate([prec.T, -2.0 * (mu * prec).T], axis=0)  # (2d, K)
            sq = Z @ theta.astype(dt) + (mu * mu * prec).sum(axis=1)[None, :]
            log_det = np.log(P).sum(axis=1) if ct == "diag" else d * np.log(P)
            cache = Z
        sq = np.asarray(sq, dtype=np.float64)
        return -0.5 * (d * _LOG_2PI + sq) + log_det, cache

    def suff_stats(self, X, resp, aux, cache=None):
        ct = self.covariance_type
        X = np.asarray(X)
        dt = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        if cache is None:
            Xc = self._centred(X.astype(dt, copy=False))
            if ct in ("diag", "spherical"):
                cache = np.concatenate([Xc * Xc, Xc], axis=1)
        else:
            Xc = cache if ct in ("full", "tied") else None
        n = X.shape[0]
        d = X.shape[1]
        K = resp.shape[1]
        r = resp.astype(dt, copy=False)
        if ct in ("diag", "spherical"):
            both = np.asarray(r.T @ cache, dtype=np.float64)  # (K, 2d): [sum r x^2, sum r x]
            return {"sxx": both[:, :d], "sx": both[:, d:]}
        sx = np.asarray(r.T @ Xc, dtype=np.float64)
        if ct == "full":
            RX = (r[:, :, None] * Xc[:, None, :]).reshape(n, K * d)
            sxx = np.asarray(Xc.T @ RX, dtype=np.float64).reshape(d, K, d).transpose(1, 0, 2)
        else:  # tied: total weighted scatter; rows of resp sum to the sample weight
            w = resp.sum(axis=1).astype(dt)
            sxx = np.asarray(Xc.T @ (Xc * w[:, None]), dtype=np.float64)
        return {"sx": sx, "sxx": sxx}

    # ------------------------------------------------------------------ M-step
    def m_step(self, stats, params, fixed):
        nk_raw = stats["nk"]
        nk = nk_raw + _EPS10
        sx = stats["sx"]
        K, d = sx.shape
        c = self._centre(d)
        mhat = sx / nk[:, None]  # empirical centred means
        if "means" in fixed:
            means = np.array(params["means"], dtype=np.float64)
            m = means - c
        else:
            m = mhat
            means = c + m
        out = {"means": means}
        if "covariances" in fixed:
            out["covariances"] = params["covariances"]
            out["precisions_cholesky"] = params["precisions_cholesky"]
            return out
        sxx = stats["sxx"]
        ct = self.covariance_type
        reg = self.reg_covar
        if ct == "full":
            cov = (
                sxx / nk[:, None, None]
                - mhat[:, :, None] * m[:, None, :]
                - m[:, :, None] * mhat[:, None, :]
                + m[:, :, None] * m[:, None, :]
            )
            cov = 0.5 * (cov + cov.transpose(0, 2, 1))
            cov[:, np.arange(d), np.arange(d)] += reg
            prec_chol = precision_cholesky_full(cov, reg)
        elif ct == "tied":
            cross = (sx.T @ m)  # sum_k sx_k m_k^T
            cov = (sxx - cross - cross.T + (m.T * nk) @ m) / nk.sum()
            cov = 0.5 * (cov + cov.T)
            cov[np.arange(d), np.arange(d)] += reg
            prec_chol = precision_cholesky_full(cov[None], reg, label="the tied covariance")[0]
        else:
            var = sxx / nk[:, None] - 2.0 * mhat * m + m * m + reg
            if ct == "spherical":
                var = var.mean(axis=1)
            bad = np.flatnonzero(np.atleast_2d(var.T).min(axis=0) <= 0.0)
            if bad.size:
                raise SingularCovarianceError(singular_message(f"component {bad[0]}", reg))
            cov = var
            prec_chol = 1.0 / np.sqrt(var)
        out["covariances"] = cov
        out["precisions_cholesky"] = prec_chol
        return out

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
        cov = params["covariances"]
        K, d = params["means"].shape
        ct = self.covariance_type
        if ct == "full":
            return np.asarray(cov)
        if ct == "tied":
            return np.broadcast_to(cov, (K, d, d)).copy()
        if ct == "diag":
            return cov[:, :, None] * np.eye(d)[None]
        return cov[:, None, None] * np.eye(d)[None]

    def sample(self, params, labels, rng, aux):
        means = params["means"]
        K, d = means.shape
        covs = self.covariance_matrices(params)
        X = np.empty((labels.shape[0], d))
        # sampling is not a hot path: one draw per component
        for k in range(K):
            idx = np.flatnonzero(labels == k)
            if idx.size:
                X[idx] = rng.multivariate_normal(means[k], covs[k], size=idx.size)
        return X

    def degenerate_components(self, params):
        covs = self.covariance_matrices(params)
        eig_min = np.linalg.eigvalsh(covs).min(axis=1)
        scale = max(float(np.max(np.diagonal(covs, axis1=1, axis2=2))), 0.0)
        threshold = max(2.0 * self.reg_covar, 1e-12 * scale)
        return [int(k) for k in np.flatnonzero(eig_min <= threshold)]

    # ------------------------------------------------------ acceleration hooks
    def to_unconstrained(self, params, fixed):
        out = {}
        if "means" not in fixed:
            out["means"] = np.asarray(params["means"], dtype=np.float64)
        if "covariances" not in fixed:
            ct = self.covariance_type
            cov = np.asarray(params["covariances"], dtype=np.float64)
            if ct in ("full", "tied"):
                L = np.linalg.cholesky(cov)
                d = L.shape[-1]
                diag = np.log(np.diagonal(L, axis1=-2, axis2=-1))
                il = np.tril_indices(d, -1)
                out["cov_log_diag"] = diag
                out["cov_offdiag"] = L[..., il[0], il[1]]
            else:
                out["cov_log"] = np.log(cov)
        return out

    def from_unconstrained(self, theta, params, fixed):
        out = {}
        out["means"] = theta["means"] if "means" not in fixed else params["means"]
        if "covariances" in fixed:
            out["covariances"] = params["covariances"]
            out["precisions_cholesky"] = params["precisions_cholesky"]
            return out
        ct = self.covariance_type
        if ct in ("full", "tied"):
            diag = theta["cov_log_diag"]
            d = diag.shape[-1]
            L = np.zeros(diag.shape[:-1] + (d, d))
            il = np.tril_indices(d, -1)
            L[..., il[0], il[1]] = theta["cov_offdiag"]
            L[..., np.arange(d), np.arange(d)] = np.exp(diag)
            cov = L @ np.swapaxes(L, -1, -2)
            if ct == "full":
                prec = precision_cholesky_full(cov, self.reg_covar)
            else:
                prec = precision_cholesky_full(cov[None], self.reg_covar, "the tied covariance")[0]
        else:
            cov = np.exp(theta["cov_log"])
            if not np.all(np.isfinite(cov)) or np.any(cov <= 0):
                raise SingularCovarianceError(singular_message("a component", self.reg_covar))
            prec = 1.0 / np.sqrt(cov)
        out["covariances"] = cov
        out["precisions_cholesky"] = prec
        return out


def check_covariances(covariances, covariance_type: str, n_components: int, n_features: int,
                      name: str = "precisions_init") -> np.ndarray:
    """Validate user matrices (covariances or precisions) of a covariance type.

    Returns the array as float64; raises ValueError naming the problem.
    """
    arr = np.asarray(covariances, dtype=np.float64)
    shapes = {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }
    expected = shapes[covariance_type]
    if arr.shape != expected:
        raise ValueError(
            f"{name} has shape {arr.shape}, but covariance_type={covariance_type!r} with "
            f"n_components={n_components} and {n_features} features needs shape {expected}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    if covariance_type in ("full", "tied"):
        mats = arr if covariance_type == "full" else arr[None]
        if not np.allclose(mats, np.swapaxes(mats, -1, -2)):
            k = int(np.flatnonzero(~np.all(np.isclose(mats, np.swapaxes(mats, -1, -2)), axis=(1, 2)))[0])
            raise ValueError(f"{name}[{k}] is not symmetric" if covariance_type == "full" else f"{name} is not symmetric")
        eig = np.linalg.eigvalsh(mats).min(axis=1)
        if np.any(eig <= 0):
            k = int(np.flatnonzero(eig <= 0)[0])
            where = f"{name}[{k}]" if covariance_type == "full" else name
            raise ValueError(f"{where} is not positive definite (smallest eigenvalue {eig[k]:.3g})")
    elif np.any(arr <= 0):
        idx = tuple(int(i) for i in np.unravel_index(int(np.flatnonzero(arr.ravel() <= 0)[0]), arr.shape))
        raise ValueError(f"{name} must be positive; {name}{list(idx)} = {arr[idx]:g}")
    return arr


def precisions_to_params(precisions: np.ndarray, covariance_type: str, reg_covar: float):
    """Covariances and precision Cholesky factors from user precisions."""
    if covariance_type in ("full", "tied"):
        mats = precisions if covariance_type == "full" else precisions[None]
        # P with P P^T = precision: reverse-Cholesky of the precision matrix
        Lp = np.linalg.cholesky(mats)
        d = mats.shape[-1]
        cov = np.linalg.solve(mats, np.broadcast_to(np.eye(d), mats.shape))
        cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
        prec_chol = precision_cholesky_full(cov, reg_covar)
        del Lp
        if covariance_type == "tied":
            return cov[0], prec_chol[0]
        return cov, prec_chol
    return 1.0 / precisions, np.sqrt(precisions)


__all__ = ["COVARIANCE_TYPES", "GaussianFamily", "SingularCovarianceError", "check_covariances"]
