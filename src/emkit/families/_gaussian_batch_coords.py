"""SQUAREM's per-run work for several Gaussian runs at once: coordinates and degeneracy.

Every SQUAREM cycle (:mod:`emkit.engine.squarem`; Varadhan & Roland 2008)
maps three iterates to unconstrained coordinates, maps the extrapolated
point back, and tests the stabilised point for collapsed components.  On
a few hundred rows each of these costs a few NumPy and LAPACK calls per
run, as much as a batched pass; here the components of all runs are
stacked along one axis (run ``r`` owning a contiguous block) and each map
is one call per kind of array.  LAPACK factors every matrix of a stack on
its own, so each run gets exactly what the family's one-run method gives
(:meth:`~emkit.families.gaussian.GaussianFamily.to_unconstrained`,
``from_unconstrained``, ``degenerate_components``).

References
----------
Varadhan, R. and Roland, C. (2008). Simple and globally convergent methods
for accelerating the convergence of any EM algorithm. Scandinavian Journal
of Statistics 35(2):335-353.
"""

from __future__ import annotations

from itertools import accumulate

import numpy as np

from ._covariance import covariances_from_unconstrained, covariances_to_unconstrained
from ._scale import whitened_min_eigenvalues


def _blocks(sizes) -> list[slice]:
    """Each run's block of the stacked components (runs of ``sizes`` components)."""
    return [slice(a - k, a) for a, k in zip(accumulate(sizes), sizes)]


def to_unconstrained(ct: str, params_list, centre, sd) -> list[dict]:
    """Every run's ``means`` (centred, in units of ``sd``) and covariance coordinates.

    Parameters
    ----------
    ct : {"full", "tied", "diag", "spherical"}
    params_list : list of dict
        ``means`` (K_r, d) and ``covariances`` of every run.
    centre, sd : ndarray of shape (d,)
        The family's centre and the features' standard deviations.

    Returns
    -------
    list of dict
        Per run, what ``GaussianFamily.to_unconstrained`` gives.
    """
    means = [np.asarray(p["means"], dtype=np.float64) for p in params_list]
    blocks = _blocks([m.shape[0] for m in means])
    M = (np.concatenate(means) - centre) / sd
    covs = [np.asarray(p["covariances"], dtype=np.float64) for p in params_list]
    if ct == "tied":  # one matrix per run
        coords = covariances_to_unconstrained(np.stack(covs), ct, sd)
        return [{"means": M[b], **{k: v[r] for k, v in coords.items()}}
                for r, b in enumerate(blocks)]
    coords = covariances_to_unconstrained(np.concatenate(covs), ct, sd)
    return [{"means": M[b], **{k: v[b] for k, v in coords.items()}} for b in blocks]


def from_unconstrained(ct: str, theta_list, reg_covar: float, centre, sd) -> list[dict]:
    """The inverse of :func:`to_unconstrained`: every run's means, covariances and factors.

    Raises
    ------
    SingularCovarianceError
        When any run's covariance is not positive definite (the caller maps
        the runs one by one to find which, with its own message).
    """
    blocks = _blocks([t["means"].shape[0] for t in theta_list])
    means = np.concatenate([t["means"] for t in theta_list]) * sd + centre
    keys = [k for k in theta_list[0] if k != "means"]
    if ct == "tied":  # one matrix per run: the full map on the (R, d, d) stack
        stacked = {k: np.stack([t[k] for t in theta_list]) for k in keys}
        cov, prec = covariances_from_unconstrained(stacked, "full", reg_covar, sd)
        return [{"means": means[b], "covariances": cov[r], "precisions_cholesky": prec[r]}
                for r, b in enumerate(blocks)]
    stacked = {k: np.concatenate([t[k] for t in theta_list]) for k in keys}
    cov, prec = covariances_from_unconstrained(stacked, ct, reg_covar, sd)
    return [{"means": means[b], "covariances": cov[b], "precisions_cholesky": prec[b]}
            for b in blocks]


def degenerate_components(family, params_list) -> list[list[int]]:
    """Per run, ``family.degenerate_components(params)``, with one eigenvalue call."""
    covs = [family.covariance_matrices(p) for p in params_list]
    blocks = _blocks([c.shape[0] for c in covs])
    stacked = np.concatenate(covs)
    d = stacked.shape[-1]
    scale = family.reg_scale(d)
    eig_min, _ = whitened_min_eigenvalues(stacked, scale)
    r = 1.0 / np.sqrt(scale)
    tops = np.diagonal(stacked * (r[:, None] * r[None, :]), axis1=1, axis2=2).max(axis=1)
    out = []
    for b in blocks:
        top = max(float(tops[b].max()), 0.0)
        threshold = max(2.0 * family.reg_covar, 1e-12 * top)
        out.append([int(k) for k in np.flatnonzero(eig_min[b] <= threshold)])
    return out
