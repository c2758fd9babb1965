"""Shared helpers of the discrete-family tests."""

import itertools

import numpy as np

import emkit

FAMILY_PARAM = {
    emkit.BernoulliMixture: ("probs", "probs_init"),
    emkit.BinomialMixture: ("probs", "probs_init"),
    emkit.PoissonMixture: ("rates", "rates_init"),
    emkit.CategoricalMixture: ("probs", "probs_init"),
}


def known_model(cls, weights, param, X, fit_kwargs=None, **kwargs):
    """An estimator holding exactly ``weights`` and ``param``.

    Built through the public API: every parameter is fixed, so one EM
    iteration changes nothing and the run converges at once.
    """
    name, init = FAMILY_PARAM[cls]
    weights = np.asarray(weights, dtype=float)
    est = cls(
        len(weights), weights_init=weights, fixed=("weights", name), max_iter=1,
        **{init: param}, **kwargs,
    ).fit(X, **(fit_kwargs or {}))
    assert est.converged_
    # (categorical probabilities are renormalised over the categories, to rounding)
    np.testing.assert_allclose(getattr(est, name + "_"), np.asarray(param, dtype=float), rtol=1e-15)
    return est


def best_permutation(estimated, true):
    """Component order of ``estimated`` that best matches ``true`` (axis 0)."""
    K = true.shape[0]
    flat_e = estimated.reshape(K, -1)
    flat_t = true.reshape(K, -1)
    return min(
        itertools.permutations(range(K)),
        key=lambda perm: np.abs(flat_e[list(perm)] - flat_t).sum(),
    )
