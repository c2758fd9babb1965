"""Convergence monitor: Aitken's rule, decrease warnings, plateaus, data-pass counts."""

import numpy as np
import pytest

import emkit
from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.engine.em import run_em
from emkit.engine.monitor import ConvergenceMonitor, aitken_remaining
from emkit.exceptions import LikelihoodDecreaseWarning
from emkit.families.gaussian import GaussianFamily, precisions_to_params


def test_aitken_estimate_is_exact_on_a_geometric_sequence():
    # l_k = L - c a^k: the estimated limit is L exactly, so the remaining gain after l_1 is L - l_1
    L, c, a = -3.25, 0.5, 0.9
    l0, l1, l2 = (L - c * a**k for k in range(3))
    assert aitken_remaining(l0, l1, l2) == pytest.approx(L - l1, rel=1e-12)
    # gains that do not shrink give no estimate; a step that gains nothing is converged
    assert aitken_remaining(0.0, 1.0, 2.5) == np.inf
    assert aitken_remaining(-1.0, -0.5, -0.5) == 0.0


def test_monitor_warns_on_a_decrease_beyond_rounding_only():
    mon = ConvergenceMonitor(1e-9, 10)
    mon.start(-2.0)
    mon.record(-1.5, {})
    mon.record(-1.5 - 1e-15, {})  # rounding: no warning
    with pytest.warns(LikelihoodDecreaseWarning, match="decreased from -1.5"):
        mon.record(-1.6, {})
    assert mon.n_decreases == 1


def _case1_far_start():
    rs = np.random.RandomState(0)
    X = np.r_[rs.normal(0, 1, 50), rs.normal(2, 1, 50)][:, None]
    fam = GaussianFamily("full", 0.0, X.mean(axis=0))
    cov, chol = precisions_to_params(np.full((2, 1, 1), 0.25), "full", 0.0)
    p0 = {"weights": np.array([0.5, 0.5]), "means": np.array([[0.0], [1.0]]), "covariances": cov,
          "precisions_cholesky": chol}
    return X, fam, p0


def test_stopping_on_a_plateau_is_not_convergence():
    # reference case 1 from its far start: plain EM crawls along a ridge; after 700 steps each
    # gains less than 1e-9 per sample, but Aitken's estimate of what is left is larger
    X, _, _ = _case1_far_start()
    gm = emkit.GaussianMixture(2, weights_init=[0.5, 0.5], means_init=[[0.0], [1.0]],
                               precisions_init=np.full((2, 1, 1), 0.25), reg_covar=0.0,
                               tol=1e-9, max_iter=700, acceleration=None)
    with pytest.warns(emkit.ConvergenceWarning, match="slow plateau"):
        gm.fit(X)
    assert not gm.converged_ and gm.plateau_
    assert abs(gm.history_[-1] - gm.history_[-2]) < 1e-9
    # the same fit given the passes it needs converges, higher up
    done = gm.set_params(max_iter=5000).fit(X)
    assert done.converged_ and not done.plateau_


class CountingBackend(NumpyBackend):
    """Counts map_reduce calls: every E-step over the data is one."""

    def __init__(self, chunk_size=None):
        super().__init__(chunk_size)
        self.calls = 0

    def map_reduce(self, fn, data, n_components=1):
        self.calls += 1
        return super().map_reduce(fn, data, n_components)


@pytest.mark.parametrize("acceleration", [None, "squarem"])
@pytest.mark.parametrize("max_iter", [0, 1, 2, 3, 4, 5, 6, 7, 10, 25])
def test_data_passes_never_exceed_max_iter(acceleration, max_iter):
    X, fam, p0 = _case1_far_start()
    be = CountingBackend()
    res = run_em(fam, p0, Data(X, np.ones(len(X))), be, tol=0.0, max_iter=max_iter,
                 acceleration=acceleration)
    # one pass evaluates the start, then at most max_iter more (issue 10: SQUAREM took max_iter + 1)
    assert be.calls == res.extra["n_passes"] == res.n_iter + 1
    assert res.n_iter == max_iter  # tol=0: every allowed pass is used
    assert not res.converged


@pytest.mark.parametrize("acceleration", [None, "squarem"])
def test_estimator_reports_its_passes(acceleration):
    X, _, _ = _case1_far_start()
    gm = emkit.GaussianMixture(2, init_params="kmeans", random_state=0, max_iter=5000,
                               acceleration=acceleration).fit(X)
    assert gm.converged_
    assert gm.n_passes_ == gm.n_iter_ + 1
    if acceleration is None:
        assert gm.history_.shape == (gm.n_iter_,)


def _fit_peak(n, K, init):
    import tracemalloc
    import warnings

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2)) + rng.integers(0, 8, size=(n, 1)) * 4.0
    gm = emkit.GaussianMixture(K, covariance_type="diag", init_params=init, max_iter=1,
                               chunk_size=2000, random_state=0)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emkit.ConvergenceWarning)
            gm.fit(X)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("init", ["auto", "kmeans", "random"])
def test_initialisation_never_builds_n_by_k_responsibilities(init):
    # issue 10 item 10: starts are centres (or a seed) and every chunk makes its own
    # responsibilities.  Doubling the rows may add O(n) vectors (weights, a sort order,
    # nearest-centre distances), never an (n, K) array: that would add n * K * 8 bytes
    # (41 MB here).  What does not grow with n (the agglomeration's 1,000 x 1,000 matrix,
    # the k-means subsample) cancels out.
    n, K = 160_000, 32
    extra = _fit_peak(2 * n, K, init) - _fit_peak(n, K, init)
    assert extra < 0.25 * n * K * 8, extra
