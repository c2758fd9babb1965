"""Online EM (partial_fit): stepwise EM on the sufficient statistics."""

import dask.array as da
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import emkit
from emkit.mixture._online import step_size

RNG = np.random.default_rng(0)
N = 200_000
Z = RNG.choice(3, N, p=[0.3, 0.5, 0.2])
X = np.array([[0, 0, 0], [4, 1, -2], [-3, 5, 1]], float)[Z] \
    + RNG.normal(size=(N, 3)) * np.array([1, 1.5, 0.7])[Z][:, None]
COUNTS = RNG.poisson(np.array([1.0, 6.0, 15.0])[Z][:, None], size=(N, 2))

CASES = [
    *[(emkit.GaussianMixture, X, {"covariance_type": ct}) for ct in ("full", "tied", "diag", "spherical")],
    (emkit.PoissonMixture, COUNTS, {}),
]


@pytest.mark.parametrize("cls,data,kw", CASES, ids=lambda v: getattr(v, "__name__", None))
def test_100_minibatches_reach_the_batch_fit_within_one_percent(cls, data, kw):
    batch = cls(3, random_state=0, **kw).fit(data)
    online = cls(3, random_state=0, **kw)
    for i in range(100):
        online.partial_fit(data[i * 2000:(i + 1) * 2000])
    assert online.n_batches_ == 100
    ll_batch, ll_online = batch.score(data), online.score(data)
    assert abs(ll_online - ll_batch) <= 0.01 * abs(ll_batch)
    # and the first batch alone is not that good: the updates did the work
    first = cls(3, random_state=0, **kw).partial_fit(data[:2000])
    assert first.score(data) < ll_online


def test_poisson_updates_equal_stepwise_em_written_plainly():
    alpha = 0.7
    batches = [COUNTS[i * 500:(i + 1) * 500] for i in range(6)]
    w = RNG.integers(1, 4, 3000).astype(float)
    wb = [w[i * 500:(i + 1) * 500] for i in range(6)]
    est = emkit.PoissonMixture(3, random_state=0).partial_fit(batches[0], sample_weight=wb[0],
                                                              step_exponent=alpha)
    weights, rates = est.weights_.copy(), est.rates_.copy()
    # the running statistics (per unit weight) behind the first batch's parameters
    s_nk, s_sx = weights.copy(), rates * weights[:, None]
    for t, (B, wt) in enumerate(zip(batches, wb, strict=True)):
        if t == 0:
            continue
        lp = stats.poisson.logpmf(B[:, None, :], rates[None]).sum(axis=2) + np.log(weights)
        r = np.exp(lp - logsumexp(lp, axis=1, keepdims=True)) * wt[:, None]
        b_nk, b_sx = r.sum(0) / wt.sum(), r.T @ B / wt.sum()
        g = (t + 2.0) ** -alpha
        s_nk, s_sx = s_nk + g * (b_nk - s_nk), s_sx + g * (b_sx - s_sx)
        weights, rates = s_nk / s_nk.sum(), s_sx / s_nk[:, None]
        est.partial_fit(B, sample_weight=wt, step_exponent=alpha)
        np.testing.assert_allclose(est.rates_, rates, rtol=1e-10)
        np.testing.assert_allclose(est.weights_, weights, rtol=1e-10)
    assert est.n_batches_ == 6


def test_step_sizes_follow_cappe_moulines():
    assert step_size(1, 1.0) == pytest.approx(1 / 3)
    assert step_size(8, 0.6) == pytest.approx(10 ** -0.6)
    with pytest.raises(ValueError, match=r"step_exponent must be a number in \(0.5, 1\], got 0.5"):
        emkit.GaussianMixture(2).partial_fit(X[:100], step_exponent=0.5)


def test_partial_fit_on_every_family_and_on_dask_batches():
    Xb = (COUNTS[:4000] > 5).astype(float)
    for est, data, kw in [
        (emkit.BernoulliMixture(2, random_state=0), Xb, {}),
        (emkit.BinomialMixture(2, random_state=0), np.minimum(COUNTS[:4000], 10), {"n_trials": 10}),
        (emkit.CategoricalMixture(2, random_state=0), np.minimum(COUNTS[:4000], 4), {}),
    ]:
        for i in range(4):
            est.partial_fit(data[i * 1000:(i + 1) * 1000], **kw)
        assert est.n_batches_ == 4 and np.isfinite(est.score(data, **kw))
    a = emkit.GaussianMixture(2, random_state=0)
    b = emkit.GaussianMixture(2, random_state=0)
    for i in range(3):
        a.partial_fit(X[i * 3000:(i + 1) * 3000])
        b.partial_fit(da.from_array(X[i * 3000:(i + 1) * 3000], chunks=1000))
    np.testing.assert_allclose(b.means_, a.means_, rtol=1e-9)


def test_fit_resets_the_online_state_and_bad_batches_are_refused():
    est = emkit.GaussianMixture(2, random_state=0).partial_fit(X[:1000])
    est.partial_fit(X[1000:2000])
    assert est.n_batches_ == 2
    est.fit(X[:3000])
    est.partial_fit(X[3000:4000])
    assert est.n_batches_ == 1
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 3"):
        est.partial_fit(X[:10, :2])
    with pytest.raises(ValueError, match="fewer than n_components=3"):
        emkit.GaussianMixture(3).partial_fit(X[:2])
