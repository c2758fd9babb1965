"""The split and merge moves that give starts along the number of components.

Both are built from responsibilities and go through the family's own M-step
(:func:`emkit.engine.em.params_from_resp`), so they work for every family
without knowing which one it is:

- **split** component ``j``: its responsibilities are divided between two
  new components by the side of the hyperplane through its (responsibility
  weighted) mean, normal to the principal axis of its weighted scatter, on
  which each row falls;
- **merge** components ``a`` and ``b``: their responsibility columns are
  added.  Pairs are ranked by how much their posteriors overlap,
  ``r_a . r_b / (|r_a| |r_b|)``.

These are the split and merge moves of Ueda, Nakano, Ghahramani & Hinton
(SMEM, Neural Computation 12:2109-2128, 2000).  Every function here works
chunk by chunk on the given backend; the largest array is the
``(n_rows, n_components)`` responsibility matrix.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

from .backends.numpy_backend import Data
from .engine.em import params_from_resp

_R = "_neighbour_r"


def _with_column(data: Data, r: np.ndarray) -> Data:
    return Data(data.X, data.sample_weight, {**data.aux, _R: r})


def _split_side(data: Data, backend, r: np.ndarray, soft: bool = False) -> np.ndarray:
    """For every row, whether it lies on the positive side of component ``r``'s principal axis.

    Parameters
    ----------
    r : ndarray of shape (n_samples,)
        The component's responsibilities.
    soft : bool
        Instead, the share of the row that goes to the positive side:
        ``expit(2 t)`` of its standardised coordinate ``t`` on the axis
        (``t = (x - mean) . v / sqrt(lambda)``, ``lambda`` the axis' variance).

    Returns
    -------
    side : ndarray of shape (n_samples,), bool (float with ``soft``)
    """
    rd = _with_column(data, r)

    def mass(ch):
        rw = ch.aux[_R] * ch.sample_weight
        return rw.sum(), rw @ np.asarray(ch.X, dtype=np.float64)

    total, first = backend.map_reduce(mass, rd)
    mean = first / max(total, 1e-300)

    def scatter(ch):
        rw = ch.aux[_R] * ch.sample_weight
        Xc = np.asarray(ch.X, dtype=np.float64) - mean
        return ((Xc * rw[:, None]).T @ Xc,)

    (S,) = backend.map_reduce(scatter, rd)
    evals, evecs = np.linalg.eigh(S)
    axis = evecs[:, -1]
    if soft:
        scale = 2.0 / math.sqrt(max(evals[-1] / max(total, 1e-300), 1e-300))
        return backend.map_concat(
            lambda ch: expit(scale * ((np.asarray(ch.X, dtype=np.float64) - mean) @ axis)), rd
        )
    return backend.map_concat(
        lambda ch: (np.asarray(ch.X, dtype=np.float64) - mean) @ axis > 0.0, rd
    )


def split_starts(family, data: Data, backend, resp: np.ndarray, fixed=frozenset(),
                 soft: bool = False, components=None) -> list[dict]:
    """Parameters with one more component: each existing component split in turn.

    Parameters
    ----------
    family : Family
        The family the ``K - 1`` model was fitted with.
    data : Data
    backend : NumpyBackend or DaskBackend
    resp : ndarray of shape (n_samples, K - 1)
        Responsibilities of the ``K - 1`` model.
    fixed : frozenset of str
    soft : bool
        Divide each row's responsibility smoothly by its standardised
        coordinate on the principal axis (see :func:`_split_side`) instead
        of by the side of the hyperplane.  Both halves then keep the whole
        component's spread, so on rounded data neither starts on a few
        collinear rows (where a hard split's half can collapse).
    components : iterable of int, default=None
        The components to split (None: every one).

    Returns
    -------
    starts : list of dict
        One parameter dict with ``K`` components per splittable component
        (components whose rows all fall on one side are skipped).
    """
    starts = []
    for j in range(resp.shape[1]) if components is None else components:
        r = resp[:, j]
        side = _split_side(data, backend, r, soft)
        a = side * r if soft else np.where(side, r, 0.0)
        b = r - a
        if not (a @ data.sample_weight > 0 and b @ data.sample_weight > 0):
            continue
        new = np.column_stack([np.delete(resp, j, axis=1), a, b])
        starts.append(_params(family, data, backend, new, fixed))
    return [s for s in starts if s is not None]


def merge_starts(family, data: Data, backend, resp: np.ndarray, n_pairs: int = 3,
                 fixed=frozenset()) -> list[dict]:
    """Parameters with one fewer component: the most overlapping pairs merged.

    Parameters
    ----------
    resp : ndarray of shape (n_samples, K + 1)
        Responsibilities of the ``K + 1`` model.
    n_pairs : int
        How many pairs to merge (each gives one start), most overlapping first.

    Returns
    -------
    starts : list of dict
        Parameter dicts with ``K`` components.
    """
    K1 = resp.shape[1]
    if K1 < 2:
        return []
    gram = resp.T @ resp  # (K + 1, K + 1); one pass over the responsibilities
    norms = np.sqrt(np.maximum(np.diag(gram), 1e-300))
    overlap = gram / norms[:, None] / norms[None, :]
    a_idx, b_idx = np.triu_indices(K1, 1)
    order = np.argsort(-overlap[a_idx, b_idx], kind="stable")[:n_pairs]
    starts = []
    for p in order:
        a, b = int(a_idx[p]), int(b_idx[p])
        keep = [k for k in range(K1) if k not in (a, b)]
        new = np.column_stack([resp[:, keep], resp[:, a] + resp[:, b]])
        starts.append(_params(family, data, backend, new, fixed))
    return [s for s in starts if s is not None]


def _params(family, data, backend, resp, fixed) -> dict | None:
    """One M-step from ``resp``; None when the family cannot estimate from it (singular)."""
    try:
        params = params_from_resp(family, data, resp, backend, fixed=fixed)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError):
        return None
    if not all(np.all(np.isfinite(np.asarray(v))) for v in params.values()):
        return None
    return params
