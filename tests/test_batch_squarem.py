"""Several SQUAREM runs advancing together (engine/batch.py ``run_squarem_batch``).

Every run of a batch must give what ``run_em(..., acceleration="squarem")``
gives from the same start: the same data passes, cycles and rejected
extrapolations, the same convergence flag, parameters and log-likelihood
to 1e-10 relative; for every covariance type, weighted rows, a run that
converges early, a run that collapses onto the covariance floor and one
whose M-step fails (it alone ends with its exception).  The batched
Gaussian steps must actually run (counted), and an estimator whose
finalists go together must fit as when they go one by one.
"""

import numpy as np
import pytest

import emkit.mixture._base as base
from emkit import GaussianMixture
from emkit.backends.numpy_backend import NumpyBackend
from emkit.engine.batch import run_squarem_batch
from emkit.engine.em import params_from_resp, run_em
from emkit.families._linalg import SingularCovarianceError
from test_batch_em import _assert_same as _assert_same_run
from test_batch_em import (ERRORS, TYPES, _assert_each_as_alone, _data, _family,  # noqa: F401
                           _spike_start, _starts, batched_calls)

RTOL = 1e-10


@pytest.fixture
def kinds(monkeypatch):
    """How many batched answers of each kind of SQUAREM step were given."""
    import emkit.engine.batch as batch

    count = {"e": 0, "m": 0, "pack": 0, "unpack": 0, "degenerate": 0}
    answers = batch._batched_answers

    def spy(family, kind, quiet, steps, data):
        out = answers(family, kind, quiet, steps, data)
        count[kind] += out is not None
        return out

    monkeypatch.setattr(batch, "_batched_answers", spy)
    return count


def _squarem(fam, p, data, backend, **kw):
    return run_em(fam, p, data, backend, acceleration="squarem", **kw)


def _assert_same(one, res, rtol=RTOL):
    _assert_same_run(one, res, rtol)  # passes, flags, history and parameters
    for key in ("n_cycles", "n_rejected", "n_m_steps", "n_passes"):
        assert res.extra[key] == one.extra[key], key


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ct", TYPES)
def test_each_run_equals_its_own_squarem_run(ct, weighted, batched_calls, kinds):
    X, w, rng = _data(weighted)
    fam, data = _family(ct, X, w)
    params = _starts(fam, data, rng, 3, 3)
    backend = NumpyBackend(n_jobs=1)
    # one start is already a converged fit: its run stops after a few passes
    params.insert(1, run_em(fam, params[0], data, backend, tol=1e-12, max_iter=500).params)
    got = run_squarem_batch(fam, params, data, backend, tol=1e-9, max_iter=200, errors=ERRORS)
    ones = [_squarem(fam, p, data, backend, tol=1e-9, max_iter=200) for p in params]
    for one, res in zip(ones, got):
        _assert_same(one, res)
    n_iter = [one.n_iter for one in ones]
    assert min(n_iter) < 6 < max(n_iter)  # the batch went on after a run had stopped
    assert sum(one.extra["n_cycles"] for one in ones) > 0  # extrapolations were made
    assert batched_calls["e"] >= min(n_iter) and batched_calls["m"] >= min(n_iter)
    assert kinds["pack"] > 0 and kinds["unpack"] > 0 and kinds["degenerate"] > 0


@pytest.mark.parametrize("ct", TYPES)
def test_coordinate_maps_and_degeneracy_as_one_run_bit_for_bit(ct):
    # runs of 2 and 4 components, one with a component collapsed onto the floor
    X, w, rng = _data()
    fam, data = _family(ct, X, w)
    params = _starts(fam, data, rng, 2, 1) + _starts(fam, data, rng, 4, 2)
    if ct != "tied":
        cov = np.array(params[1]["covariances"])
        cov[2] = cov[2] * 1e-12
        params[1] = {**params[1], "covariances": cov}
    none = frozenset()
    got = fam.batch_to_unconstrained(params)
    for p, g in zip(params, got):
        ref = fam.to_unconstrained(p, none)
        assert g.keys() == ref.keys()
        for key in ref:
            np.testing.assert_array_equal(g[key], ref[key], err_msg=key)
    back = fam.batch_from_unconstrained(got, params)
    for t, p, b in zip(got, params, back):
        ref = fam.from_unconstrained(t, p, none)
        assert b.keys() == ref.keys()
        for key in ref:
            np.testing.assert_array_equal(b[key], ref[key], err_msg=key)
    flags = fam.batch_degenerate_components(params)
    assert flags == [fam.degenerate_components(p) for p in params]
    assert (flags[1] == [2]) == (ct != "tied")
    # a covariance that is not positive definite in any run: the batch raises, and the
    # engine maps the runs one by one (each with its own message)
    bad = dict(got[2])
    key = "cov_log_diag" if ct in ("full", "tied") else "cov_log"
    bad[key] = np.full_like(bad[key], -1e4)
    with pytest.raises(SingularCovarianceError):
        fam.batch_from_unconstrained([got[0], bad], [params[0], params[2]])


def test_pass_budget_and_runs_of_different_sizes(batched_calls):
    # max_iter cuts the runs mid-cycle (plain EM steps use up the rest); the runs of 2
    # and of 4 components are answered in two groups, each batched
    X, w, rng = _data()
    fam, data = _family("diag", X, w)
    params = _starts(fam, data, rng, 2, 2) + _starts(fam, data, rng, 4, 2)
    backend = NumpyBackend(n_jobs=1)
    for max_iter in (5, 7):
        got = run_squarem_batch(fam, params, data, backend, tol=1e-10, max_iter=max_iter,
                                errors=ERRORS)
        for p, res in zip(params, got):
            one = _squarem(fam, p, data, backend, tol=1e-10, max_iter=max_iter)
            _assert_same(one, res)
            assert res.n_iter == max_iter and not res.converged
    assert batched_calls["e"] > 0 and batched_calls["m"] > 0


def test_a_run_that_collapses_and_one_that_fails(batched_calls):
    # five identical rows: a component started on them collapses onto the floor; without
    # a floor (reg_covar = 0) its covariance is singular and that run alone fails.  The
    # other two start near the three clusters (from starts anywhere, SQUAREM's long steps
    # also carry them onto the spike, and whether such a run at reg_covar = 0 ends
    # singular or just collapsed is decided by rounding)
    X, w, rng = _data()
    n0 = len(X)
    X = np.vstack([X, np.tile([46.0, 75.0], (5, 1))])
    w = np.ones(len(X))
    near = np.zeros((len(X), 3))
    near[np.arange(n0), np.arange(n0) // (n0 // 3)] = 1.0
    near[n0:] = 1.0 / 3.0
    for reg, collapse in ((1e-6, True), (0.0, False)):
        fam, data = _family("full", X, w, reg_covar=reg)
        backend = NumpyBackend(n_jobs=1)
        good = [params_from_resp(fam, data, 0.7 * near + 0.3 * np.random.default_rng(s).dirichlet(
            [1.0, 1.0, 1.0], size=len(X)), backend) for s in (1, 2)]
        params = [good[0], _spike_start(fam, data, rng, reg, backend), good[1]]
        got = run_squarem_batch(fam, params, data, backend, tol=1e-9, max_iter=60, errors=ERRORS)
        _assert_each_as_alone(fam, params, got, collapse, _assert_same,
                              lambda p: _squarem(fam, p, data, backend, tol=1e-9, max_iter=60))
        for res in (got[0], got[2]):
            assert not isinstance(res, Exception) and not fam.degenerate_components(res.params)
    assert batched_calls["e"] > 0 and batched_calls["m"] > 0


@pytest.mark.parametrize("ct", TYPES)
def test_estimator_finalists_together_as_one_by_one(ct, monkeypatch, batched_calls):
    X, _, _ = _data(seed=4, n=150)
    kw = dict(covariance_type=ct, random_state=0, tol=1e-8)
    calls = {"n": 0}
    run_together = base.run_together

    def counted(*a, **k):
        calls["n"] += 1
        return run_together(*a, **k)

    monkeypatch.setattr(base, "run_together", counted)
    got = GaussianMixture(4, **kw).fit(X)
    assert calls["n"] == 1  # the two finalists went together
    monkeypatch.setattr(base, "together", lambda *a: False)
    ref = GaussianMixture(4, **kw).fit(X)
    assert (got.n_iter_, got.converged_, got.n_passes_) == (ref.n_iter_, ref.converged_, ref.n_passes_)
    assert got.lower_bound_ == pytest.approx(ref.lower_bound_, rel=RTOL)
    np.testing.assert_allclose(got.means_, ref.means_, rtol=RTOL)
    np.testing.assert_allclose(got.weights_, ref.weights_, rtol=RTOL)
