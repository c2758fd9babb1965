"""Default fits of several K whose continued runs advance together (model selection).

``Problem.fit_defaults`` drives the fits of one covariance type through
``mixture._together.fit_together``: every fit must end as
``Problem.fit_default`` ends it alone (the same passes, log-likelihood and
parameters to 1e-10, the same recorded warnings and errors), the runs of
different K must share batched steps (counted), and weighted rows, a fit
that fails and fits stopped by ``max_iter`` must work as alone.
"""

import numpy as np
import pytest

import emkit.engine.batch as batch
from emkit import GaussianMixture
from emkit._neighbours import Cell, Problem
from emkit.selection import _EXPECTED_WARNINGS
from test_batch_em import TYPES, _data

RTOL = 1e-10


def _problem(X, w=None, **base):
    base = {"random_state": 0, **base}
    return Problem.validate(GaussianMixture, "covariance_type", 1, base, "full", X, w, {},
                            _EXPECTED_WARNINGS)


@pytest.fixture
def mixed_sizes(monkeypatch):
    """Batched answers given to runs of different numbers of components, counted."""
    count = {"mixed": 0}
    answers = batch._batched_answers

    def spy(family, kind, quiet, steps, data):
        out = answers(family, kind, quiet, steps, data)
        if kind == "e":  # the steps' parameters, of each run's K
            sizes = {s.params["weights"].shape[0] for s in steps}
            count["mixed"] += out is not None and len(sizes) > 1
        return out

    monkeypatch.setattr(batch, "_batched_answers", spy)
    return count


def _assert_same_cell(got, ref):
    assert (got.error, got.warnings, got.start) == (ref.error, ref.warnings, ref.start)
    if ref.model is None:
        assert got.model is None
        return
    a, b = got.model, ref.model
    assert (a.n_iter_, a.converged_, a.n_passes_) == (b.n_iter_, b.converged_, b.n_passes_)
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=RTOL)
    assert a.degenerate_components_ == b.degenerate_components_
    for attr in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(a, attr), getattr(b, attr), rtol=0.0,
                                   atol=RTOL * np.abs(getattr(b, attr)).max(), err_msg=attr)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ct", TYPES)
def test_fit_defaults_as_one_by_one(ct, weighted, mixed_sizes):
    X, w, _ = _data(weighted, n=150, seed=2)
    problem = _problem(X, w if weighted else None)
    ks = [1, 2, 3, 4]
    got = problem.fit_defaults(ks, ct)
    assert mixed_sizes["mixed"] > 0  # runs of different K shared batched steps
    for k in ks:
        _assert_same_cell(got[k], problem.fit_default(k, ct))


def test_stopped_runs_and_a_failing_fit(mixed_sizes):
    # max_iter = 4: every fit stops unconverged with its ConvergenceWarning recorded; the
    # 7-component fit of 6 rows fails alone, with fit_default's error
    X, _, _ = _data(n=150, seed=3)
    problem = _problem(X, max_iter=4)
    got = problem.fit_defaults([2, 3], "diag")
    for k in (2, 3):
        _assert_same_cell(got[k], problem.fit_default(k, "diag"))
        assert not got[k].model.converged_ and got[k].warnings
    assert mixed_sizes["mixed"] > 0
    small = _problem(X[:6])
    got = small.fit_defaults([2, 7], "spherical")
    assert got[7].model is None and "larger than the number of samples" in got[7].error
    for k in (2, 7):
        _assert_same_cell(got[k], small.fit_default(k, "spherical"))


@pytest.mark.parametrize("ct", ["full", "spherical"])
def test_warm_short_runs_together_as_one_by_one(ct, monkeypatch):
    # the neighbour search's short runs: warm-started fits of 5 passes, fitted together
    X, _, _ = _data(n=150, seed=6)
    problem = _problem(X)
    source = problem.fit_default(3, ct).model.__dict__.copy()
    starts = []
    for scale in (0.9, 1.15):  # both starts move: neither converges at once
        p = {"weights": source["weights_"], "means": source["means_"] * scale,
             "covariances": source["covariances_"],
             "precisions_cholesky": source["precisions_cholesky_"]}
        starts.append(p)

    def warm(p):
        model = problem.warm(p, 3, ct)
        model.max_iter = 5
        return model

    count = {"batched": 0}
    answers = batch._batched_answers

    def spy(*a):
        out = answers(*a)
        count["batched"] += out is not None
        return out

    monkeypatch.setattr(batch, "_batched_answers", spy)
    got = problem.fit_many([warm(p) for p in starts])
    assert count["batched"] >= 5
    for cell, p in zip(got, starts):
        _assert_same_cell(cell, Cell(*problem.fit(warm(p))))


def test_fit_warnings_point_at_the_caller():
    # the fit is a generator driven by drive_fit: its warnings still name the user's line
    X, _, _ = _data(n=150, seed=2)
    with pytest.warns(Warning) as caught:
        GaussianMixture(3, max_iter=2, random_state=0).fit(X)
    assert caught and all(w.filename == __file__ for w in caught)


@pytest.mark.parametrize("ct", ["full", "tied"])
def test_short_runs_of_all_k_together(ct, monkeypatch):
    # the default starts' short runs of the K of one bucket share one run_em_batch; each run
    # ends as it ends alone (plain run_em from the same start), and the cells as one by one
    import emkit.engine._short_runs as short
    from emkit.engine.em import run_em

    calls = []
    joint = short.run_em_batch

    def spy(family, starts, data, backend, **kw):
        out = joint(family, starts, data, backend, **kw)
        calls.append((family, starts, data, backend, kw, out))
        return out

    monkeypatch.setattr(short, "run_em_batch", spy)
    X, _, _ = _data(n=150, seed=4)
    problem = _problem(X)
    got = problem.fit_defaults([1, 2, 3, 4, 5], ct)
    # K in buckets of two (little padding): {1}, {2, 3}, {4, 5}
    assert [sorted({p["weights"].shape[0] for p in c[1]}) for c in calls] == [[1], [2, 3], [4, 5]]
    family, starts, data, backend, kw, out = calls[2]
    for p, res in zip(starts, out):
        alone = run_em(family, p, data, backend, tol=kw["tol"], max_iter=kw["max_iter"],
                       fixed=kw["fixed"], warn_decrease=False)
        assert (res.n_iter, res.converged) == (alone.n_iter, alone.converged)
        assert res.lower_bound == pytest.approx(alone.lower_bound, rel=RTOL)
    for k in (1, 2, 3, 4, 5):
        _assert_same_cell(got[k], problem.fit_default(k, ct))
