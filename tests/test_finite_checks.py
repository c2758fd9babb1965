"""The E-step's finiteness checks take one sum in the common case (issue 15):
a finite sum that overflows must still count as finite rows, and a NaN or an
infinity anywhere must still be caught, as by the exact element-wise checks."""

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from emkit.engine.em import normalize_log
from emkit.families.gaussian import GaussianFamily


def test_huge_finite_rows_whose_sum_overflows_are_kept():
    # every value finite, but the row maxima sum to -inf in float64
    lp = np.array([[-1.5e308, -1.5e308 - 1e293], [-1.6e308, -1.7e308], [-1.0, -2.0]])
    ref_norm = logsumexp(lp, axis=1)
    ref_resp = np.exp(lp - ref_norm[:, None])
    with np.errstate(over="ignore"):
        assert not np.isfinite(lp.max(axis=1).sum())
    log_norm, resp = normalize_log(lp.copy(), np.log([0.3, 0.7]))
    np.testing.assert_allclose(log_norm, ref_norm, rtol=1e-15)
    np.testing.assert_allclose(resp, ref_resp, rtol=1e-15, atol=1e-300)


def test_impossible_and_nan_rows_get_the_mixing_weights():
    lp = np.array([[-1.0, -3.0], [-np.inf, -np.inf], [np.nan, np.nan], [-2.0, -np.inf]])
    log_norm, resp = normalize_log(lp.copy(), np.log([0.25, 0.75]))
    np.testing.assert_allclose(resp[1], [0.25, 0.75])
    np.testing.assert_allclose(resp[2], [0.25, 0.75])
    np.testing.assert_allclose(resp[0], np.exp([-1.0, -3.0]) / np.exp([-1.0, -3.0]).sum())
    np.testing.assert_allclose(resp[3], [1.0, 0.0])
    assert log_norm[1] == -np.inf and np.isfinite(log_norm[[0, 3]]).all()


def test_a_row_too_far_to_score_is_minus_inf_and_the_rest_match_scipy():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    X[7] = 1e200  # its squared distance overflows float64
    fam = GaussianFamily("full", 1e-6, np.zeros(3))
    means = np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5]])
    covs = np.array([np.eye(3), np.diag([2.0, 0.5, 1.0])])
    P = np.linalg.cholesky(np.linalg.inv(covs))
    params = {"weights": np.array([0.4, 0.6]), "means": means, "precisions_cholesky": P}
    lp, _ = fam.log_prob_cached(X, params, None)
    assert lp[7].tolist() == [-np.inf, -np.inf]
    keep = np.arange(40) != 7
    for k in range(2):
        ref = multivariate_normal(means[k], covs[k]).logpdf(X[keep])
        np.testing.assert_allclose(lp[keep, k], ref, rtol=1e-12)
