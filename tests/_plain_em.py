"""A plain reference EM for Gaussian mixtures, written for the tests.

A loop over components, ``scipy.stats`` log densities and the textbook
weighted moments about each component's mean: independent of emkit's feature
maps, stacked products, chunking and moments about a common centre.
"""

import numpy as np
from scipy import stats
from scipy.special import logsumexp


def _full(ct, c, d, K):
    """Covariances of any type as (K, d, d) matrices."""
    if ct == "full":
        return c
    if ct == "tied":
        return np.broadcast_to(c, (K, d, d))
    if ct == "diag":
        return np.stack([np.diag(v) for v in c])
    return np.stack([v * np.eye(d) for v in c])


def plain_em_trace(X, w, start, ct, n_iter, reg):
    """Mean weighted log-likelihood of ``start`` and after each of ``n_iter`` EM steps.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    w : ndarray of shape (n,)
    start : tuple
        ``(weights (K,), means (K, d), covariances)`` in the type's storage.
    ct : {"full", "tied", "diag", "spherical"}
    n_iter : int
    reg : float
        Added to every diagonal entry of the covariances (``reg_covar``).

    Returns
    -------
    ndarray of shape (n_iter + 1,)
    """
    weights, means, covs = start
    K, d = means.shape
    trace = []
    for it in range(n_iter + 1):
        C = _full(ct, covs, d, K)
        lp = np.column_stack([np.log(weights[k]) + stats.multivariate_normal(means[k], C[k]).logpdf(X)
                              for k in range(K)])
        norm = logsumexp(lp, axis=1)
        trace.append(float(w @ norm / w.sum()))
        if it == n_iter:
            break
        r = np.exp(lp - norm[:, None]) * w[:, None]
        nk = r.sum(axis=0) + 10 * np.finfo(float).eps
        weights = nk / nk.sum()
        means = (r.T @ X) / nk[:, None]
        full = np.empty((K, d, d))
        for k in range(K):
            D = X - means[k]
            full[k] = (r[:, k, None] * D).T @ D / nk[k]
        if ct == "full":
            covs = full + reg * np.eye(d)
        elif ct == "tied":
            covs = (full * nk[:, None, None]).sum(axis=0) / nk.sum() + reg * np.eye(d)
        elif ct == "diag":
            covs = np.einsum("kii->ki", full) + reg
        else:
            covs = np.einsum("kii->ki", full).mean(axis=1) + reg
    return np.array(trace)
