"""Several plain EM runs advancing together (engine/batch.py, families/_gaussian_batch.py).

Every run of a batch must give what ``run_em`` gives from the same start:
the same number of passes, the same convergence flag, parameters and
log-likelihood to 1e-12 relative; for every covariance type, weighted rows,
runs that stop early, a run that collapses onto the covariance floor, and a
run whose M-step fails (it alone is dropped with its exception).  The
batched Gaussian steps must actually run (counted), and the default start's
ranking must be the one the runs give one by one.
"""

import numpy as np
import pytest

import emkit.engine.starts as starts
from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.engine.batch import run_em_batch
from emkit.engine.em import params_from_resp, run_em
from emkit.families import _gaussian_batch as gb
from emkit.families._gaussian_structured import gaussian_family
from emkit.families._linalg import SingularCovarianceError

TYPES = ("full", "tied", "diag", "spherical")
ERRORS = (ValueError, FloatingPointError, np.linalg.LinAlgError)


def _data(weighted=False, n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal([0.0, 0.0], [1.0, 0.5], size=(n // 3, 2)),
                        rng.normal([4.0, 2.0], [0.7, 1.2], size=(n // 3, 2)),
                        rng.normal([1.0, 5.0], 0.8, size=(n - 2 * (n // 3), 2))]) + [50.0, 70.0]
    w = rng.uniform(0.0, 2.0, size=n) if weighted else np.ones(n)
    if weighted:
        w[:4] = 0.0
    return X, w, rng


def _family(ct, X, w, reg_covar=1e-6):
    mean = w @ X / w.sum()
    var = w @ (X - mean) ** 2 / w.sum()
    return gaussian_family(ct, reg_covar, mean, X.shape[1], data_variance=var), Data(X, w, mean=mean)


def _starts(fam, data, rng, K, n):
    backend = NumpyBackend(n_jobs=1)
    return [params_from_resp(fam, data, rng.dirichlet(np.full(K, 0.3), size=data.n_samples), backend)
            for _ in range(n)]


@pytest.fixture
def batched_calls(monkeypatch):
    """How many batched E- and M-steps of the Gaussian family returned results."""
    count = {"e": 0, "m": 0}
    e_step, m_step = gb.batch_e_step, gb.batch_m_step

    def e_spy(*a):
        out = e_step(*a)
        count["e"] += out is not None
        return out

    def m_spy(*a):
        out = m_step(*a)
        count["m"] += out is not None
        return out

    monkeypatch.setattr(gb, "batch_e_step", e_spy)
    monkeypatch.setattr(gb, "batch_m_step", m_spy)
    return count


def _assert_same(one, batched, rtol=1e-12):
    assert batched.n_iter == one.n_iter
    assert batched.converged == one.converged and batched.plateau == one.plateau
    assert batched.lower_bound == pytest.approx(one.lower_bound, rel=rtol, abs=0.0)
    np.testing.assert_allclose(batched.history, one.history, rtol=rtol, atol=0.0)
    assert batched.params.keys() == one.params.keys()
    for key in one.params:
        a, b = np.asarray(one.params[key]), np.asarray(batched.params[key])
        np.testing.assert_allclose(b, a, rtol=0.0, atol=rtol * np.abs(a).max(), err_msg=key)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ct", TYPES)
def test_each_run_equals_its_own_run(ct, weighted, batched_calls):
    X, w, rng = _data(weighted)
    fam, data = _family(ct, X, w)
    params = _starts(fam, data, rng, 3, 3)
    backend = NumpyBackend(n_jobs=1)
    # one start is already a converged fit: its run stops after a few passes, the others
    # run on to max_iter
    params.insert(1, run_em(fam, params[0], data, backend, tol=1e-12, max_iter=500).params)
    got = run_em_batch(fam, params, data, backend, tol=1e-6, max_iter=25, errors=ERRORS)
    ones = [run_em(fam, p, data, backend, tol=1e-6, max_iter=25) for p in params]
    for one, res in zip(ones, got):
        _assert_same(one, res)
    n_iter = [one.n_iter for one in ones]
    assert min(n_iter) < max(n_iter)  # the batch went on after a run had stopped
    assert batched_calls["e"] >= max(n_iter) and batched_calls["m"] >= min(n_iter)


def _spike_start(fam, data, rng, reg, backend):
    """Three components, the third on the data's last five (repeated) rows.

    Without a floor (``reg == 0``) the start itself takes a tiny positive-definite
    covariance on the spike from a floored family.
    """
    n = data.n_samples
    resp = np.full((n, 3), 1e-300)
    resp[:-5, :2] = rng.dirichlet([1.0, 1.0], size=n - 5)
    resp[-5:, 2] = 1.0
    resp /= resp.sum(axis=1, keepdims=True)
    donor = fam if reg else gaussian_family("full", 1e-6, data.mean, 2)
    return params_from_resp(donor, data, resp, backend)


def _assert_each_as_alone(fam, params, got, collapse, assert_same, alone):
    """Each batched result equals ``alone(start)`` or fails with its error; the spike
    (second) run collapses onto the floor if ``collapse``, else fails singular."""
    for p, res in zip(params, got):
        try:
            one = alone(p)
        except SingularCovarianceError as exc:
            assert isinstance(res, SingularCovarianceError) and str(res) == str(exc)
            continue
        assert_same(one, res)
    if collapse:
        assert fam.degenerate_components(got[1].params) == [2]
    else:
        assert isinstance(got[1], SingularCovarianceError)


def test_a_run_that_collapses_and_one_that_fails(batched_calls):
    # five identical rows: a component started on them collapses onto the floor; without
    # a floor (reg_covar = 0) its covariance is singular and that run alone fails
    X, w, rng = _data()
    X = np.vstack([X, np.tile([46.0, 75.0], (5, 1))])
    w = np.ones(len(X))
    for reg, collapse in ((1e-6, True), (0.0, False)):
        fam, data = _family("full", X, w, reg_covar=reg)
        backend = NumpyBackend(n_jobs=1)
        good = _starts(fam, data, np.random.default_rng(1), 3, 2)
        params = [good[0], _spike_start(fam, data, rng, reg, backend), good[1]]
        got = run_em_batch(fam, params, data, backend, tol=1e-9, max_iter=15, errors=ERRORS)
        _assert_each_as_alone(fam, params, got, collapse, _assert_same,
                              lambda p: run_em(fam, p, data, backend, tol=1e-9, max_iter=15))
        assert not isinstance(got[0], Exception) and not isinstance(got[2], Exception)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ct", TYPES)
def test_runs_of_different_sizes_batch_together(ct, weighted, batched_calls):
    # runs of 1, 4 and 2 components: the E-step pads the smaller runs with components of
    # weight zero, the M-step normalises each run's weights over its own block
    X, w, rng = _data(weighted)
    fam, data = _family(ct, X, w)
    params = _starts(fam, data, rng, 1, 1) + _starts(fam, data, rng, 4, 1) + _starts(fam, data, rng, 2, 1)
    backend = NumpyBackend(n_jobs=1)
    got = run_em_batch(fam, params, data, backend, tol=1e-8, max_iter=10, errors=ERRORS)
    for p, res in zip(params, got):
        _assert_same(run_em(fam, p, data, backend, tol=1e-8, max_iter=10), res)
        assert res.params["weights"].shape == p["weights"].shape
    assert batched_calls["e"] >= 10 and batched_calls["m"] >= 9


def test_structured_model_takes_its_own_m_step(batched_calls):
    # an mclust model (EVE) stores full matrices: batched E-step, its own M-step per run
    X, w, rng = _data()
    mean = X.mean(axis=0)
    fam = gaussian_family("EVE", 1e-6, mean, 2, data_variance=X.var(axis=0))
    data = Data(X, w, mean=mean)
    params = _starts(fam, data, rng, 3, 3)
    backend = NumpyBackend(n_jobs=1)
    got = run_em_batch(fam, params, data, backend, tol=1e-8, max_iter=8, errors=ERRORS)
    for p, res in zip(params, got):
        _assert_same(run_em(fam, p, data, backend, tol=1e-8, max_iter=8), res)
    assert batched_calls["e"] > 0 and batched_calls["m"] == 0


def _one_by_one(family, params_list, data, backend, *, labels, errors, **kw):
    out = []
    for p in params_list:
        try:
            out.append(run_em(family, p, data, backend, **kw))
        except errors as exc:
            out.append(exc)
    return out


@pytest.mark.parametrize("ct", TYPES)
def test_default_start_ranks_as_one_by_one(ct, monkeypatch):
    X, w, _ = _data(seed=3)
    fam, data = _family(ct, X, w)

    def auto():
        return starts.auto_starts(fam, data, 3, np.random.RandomState(0), NumpyBackend(n_jobs=1))

    best, failed = auto()
    import emkit.engine._short_runs as short  # where auto_starts' short runs are answered

    monkeypatch.setattr(short, "run_em_batch", _one_by_one)
    ref, ref_failed = auto()
    assert failed == ref_failed
    assert [c.name for c in best] == [c.name for c in ref]
    for c, r in zip(best, ref):
        assert c.log_likelihood == pytest.approx(r.log_likelihood, rel=1e-12)
        np.testing.assert_allclose(c.params["means"], r.params["means"], rtol=1e-12)


@pytest.mark.parametrize("ct", ["full", "spherical"])
def test_settled_finalists_as_one_by_one(ct, monkeypatch):
    # the finalists' runs to convergence on a weighted subsample (data above SHORT_RUN_SIZE)
    X, w, rng = _data(weighted=True, seed=5)
    fam, data = _family(ct, X, w)
    best = [starts.Candidate(f"s{i}", p, 0.0, False) for i, p in enumerate(_starts(fam, data, rng, 3, 3))]
    won = starts._settle(fam, best, data, NumpyBackend(n_jobs=1), frozenset(), "t")
    monkeypatch.setattr(starts, "run_em_batch", _one_by_one)
    ref = starts._settle(fam, best, data, NumpyBackend(n_jobs=1), frozenset(), "t")
    assert [c.name for c in won] == [c.name for c in ref] and len(won) == 1
    assert won[0].log_likelihood == pytest.approx(ref[0].log_likelihood, rel=1e-12)
    np.testing.assert_allclose(won[0].params["means"], ref[0].params["means"], rtol=1e-10)
