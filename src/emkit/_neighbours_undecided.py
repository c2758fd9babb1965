"""Neighbour starts that the search subsample cannot judge, judged on all rows.

:mod:`emkit._neighbours_large` compares a split / merge start with the cell's
own fit on a fixed subsample of ``SEARCH_ROWS`` rows.  Two cases escape that
comparison:

- **within its noise** (:func:`undecided`): two fixed points whose mean
  per-row log-likelihoods on the subsample differ by less than the
  subsample's sampling error of that difference.  At 50,000 x 4, EII with 8
  components, a split fixed point was 82 units below the cell's on the
  10,000-row subsample and 253 above it on all rows; the standard error of
  the difference was 104 units.
- **components it does not hold** (:func:`heaviest_soft_split`): a ``K - 1``
  fit with components of a few rows collapses on the subsample whichever
  component is split, so every split "fails" there.

These are the third stage of emEM (Biernacki, Celeux & Govaert, CSDA
41:561-575, 2003) decided on all rows where the subsample cannot decide.
"""

from __future__ import annotations

import math

import numpy as np

from ._neighbour_moves import split_starts
from ._neighbours import Cell

#: standard errors (of the subsample's mean per-row difference between two fixed points)
#: within which a lower neighbour fixed point is judged on all rows instead (:func:`undecided`)
NOISE_Z = 2.0


def undecided(S, cand, mine, margin: float) -> bool:
    """Whether the subsample ``S`` cannot tell which of two settled fits is higher.

    Parameters
    ----------
    S : Problem
        The search subsample: rows ``S.Xv`` of shape (n_rows, n_features), their
        weights ``S.w`` of shape (n_rows,) and ``S.fit_params``.
    cand, mine : Cell
        A neighbour's fit and the cell's own fit, both run to convergence on ``S``.
    margin : float
        Mean per-row log-likelihood within which two settled fits are the same
        fixed point.

    Returns
    -------
    bool
        Both fits are non-degenerate and ``cand`` is below ``mine`` by more
        than ``margin`` (another fixed point) but by at most :data:`NOISE_Z`
        standard errors of the mean per-row difference of their log densities.
    """
    a, b = cand.model, mine.model
    if a.degenerate_components_ or b.degenerate_components_:
        return False
    gap = float(b.lower_bound_) - float(a.lower_bound_)
    if gap <= margin:
        return False
    diff = a.score_samples(S.Xv, **S.fit_params) - b.score_samples(S.Xv, **S.fit_params)
    w = S.w  # (n_rows,) frequency weights: the standard error of the weighted mean
    wsum = float(w.sum())
    spread = float(w @ (diff - (w @ diff) / wsum) ** 2) / wsum
    return gap <= NOISE_Z * math.sqrt(spread * float(w @ w)) / wsum


def heaviest_soft_split(problem, source, k, ct) -> Cell | None:
    """The ``K - 1`` fit with its heaviest component soft-split, continued on all rows.

    When every split settles degenerate on the subsample, the subsample may
    not hold enough of the ``K - 1`` fit's own small components (at 50,000 x 4,
    VEV with 8 components has two of 16 and 5 rows; the 10,000-row subsample
    holds 2.5 and 1 of them, and they collapse whichever component is split).
    The soft split of the heaviest component (each row's share divided by its
    coordinate on the component's principal axis, both halves keeping its
    spread; :func:`emkit._neighbour_moves.split_starts`) starts near the
    ``K - 1`` log-likelihood on all rows, which EM cannot fall below; one run
    there decides.

    Returns
    -------
    Cell or None
        The continued fit (``start="split"``), or None when the split or the
        fit failed.
    """
    resp = problem.responsibilities(source)  # (n_rows, K - 1)
    j = int(np.argmax(source.weights_))
    starts = split_starts(source._fitted_family(), problem.data_of(source), problem.backend, resp,
                          soft=True, components=(j,))
    if not starts:
        return None
    model, _, recorded = problem.fit(problem.warm(starts[0], k, ct))
    if model is None:
        return None
    model.warm_start = False
    return Cell(model, None, recorded, "split")
