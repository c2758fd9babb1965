"""The greedy nearest-partner merge loop shared by the agglomerative trees.

Both trees (:func:`emkit.engine.hcvvv.vvv_merges`, the unconstrained Gaussian
criterion, and :func:`emkit.engine.mbhac.ward_merges`, Ward's criterion) make
the cheapest merge at every step.  They differ only in how a merge changes the
clusters and what merging the new cluster with another costs; this driver keeps
the ``(m, m)`` cost matrix and every cluster's cheapest partner, and asks a
callback for the rest.  Every row keeps its cheapest partner, updated whenever
the merged cluster becomes cheaper, so the result is exact without assuming the
criterion is reducible (Fraley 1998, section 3).

References
----------
Fraley, C. (1998). Algorithms for model-based Gaussian hierarchical
clustering. SIAM Journal on Scientific Computing 20(1):270-281.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def greedy_merges(D: np.ndarray, merge: Callable[[int, int, np.ndarray], np.ndarray]) -> np.ndarray:
    """Merge the cheapest pair until one cluster is left.

    Parameters
    ----------
    D : ndarray of shape (m, m)
        Symmetric costs of merging each pair of single clusters, ``inf`` on the
        diagonal; overwritten.
    merge : callable ``merge(i, j, others) -> row``
        Puts the merge of clusters ``i < j`` in slot ``i`` (the caller's state)
        and returns, as an ndarray of shape ``(others.size,)``, the costs of
        merging the new cluster ``i`` with each living cluster in ``others``
        (``i`` excluded; empty after the last merge, when the row is not
        used).  Called once per merge.

    Returns
    -------
    merges : ndarray of shape (m - 1, 2)
        Row ``t`` merges cluster slot ``merges[t, 1]`` into slot
        ``merges[t, 0]`` (``merges[t, 0] < merges[t, 1]``; a slot is named by
        one of its original points), cheapest first.
    """
    m = D.shape[0]
    nn = D.argmin(axis=1)
    nnd = D[np.arange(m), nn]
    alive = np.ones(m, dtype=bool)
    merges = np.empty((max(m - 1, 0), 2), dtype=np.intp)
    for step in range(m - 1):
        i = int(np.argmin(nnd))
        j = int(nn[i])
        if j < i:
            i, j = j, i
        merges[step] = (i, j)
        alive[j] = False
        D[j, :] = np.inf
        D[:, j] = np.inf
        nnd[j] = np.inf
        others = np.flatnonzero(alive)
        others = others[others != i]
        row = merge(i, j, others)
        if others.size == 0:
            continue
        D[i, others] = row
        D[others, i] = row
        # rows whose cheapest partner was i or j look again; the others compare with i
        stale = (nn[others] == i) | (nn[others] == j)
        redo = others[stale]
        keep = others[~stale]
        better = D[keep, i] < nnd[keep]
        nn[keep[better]] = i
        nnd[keep[better]] = D[keep[better], i]
        if redo.size:
            sub = D[redo]
            nn[redo] = sub.argmin(axis=1)
            nnd[redo] = sub[np.arange(redo.size), nn[redo]]
        nn[i] = int(np.argmin(D[i]))
        nnd[i] = D[i, nn[i]]
    return merges
