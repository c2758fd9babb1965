"""Model-based hierarchical agglomeration under the unconstrained Gaussian model (mclust's VVV).

Banfield & Raftery (1993) agglomerate clusters so as to lose the least
classification likelihood of a Gaussian mixture; for the unconstrained
model ("VVV") each cluster ``k`` of ``n_k`` points with scatter matrix
``W_k`` contributes ``n_k log |W_k / n_k|`` to the criterion to be
minimised.  Small clusters have singular scatter matrices, so Fraley (1998)
regularises the term of a cluster of ``l`` points with trace ``t = tr W``:

    term(l, W) = l * log(beta * (t + alpha) / l)                 if l <= p
    term(l, W) = l * log(det(W / l) + beta * (t + alpha) / l)    if l > p

with ``beta = 1`` and ``alpha = tr(W_total) / (n p)`` (the scatter of all
the data, per point and feature).  Merging clusters ``a`` and ``b`` costs
``term(a + b) - term(a) - term(b)``, where the merged scatter is
``W_a + W_b + n_a n_b / (n_a + n_b) (mean_a - mean_b)(mean_a - mean_b)'``;
each step makes the cheapest merge.  A group of ``l`` identical points
starts as one cluster of ``l`` points with zero scatter (mclust's
``dupPartition``).

mclust agglomerates on its ``hcUse = "SVD"`` coordinates: the data centred
and scaled to unit standard deviation (``n - 1`` denominator), rotated by
the right singular vectors of that matrix and each coordinate divided by the
square root of its singular value.  The criterion is not scale invariant
(the determinant scales as ``s^(2p)``, the trace term as ``s^2``), so the
coordinates are reproduced exactly.

Cost: an ``(m, m)`` matrix of merge costs and, per merge step, one
vectorised pass over the ``m`` clusters (a batched determinant of ``p x p``
matrices) plus a rescan of the rows whose nearest cluster took part in the
merge; O(m^2) memory and O(m^2 p^3) time in all.  Every row keeps its
cheapest partner, updated whenever the merged cluster becomes cheaper, so
the result is exact without assuming the criterion is reducible.

References
----------
Banfield, J. D. and Raftery, A. E. (1993). Model-based Gaussian and
non-Gaussian clustering. Biometrics 49(3):803-821.
Fraley, C. (1998). Algorithms for model-based Gaussian hierarchical
clustering. SIAM Journal on Scientific Computing 20(1):270-281.
Scrucca, L., Fop, M., Murphy, T. B. and Raftery, A. E. (2016). mclust 5:
clustering, classification and density estimation using Gaussian finite
mixture models. The R Journal 8(1):289-317.
"""

from __future__ import annotations

import numpy as np

from ._agglomerate import greedy_merges

#: rows of the initial cost matrix computed at once (bounds the (rows, m, p) differences)
_BLOCK = 128


def group_duplicates(X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Identical rows as one row whose weight is their total, in order of first occurrence.

    Parameters
    ----------
    X : ndarray of shape (m, p)
    w : ndarray of shape (m,)

    Returns
    -------
    X_unique : ndarray of shape (u, p)
    w_unique : ndarray of shape (u,)
    rows : ndarray of shape (m,)
        The unique row of every row.
    """
    _, first, inverse = np.unique(X, axis=0, return_index=True, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    Xu = X[first[order]]
    rows = rank[inverse]
    wu = np.bincount(rows, weights=w, minlength=order.size)
    return Xu, wu, rows


def svd_coordinates(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """mclust's ``hcUse = "SVD"`` coordinates of weighted rows.

    Columns are centred and scaled by their standard deviation (denominator
    ``sum(w) - 1``; constant columns dropped), rotated by the right singular
    vectors of the scaled matrix (rows weighted by ``sqrt(w)``, i.e. as if
    repeated ``w`` times) and divided by the square roots of the singular
    values (directions with a negligible singular value dropped).

    Parameters
    ----------
    X : ndarray of shape (m, p)
    w : ndarray of shape (m,)
        Positive weights (counts of identical rows).

    Returns
    -------
    Z : ndarray of shape (m, q), q <= p
    """
    total = w.sum()
    mean = (w @ X) / total
    Xc = X - mean
    var = (w @ (Xc * Xc)) / max(total - 1.0, 1e-300)
    sd = np.sqrt(var)
    keep = sd > 0
    Xs = Xc[:, keep] / sd[keep]
    if Xs.shape[1] == 0:
        return Xs
    _, s, Vt = np.linalg.svd(Xs * np.sqrt(w)[:, None], full_matrices=False)
    good = s > s[0] * 1e-10 if s[0] > 0 else np.zeros(s.shape, bool)
    return (Xs @ Vt[good].T) / np.sqrt(s[good])


def _terms(l: np.ndarray, W: np.ndarray | None, trace: np.ndarray, p: int, alpha: float,
           beta: float) -> np.ndarray:
    """Regularised criterion of clusters of ``l`` points, scatter ``W`` (shape (a, p, p))."""
    base = beta * (trace + alpha) / l
    det = np.zeros_like(base)
    if W is not None:
        big = np.flatnonzero(l > p)
        if big.size:
            sign, logdet = np.linalg.slogdet(W[big] / l[big, None, None])
            det[big] = np.where(sign > 0, np.exp(logdet), 0.0)
    return l * np.log(det + base)


def vvv_alpha(Z: np.ndarray, w: np.ndarray) -> float:
    """``alpha = tr(W_total) / (n p)`` of weighted rows (mclust's default, ``alpha = 1`` scaled)."""
    total = w.sum()
    Zc = Z - (w @ Z) / total
    a = float((w @ (Zc * Zc)).sum()) / (total * Z.shape[1])
    return max(a, np.finfo(float).eps)


def vvv_merges(Z: np.ndarray, w: np.ndarray, alpha: float | None = None,
               beta: float = 1.0) -> np.ndarray:
    """Agglomeration of weighted points under the regularised VVV criterion.

    Parameters
    ----------
    Z : ndarray of shape (m, p), p >= 2
        Distinct points (see :func:`group_duplicates`).
    w : ndarray of shape (m,)
        Positive weights: the number of identical points each row stands for.
    alpha : float, optional
        Regularisation; default :func:`vvv_alpha`.
    beta : float, default=1.0

    Returns
    -------
    merges : ndarray of shape (m - 1, 2)
        The merge sequence, as :func:`emkit.engine._agglomerate.greedy_merges`
        returns it.
    """
    Z = np.asarray(Z, dtype=np.float64)
    m, p = Z.shape
    if p < 2:
        raise ValueError("the VVV agglomeration needs at least two features")
    if alpha is None:
        alpha = vvv_alpha(Z, w)
    n = np.asarray(w, dtype=np.float64).copy()
    mean = Z.copy()
    W = np.zeros((m, p, p))
    trace = np.zeros(m)
    term = _terms(n, None, trace, p, alpha, beta)
    # two single groups: the merged scatter has rank one, so its determinant is 0 (p >= 2)
    D = np.empty((m, m))
    for s in range(0, m, _BLOCK):
        diff = Z[s:s + _BLOCK, None, :] - Z[None, :, :]
        d2 = np.einsum("abk,abk->ab", diff, diff)
        l = n[s:s + _BLOCK, None] + n[None, :]
        t = (n[s:s + _BLOCK, None] * n[None, :] / l) * d2
        D[s:s + _BLOCK] = l * np.log(beta * (t + alpha) / l) - term[s:s + _BLOCK, None] - term[None, :]
    np.fill_diagonal(D, np.inf)

    def merge(i: int, j: int, others: np.ndarray) -> np.ndarray:
        # the merged cluster goes to slot i
        ni, nj = n[i], n[j]
        nij = ni + nj
        delta = mean[i] - mean[j]
        c = ni * nj / nij
        W[i] += W[j] + c * np.outer(delta, delta)
        trace[i] += trace[j] + c * (delta @ delta)
        mean[i] = (ni * mean[i] + nj * mean[j]) / nij
        n[i] = nij
        term[i] = _terms(n[i:i + 1], W[i:i + 1], trace[i:i + 1], p, alpha, beta)[0]
        # cost of merging the new cluster with every other one, in one vectorised pass
        l = n[i] + n[others]
        diff = mean[others] - mean[i]
        c = n[i] * n[others] / l
        Wm = W[others] + W[i] + c[:, None, None] * (diff[:, :, None] * diff[:, None, :])
        tr = trace[others] + trace[i] + c * np.einsum("ak,ak->a", diff, diff)
        return _terms(l, Wm, tr, p, alpha, beta) - term[i] - term[others]

    return greedy_merges(D, merge)
