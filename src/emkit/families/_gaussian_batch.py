"""Several EM runs of the Gaussian family in one pass over small in-memory data.

The default start (:func:`emkit.engine.starts.auto_starts`) runs up to nine
short EM runs per fit from different starts, and model selection makes
hundreds of such fits.  On a few hundred rows a pass of one run costs the
fixed price of some twenty NumPy calls (:mod:`._gaussian_small`), whatever
its number of components.  Here the components of ``R`` runs of ``K``
components each are stacked along one component axis of ``C = R K``
columns, run ``r`` owning the contiguous block ``r K:(r + 1) K``:

- the log densities of all runs are one product ``F' theta`` of the cached
  feature rows ``F`` (shape (m, n)) with the stacked coefficients ``theta``
  (shape (m, C)), as in :func:`._gaussian_small.small_e_step`;
- each run's log-sum-exp takes its maximum and its sum over its own block
  (the (C, n) log densities seen as (R, K, n)), so every run gets exactly
  its own responsibilities, summed in the same order as alone;
- one more product ``F r`` gives every run's moments and ``nk``;
- the M-step of full, diagonal and spherical covariance is per component,
  so it runs on the stacked statistics as it is; tied covariance sums its
  cross terms per run with one stacked matrix product.

Runs of different numbers of components (several ``K`` of one selection)
batch too: in the E-step every run is padded to the largest ``K`` with
components of weight zero (log weight ``-inf``: they take no share of any
row); the M-step concatenates the runs' components as they are and
normalises each run's weights over its own block.

Each run's statistics and parameters equal those of its own pass up to the
order of floating-point additions (about 1e-15 relative).  Whatever this
path does not cover (see :func:`batch_e_step`) gets None, and the engine
falls back to one pass per run.
"""

from __future__ import annotations

from itertools import accumulate

import numpy as np

from . import _gaussian_batch_coords as coords
from ._covariance import covariance_step
from ._gaussian_small import _features_for, _layout
from ._shares import flush_tiny
from ._linalg import precision_cholesky_full

#: largest number of rows of a batch (its (R K, n) log densities grow with the runs)
MAX_ROWS = 4096
_LOG_2PI = float(np.log(2.0 * np.pi))
_EPS = float(np.finfo(np.float64).eps)
_EPS10 = 10 * _EPS


def _padded(ct: str, params_list, K: int, centre):
    """Every run's weights, means and precision factors padded to ``K`` components.

    The padding components have weight 0, the centre as mean and the identity
    as precision factor (tied: one factor per run, nothing to pad).

    Returns
    -------
    weights : ndarray of shape (R K,)
    means : ndarray of shape (R K, d)
    prec : list of ndarray
        Per run, its precision factor(s) padded to ``K`` (tied: as given).
    """
    d = centre.shape[0]
    weights, means, prec = [], [], []
    for p in params_list:
        w = p["weights"]
        P = np.asarray(p["precisions_cholesky"], dtype=np.float64)
        gap = K - w.shape[0]
        if gap:
            w = np.concatenate([w, np.zeros(gap)])
            means.append(np.concatenate([p["means"], np.broadcast_to(centre, (gap, d))]))
            if ct == "full":
                P = np.concatenate([P, np.broadcast_to(np.eye(d), (gap, d, d))])
            elif ct != "tied":
                P = np.concatenate([P, np.ones((gap,) + P.shape[1:])])
        else:
            means.append(p["means"])
        weights.append(w)
        prec.append(P)
    return np.concatenate(weights), np.concatenate(means), prec


def batch_e_step(covariance_type: str, X, w, centre, params_list):
    """The E-steps of several runs on all of a small data set, in one pass.

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}
        Storage layout of the parameters.
    X : ndarray of shape (n_samples, n_features)
        The whole data (cached by identity, as in :mod:`._gaussian_small`).
    w : ndarray of shape (n_samples,)
        Sample weights.
    centre : ndarray of shape (n_features,)
        Point about which ``sx`` and ``sxx`` are taken.
    params_list : list of dict
        Every run's ``weights`` (K,), ``means`` (K, d) and
        ``precisions_cholesky``, the same ``K`` for all.

    Returns
    -------
    list of (stats, loglik), or None
        Per run, in order: ``stats`` with ``nk`` (K,), ``sx`` (K, d),
        ``sxx`` ((K, d, d) full, (d, d) tied, (K, d) diag and spherical);
        ``loglik``: ``sum_i w_i log p(x_i)``.  None where the one-run fused
        E-step would not apply to some run (float32 or large data, wide
        features, cancellation risk, a row without a finite log density).
        The runs may differ in ``K``.
    """
    if type(X) is not np.ndarray or X.dtype != np.float64 or X.shape[0] > MAX_ROWS:
        return None
    sizes = [p["weights"].shape[0] for p in params_list]
    K = max(sizes)
    feats = _features_for(X, w, centre, covariance_type, K)
    if feats is None or (min(sizes) < K and _features_for(X, w, centre, covariance_type,
                                                          min(sizes)) is None):
        return None
    n, d = X.shape
    ct = covariance_type
    dense = ct in ("full", "tied")
    F, lin = feats.F, feats.lin
    R = len(params_list)
    C = R * K
    weights, means, precs = _padded(ct, params_list, K, feats.centre)
    m = means - feats.centre  # (C, d)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        log_w = np.log(weights)
        theta = np.empty((F.shape[0], C))
        const = -0.5 * d * _LOG_2PI
        if dense:
            P3 = (np.stack if ct == "tied" else np.concatenate)(precs)  # (C, d, d) full, (R, d, d) tied
            # the fused E-step's cancellation bound, run by run
            r2 = np.maximum(feats.reach2, (m * m).sum(axis=1).reshape(R, K).max(axis=1))
            lam = (P3 * P3).sum(axis=(1, 2))
            if ct == "full":
                lam = lam.reshape(R, K).max(axis=1)
            if not np.all(8.0 * (d + 1) * _EPS * lam * r2 < 1e-8):
                return None
            flat, coef, unpack, diag = _layout(d)
            prec = np.matmul(P3, P3.transpose(0, 2, 1)).reshape(-1, d * d)
            log_det = np.log(P3.reshape(-1, d * d)[:, diag]).sum(axis=1)
            if ct == "tied":  # one precision per run, repeated over its components
                prec = np.repeat(prec, K, axis=0)
                log_det = np.repeat(log_det, K)
            theta[:lin] = (prec[:, flat] * coef).T
            Lm = np.matmul(prec.reshape(C, d, d), m[:, :, None])[:, :, 0]
            theta[lin:lin + d] = Lm.T
            theta[-1] = const - 0.5 * (Lm * m).sum(axis=1) + log_det + log_w
        else:
            P = np.concatenate(precs)
            prec = P * P if ct == "diag" else (P * P)[:, None]
            log_det = np.log(P).sum(axis=1) if ct == "diag" else d * np.log(P)
            theta[:d] = -0.5 * prec.T
            theta[d:2 * d] = (m * prec).T
            theta[-1] = const - 0.5 * (m * m * prec).sum(axis=1) + log_det + log_w
        lp = (theta.T @ F).reshape(R, K, n)  # every run's (K, n) block
        mx = lp.max(axis=1)  # (R, n)
        if not np.isfinite(mx.sum()):
            return None  # a row without a finite log density: the generic path handles it
        lp -= mx[:, None, :]
        flush_tiny(lp)
        np.exp(lp, out=lp)
        s = lp.sum(axis=1)
        lp /= s[:, None, :]
        if feats.unweighted:
            loglik = np.log(s).sum(axis=1) + mx.sum(axis=1)
        else:
            log_norm = np.log(s) + mx
            lp *= w
            loglik = log_norm[:, feats.positive] @ feats.w_pos
    S = F @ lp.reshape(C, n).T  # (m, C): every run's moments, and nk from the row of ones
    nk, sx = S[-1], S[lin:lin + d].T
    if ct == "full":
        sxx = unpack(S[:lin].T, C)
    elif ct == "diag":
        sxx = S[:d].T
    elif ct == "spherical":  # the total over the features, spread evenly (as the generic path)
        sxx = np.repeat(S[:d].sum(axis=0)[:, None] / d, d, axis=1)
    out = []
    for r in range(R):
        a, b = r * K, r * K + sizes[r]
        stats = {"nk": nk[a:b].copy(), "sx": sx[a:b].copy(),
                 "sxx": feats.scatter.copy() if ct == "tied" else sxx[a:b].copy()}
        out.append((stats, float(loglik[r])))
    return out


def batch_m_step(covariance_type: str, stats_list, centre, floor, reg_covar: float):
    """The M-steps (weights included) of several runs from their statistics, in one go.

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}
    stats_list : list of Mapping
        Every run's ``nk`` (K,), ``sx`` (K, d) and ``sxx`` about ``centre``
        (as :func:`batch_e_step` gives them), no missing cells; the runs
        may differ in ``K``.
    centre : ndarray of shape (n_features,)
    floor : ndarray of shape (n_features,)
        Added to the diagonal of every covariance.
    reg_covar : float
        For the error message.

    Returns
    -------
    list of dict or None
        Per run: ``weights``, ``means``, ``covariances`` and
        ``precisions_cholesky``, as the family's M-step and
        :func:`emkit.engine.em.maximization` give them.

    Raises
    ------
    SingularCovarianceError
        When any run's covariance is not positive definite (the caller
        redoes the runs one by one to find which).
    """
    ct = covariance_type
    R = len(stats_list)
    sizes = [st["nk"].shape[0] for st in stats_list]
    first = [0, *accumulate(sizes[:-1])]  # each run's first component
    nk = np.concatenate([st["nk"] for st in stats_list]) + _EPS10
    sx = np.concatenate([st["sx"] for st in stats_list])
    mhat = sx / nk[:, None]  # empirical centred means
    means = centre + mhat
    m = means - centre  # as the family's M-step: the new means, centred
    totals = np.add.reduceat(nk, first)  # (R,)
    weights = nk / np.repeat(totals, sizes)
    blocks = [slice(a, a + k) for a, k in zip(first, sizes)]
    if ct == "tied":
        d = sx.shape[1]
        K = max(sizes)
        sxx = np.stack([st["sxx"] for st in stats_list])  # (R, d, d)
        # per run: sum_k sx_k m_k^T and sum_k nk_k m_k m_k^T, runs padded with zeros to K
        sx3, m3, w3 = np.zeros((R, K, d)), np.zeros((R, K, d)), np.zeros((R, K, 1))
        rows = np.concatenate([r * K + np.arange(k) for r, k in enumerate(sizes)])
        sx3.reshape(-1, d)[rows], m3.reshape(-1, d)[rows] = sx, m
        w3.reshape(-1)[rows] = nk
        cross = np.matmul(sx3.transpose(0, 2, 1), m3)
        mm = np.matmul((m3 * w3).transpose(0, 2, 1), m3)
        cov = (sxx - cross - cross.transpose(0, 2, 1) + mm) / totals[:, None, None]
        cov = 0.5 * (cov + cov.transpose(0, 2, 1))
        cov[:, np.arange(d), np.arange(d)] += floor
        prec = precision_cholesky_full(cov, reg_covar, label="the tied covariance")
        return [{"means": means[b], "covariances": cov[r], "precisions_cholesky": prec[r],
                 "weights": weights[b]} for r, b in enumerate(blocks)]
    sxx = np.concatenate([st["sxx"] for st in stats_list])
    cov, prec = covariance_step(ct, sxx, sx, nk, mhat, m, floor, reg_covar, nk[:, None])
    return [{"means": means[b], "covariances": cov[b], "precisions_cholesky": prec[b],
             "weights": weights[b]} for b in blocks]


class GaussianBatchHooks:
    """The Gaussian family's batched E- and M-steps and SQUAREM maps
    (:mod:`._gaussian_batch_coords`; see :class:`~._batch.BatchHooks`)."""

    def batch_e_step(self, data, params_list):
        if data.aux:
            return None
        return batch_e_step(self.covariance_type, data.X, data.sample_weight,
                            self._centre(data.X.shape[1]), params_list)

    def _plain_batch(self) -> bool:
        """Not a subclass with its own M-step and coordinates (the mclust models)."""
        return (type(self).batch_m_step is GaussianBatchHooks.batch_m_step
                and self.covariance_type in ("full", "tied", "diag", "spherical"))

    def batch_key(self):
        if not self._plain_batch():
            return None
        d = None if self.centre is None else np.asarray(self.centre).shape[0]
        arrays = () if d is None else (self.reg_diagonal(d), self._centre(d), self._unit_sd(d),
                                       self.reg_scale(d))
        return (type(self), self.covariance_type, float(self.reg_covar),
                *(a.tobytes() for a in arrays))

    def batch_to_unconstrained(self, params_list):
        if not self._plain_batch():
            return None
        d = np.shape(params_list[0]["means"])[1]
        return coords.to_unconstrained(self.covariance_type, params_list, self._centre(d),
                                       self._unit_sd(d))

    def batch_from_unconstrained(self, theta_list, params_list):
        if not self._plain_batch():
            return None
        d = theta_list[0]["means"].shape[1]
        return coords.from_unconstrained(self.covariance_type, theta_list, self.reg_covar,
                                         self._centre(d), self._unit_sd(d))

    def batch_degenerate_components(self, params_list):
        return coords.degenerate_components(self, params_list) if self._plain_batch() else None

    def batch_m_step(self, stats_list):
        if any("nkj" in st for st in stats_list):
            return None
        d = stats_list[0]["sx"].shape[1]
        return batch_m_step(self.covariance_type, stats_list, self._centre(d),
                            self.reg_diagonal(d), self.reg_covar)
