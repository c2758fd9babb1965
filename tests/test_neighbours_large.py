"""Neighbour starts along K on large data: decided on the subsample, continued on all rows to win.

Old Faithful (272 rows) stands in for large data: ``SEARCH_ROWS`` is set to
150, so the search works on a 150-row subsample and
:func:`emkit._neighbours_large.refine_large` runs instead of the small-data
search.  References: mclust's log-likelihoods of the same cells
(``tests/fixtures/mclust/mclust_cells.csv``, made by
``tests/fixtures/mclust/make_fixtures.R``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_select_mclust import CELLS
from test_select_neighbours import _sabotage_three, assert_monotone

import emkit
from emkit import _neighbours, _neighbours_large, _neighbours_undecided, selection
from emkit.datasets import load_faithful


@pytest.fixture(scope="module")
def faithful():
    return load_faithful()


@pytest.fixture
def large(monkeypatch):
    """Old Faithful counts as large data; returns the list of runs on all rows in the search
    (the continuation of the kept fits afterwards, :func:`polish`, is not counted)."""
    monkeypatch.setattr(_neighbours, "SEARCH_ROWS", 150)
    runs = []  # K of every run on all rows started from a neighbour (a warm start)
    original = _neighbours.Problem.fit
    polishing = []
    real_polish = selection.polish

    def polish(*a, **k):
        polishing.append(True)
        try:
            return real_polish(*a, **k)
        finally:
            polishing.pop()

    monkeypatch.setattr(selection, "polish", polish)

    def fit(self, model):
        if self.Xv.shape[0] > 150 and model.warm_start and not polishing:
            runs.append(model.n_components)
        return original(self, model)

    monkeypatch.setattr(_neighbours.Problem, "fit", fit)
    return runs


def _at_least_mclust(row):
    ref = CELLS[("faithful", row["covariance_type"], row["n_components"])]["loglik"]
    assert row["log_likelihood"] >= ref - 1e-6 * abs(ref), (row["n_components"], ref)


def test_a_poor_fit_is_repaired_from_the_subsample_comparison(faithful, large, monkeypatch):
    _sabotage_three(monkeypatch)
    repairs = []  # the check along K on all rows must not be needed
    monkeypatch.setattr(_neighbours_large, "_search_and_fit", lambda *a: repairs.append(a))
    _, table = emkit.select_model(faithful, n_components=[1, 2, 3], covariance_types="tied",
                                  random_state=0)
    three = table[2]
    assert three["start"] in ("split", "merge") and repairs == []
    assert 3 in large  # continued on all rows because it won on the subsample
    assert_monotone(table)
    for row in table:
        _at_least_mclust(row)


def test_the_k_check_on_all_rows_repairs_what_the_subsample_missed(faithful, large, monkeypatch):
    # the subsample never sends a start on: only the check along K on all rows can repair K = 3
    monkeypatch.setattr(_neighbours_large, "MARGIN", math.inf)
    _sabotage_three(monkeypatch)
    _, table = emkit.select_model(faithful, n_components=[1, 2, 3], covariance_types="tied",
                                  random_state=0)
    assert table[2]["start"] == "split"
    assert set(large) == {3}
    assert table[2]["log_likelihood"] >= table[1]["log_likelihood"]
    assert_monotone(table)


def test_when_every_split_degenerates_on_the_subsample_one_soft_split_runs_on_all_rows(
        faithful, large, monkeypatch):
    # the K = 3 cell is below K = 2 but not degenerate: only a non-degenerate split can
    # replace it.  When every split (hard, then soft) settles degenerate on the subsample
    # (which may not hold the K = 2 fit's small components), those splits are not
    # continued on all rows; one start is: the soft split of the K = 2 fit's heaviest
    # component (emkit._neighbours_undecided.heaviest_soft_split)
    monkeypatch.setattr(_neighbours_large, "MARGIN", math.inf)
    _sabotage_three(monkeypatch)
    screened = []
    original = _neighbours_large._Search.candidate

    def candidate(self, source, k, how, soft=False):
        cell = original(self, source, k, how, soft)
        if how == "split" and k == 3:
            screened.append(soft)
            cell.model.degenerate_components_ = [0]
        return cell

    monkeypatch.setattr(_neighbours_large._Search, "candidate", candidate)
    split = []
    real_split = _neighbours_undecided.split_starts

    def split_starts(family, data, backend, resp, *a, soft=False, components=None):
        split.append((resp.shape, soft, components))
        return real_split(family, data, backend, resp, *a, soft=soft, components=components)

    monkeypatch.setattr(_neighbours_undecided, "split_starts", split_starts)
    _, table = emkit.select_model(faithful, n_components=[1, 2, 3], covariance_types="tied",
                                  random_state=0)
    assert screened[-2:] == [False, True]  # hard splits, then soft ones
    heaviest = int(np.argmax(table[1]["model"].weights_))
    assert split == [((faithful.shape[0], 2), True, (heaviest,))]  # on all rows
    assert large == [3]
    assert table[2]["start"] == "split" and not table[2]["degenerate"]
    assert table[2]["monotone"] is True
    assert_monotone(table)


def test_no_run_on_all_rows_when_no_neighbour_wins_on_the_subsample(faithful, large, monkeypatch):
    monkeypatch.setattr(_neighbours_large, "MARGIN", math.inf)
    _, table = emkit.select_model(faithful, n_components=range(1, 5), covariance_types="diag",
                                  random_state=0)
    assert large == []  # the default fits are already monotone here
    assert all(r["start"] == "default" for r in table)
    assert_monotone(table)


def test_large_path_keeps_mclusts_cells_and_monotone(faithful, large):
    _, table = emkit.select_model(faithful, covariance_types="tied", random_state=0)
    assert_monotone(table)
    for row in table:
        _at_least_mclust(row)


@pytest.fixture
def capped(large, monkeypatch):
    """Large data, with 5 passes per run on all rows in the first round."""
    monkeypatch.setattr(_neighbours_large, "SELECT_PASSES", 5)
    return _record_all_row_fits(monkeypatch, "max_iter")


def _record_all_row_fits(monkeypatch, attribute):
    """Record ``attribute`` of the model of every fit on all rows (more than 150)."""
    seen = []
    original = _neighbours.Problem.fit

    def fit(self, model):
        if self.Xv.shape[0] > 150:
            seen.append(getattr(model, attribute))
        return original(self, model)

    monkeypatch.setattr(_neighbours.Problem, "fit", fit)
    return seen


def test_capped_runs_within_reach_of_the_best_are_continued(faithful, capped, monkeypatch):
    monkeypatch.setattr(_neighbours_large, "POLISH_REACH", 10.0)
    kw = dict(n_components=range(1, 6), covariance_types=("tied", "diag"), random_state=0)
    best, table = emkit.select_model(faithful, **kw)
    chosen = next(r for r in table if r["best"])
    assert chosen["converged"] and best.converged_
    assert 5 in capped and 995 in capped  # capped first, then continued
    for row in table:
        if not row["converged"]:
            assert row["value"] > chosen["value"] + 10.0
            assert any("max_iter=5 " in w for w in row["warnings"])
    assert_monotone(table)
    # the same choice and optimum as a selection without the budget
    ref = next(r for r in emkit.select_model(faithful, max_iter=1000, **kw)[1] if r["best"])
    assert (chosen["covariance_type"], chosen["n_components"]) == ("tied", 3)
    assert (ref["covariance_type"], ref["n_components"]) == ("tied", 3)
    assert chosen["log_likelihood"] == pytest.approx(ref["log_likelihood"], rel=1e-8)


def test_a_given_max_iter_is_kept(faithful, capped):
    emkit.select_model(faithful, n_components=range(1, 4), covariance_types="tied",
                       random_state=0, max_iter=300)
    emkit.select_model(faithful, n_components=range(1, 4), covariance_types="tied",
                       random_state=0, estimator_params={"max_iter": 300})
    assert capped and set(capped) == {300}


def test_loose_runs_within_reach_of_the_best_are_continued_at_the_estimators_tol(
        faithful, large, monkeypatch):
    tols = _record_all_row_fits(monkeypatch, "tol")  # tol of every fit on all rows
    kw = dict(n_components=range(1, 5), covariance_types="tied", random_state=0)
    best, table = emkit.select_model(faithful, **kw)
    default_tol = emkit.GaussianMixture().tol
    assert default_tol < _neighbours_large.SELECT_TOL
    # the cells are fitted to SELECT_TOL, and those within reach continued at the default
    assert tols[0] == _neighbours_large.SELECT_TOL and default_tol in tols
    assert set(tols) == {_neighbours_large.SELECT_TOL, default_tol}
    chosen = next(r for r in table if r["best"])
    assert chosen["converged"] and best.tol == default_tol
    # the same optimum as a selection whose every run stops at the default tol
    tols.clear()
    ref = next(r for r in emkit.select_model(faithful, tol=default_tol, **kw)[1] if r["best"])
    assert set(tols) == {default_tol}
    assert (chosen["covariance_type"], chosen["n_components"]) == ("tied", 3)
    assert (ref["covariance_type"], ref["n_components"]) == ("tied", 3)
    assert chosen["log_likelihood"] == pytest.approx(ref["log_likelihood"], rel=1e-9)
    assert_monotone(table)
    for row in table:
        _at_least_mclust(row)


def test_a_given_tol_is_kept(faithful, large, monkeypatch):
    tols = []
    original = _neighbours.Problem.fit

    def fit(self, model):
        if self.Xv.shape[0] > 150:
            tols.append(model.tol)
        return original(self, model)

    monkeypatch.setattr(_neighbours.Problem, "fit", fit)
    kw = dict(n_components=range(1, 4), covariance_types="tied", random_state=0)
    emkit.select_model(faithful, tol=1e-4, **kw)
    emkit.select_model(faithful, estimator_params={"tol": 1e-4}, **kw)
    assert tols and set(tols) == {1e-4}


def test_large_data_splits_upwards_then_merges_downwards_once(monkeypatch):
    # refine_large makes two passes (no split again above the cells the merges changed:
    # those are merges of the K cell's own fit); a stand-in improve in which every merge
    # changes its cell records the order of the moves
    calls = []

    def improve(self, cells, k, how):
        calls.append((how, k))
        return how == "merge"

    class Problem:
        search = None

    monkeypatch.setattr(_neighbours_large._Search, "improve", improve)
    cells = {k: _neighbours.Cell() for k in range(1, 5)}
    _neighbours_large.refine_large(Problem(), cells, "full")
    assert calls == [("split", k) for k in range(1, 5)] + [("merge", k) for k in range(4, 0, -1)]
