"""Model-based hierarchical agglomerative clustering (MBHAC) as a start for EM.

Three trees are offered: ``"vvv"``, mclust's default (the unconstrained
Gaussian criterion on mclust's scaled-SVD coordinates, duplicated rows
grouped first; see :mod:`emkit.engine.hcvvv`), and Ward's criterion on the
scaled-SVD (``"svd"``) or raw (``"raw"``) coordinates.  Fraley (1998) showed that agglomerating clusters so as to lose the least
classification likelihood of a Gaussian mixture is fast and deterministic,
and mclust starts EM from the partition it gives at each number of
components.  Under the spherical, equal-volume model (mclust's ``"EII"``)
the loss of merging clusters ``a`` and ``b`` is Ward's criterion,

    Delta(a, b) = n_a n_b / (n_a + n_b) * |mean_a - mean_b|^2,

up to a constant factor.  mclust by default agglomerates on data transformed
by a scaled singular value decomposition (``hcUse = "SVD"``), which makes
the spherical model affine invariant: the criterion is then the
Mahalanobis form of Ward's criterion with the data's own covariance.  This
module provides both trees (``"svd"`` and ``"raw"`` coordinates).

The agglomeration runs on a deterministic weighted subsample of at most
:data:`MBHAC_SAMPLE_SIZE` rows (every row below that size), in O(m^2) time
and memory, with the greedy nearest-partner loop of
:mod:`emkit.engine._agglomerate`: every cluster keeps its nearest neighbour,
recomputed only for the clusters that pointed at the merged pair (Ward's
criterion is reducible: merging ``a`` and ``b`` never brings the merged
cluster closer to ``c`` than the nearer of ``a`` and ``b``).  Trees are
cached by subsample, so fits of several numbers of components or covariance
types on the same data build each tree once.

References
----------
Fraley, C. (1998). Algorithms for model-based Gaussian hierarchical
clustering. SIAM Journal on Scientific Computing 20(1):270-281.
Ward, J. H. (1963). Hierarchical grouping to optimize an objective function.
JASA 58(301):236-244.
Scrucca, L., Fop, M., Murphy, T. B. and Raftery, A. E. (2016). mclust 5:
clustering, classification and density estimation using Gaussian finite
mixture models. The R Journal 8(1):289-317 (the SVD transformation).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from ..backends.numpy_backend import Data, NumpyBackend
from ._agglomerate import greedy_merges
from .hcvvv import group_duplicates, svd_coordinates, vvv_merges

#: at most this many distinct rows are agglomerated (an (m, m) float64
#: matrix: 8 MB at 1,000 rows)
MBHAC_SAMPLE_SIZE = 1000
#: fixed seed of the subsample, so the start does not depend on random_state
_SUBSAMPLE_SEED = 19980101
_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 16


def subsample(data: Data, backend: NumpyBackend, size: int = MBHAC_SAMPLE_SIZE) -> Data:
    """Rows with positive weight, or a fixed weighted subsample of ``size`` draws.

    Returns an in-memory ``Data`` (rows drawn ``k`` times carry weight ``k``).
    """
    from .init import _weighted_subsample, centre_of

    if data.n_samples <= size:
        w = np.asarray(data.sample_weight, dtype=np.float64)  # at most ``size`` rows
        keep = np.flatnonzero(w > 0)
        X = np.asarray(data.X[keep] if keep.size < data.n_samples else data.X, dtype=np.float64)
        return Data(X, w[keep])
    shift = centre_of(data, backend)
    sub = _weighted_subsample(data, backend, shift, np.random.RandomState(_SUBSAMPLE_SEED), size)
    return Data(np.asarray(sub.X, dtype=np.float64), sub.sample_weight)


def _coordinates(X: np.ndarray, w: np.ndarray, kind: str) -> np.ndarray:
    Z = X - (w @ X) / w.sum()
    if kind == "svd":
        _, s, Vt = np.linalg.svd(Z * np.sqrt(w / w.sum())[:, None], full_matrices=False)
        keep = s > s[0] * 1e-10 if s.size and s[0] > 0 else np.zeros(s.shape, bool)
        Z = (Z @ Vt[keep].T) / s[keep]
    return Z


def ward_merges(Z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Ward agglomeration of weighted points, as a merge sequence.

    Parameters
    ----------
    Z : ndarray of shape (m, p)
    w : ndarray of shape (m,)
        Positive weights (cluster sizes of the single points).

    Returns
    -------
    merges : ndarray of shape (m - 1, 2)
        Row ``t`` merges cluster slot ``merges[t, 1]`` into slot
        ``merges[t, 0]`` (a slot is named by one of its original points).
    """
    m = Z.shape[0]
    C = np.array(Z, dtype=np.float64)
    size = np.array(w, dtype=np.float64)
    sq = (C * C).sum(axis=1)
    D = sq[:, None] + sq[None, :] - 2.0 * (C @ C.T)
    np.maximum(D, 0.0, out=D)
    D *= (size[:, None] * size[None, :]) / (size[:, None] + size[None, :])
    np.fill_diagonal(D, np.inf)

    def merge(i: int, j: int, others: np.ndarray) -> np.ndarray:
        si, sj = size[i], size[j]
        C[i] = (si * C[i] + sj * C[j]) / (si + sj)
        size[i] = si + sj
        diff = C[others] - C[i]
        return (diff ** 2).sum(axis=1) * (size[others] * size[i] / (size[others] + size[i]))

    return greedy_merges(D, merge)


def cut(merges: np.ndarray, m: int, n_clusters: int) -> np.ndarray:
    """Labels ``0..n_clusters-1`` of the ``m`` points after ``m - n_clusters`` merges."""
    parent = np.arange(m)
    steps = merges[: max(m - n_clusters, 0)]
    parent[steps[:, 1]] = steps[:, 0]
    while True:  # path halving until every point points at its root
        nxt = parent[parent]
        if np.array_equal(nxt, parent):
            break
        parent = nxt
    _, labels = np.unique(parent, return_inverse=True)
    return labels


def _vvv_tree(X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # identical rows form one starting cluster (mclust's dupPartition); weights that are
    # not counts are rescaled to a mean of one point per row
    if not np.allclose(w, np.round(w)):
        w = w * (w.size / w.sum())
    Xu, wu, rows = group_duplicates(X, w)
    return vvv_merges(svd_coordinates(Xu, wu), wu), rows


def _tree(X: np.ndarray, w: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Merge sequence of the tree and, for "vvv", the tree point of every row."""
    h = hashlib.sha1(np.ascontiguousarray(X).tobytes())
    h.update(np.ascontiguousarray(w).tobytes())
    key = (h.hexdigest(), X.shape, kind)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    if kind == "vvv":
        tree = _vvv_tree(X, w)
    else:
        tree = (ward_merges(_coordinates(X, w, kind), w), None)
    _CACHE[key] = tree
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return tree


def mbhac_labels(sub: Data, n_clusters: int, kind: str = "svd") -> np.ndarray:
    """Partition of a (sub)sample into ``n_clusters`` by model-based agglomeration.

    Parameters
    ----------
    sub : Data
        In-memory rows with positive weights (see :func:`subsample`).
    n_clusters : int
    kind : {"vvv", "svd", "raw"}
        mclust's default tree (unconstrained Gaussian criterion on its
        scaled-SVD coordinates; Ward's "svd" tree for one feature), or
        Ward's criterion on scaled-SVD coordinates or on the data as given.

    Returns
    -------
    labels : ndarray of shape (n_rows,)
        Values in ``0..n_clusters-1``; fewer distinct labels when the
        subsample has fewer rows than ``n_clusters``.
    """
    X = np.asarray(sub.X, dtype=np.float64)
    if kind == "vvv" and X.shape[1] < 2:
        kind = "svd"
    merges, rows = _tree(X, sub.sample_weight, kind)
    if rows is None:
        return cut(merges, X.shape[0], n_clusters)
    return cut(merges, merges.shape[0] + 1, n_clusters)[rows]
