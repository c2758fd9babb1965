"""The large-data neighbour search finds each split candidate once and screens a pair of fits once.

``improve`` tries the hard splits of the ``K - 1`` fit; ``repair_along_k``
screens the same splits when the cell stays below that fit, and runs again
after every pass of ``polish``.  A stand-in problem counts how often a
candidate is actually searched for.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from emkit import _neighbours_large
from emkit._neighbours import Cell


class _Problem:
    def __init__(self):
        self.base = {"max_iter": 50, "tol": 1e-7}
        self.search = self

    def loglik(self, model):
        return model.ll


def _model(ll):
    return SimpleNamespace(ll=ll, degenerate_components_=[])


@pytest.fixture
def searched(monkeypatch):
    calls = []

    def fake(self, source, k, how, soft):
        calls.append((id(source), k, how, soft))
        return None  # no candidate: the screen finds nothing viable

    monkeypatch.setattr(_neighbours_large._Search, "_candidate", fake)

    def fallback(problem, source, k, ct):  # the soft split run on all rows after a screen
        calls.append((id(source), k, "heaviest", True))
        return None

    monkeypatch.setattr(_neighbours_large, "heaviest_soft_split", fallback)
    return calls


def test_a_candidate_is_searched_once_per_source_and_settings(searched):
    problem = _Problem()
    src = _model(-10.0)
    search = _neighbours_large._Search(problem, "VEV")
    for _ in range(2):
        search.candidate(src, 3, "split")
    _neighbours_large._Search(problem, "VEV").candidate(src, 3, "split")  # a later pass
    assert len(searched) == 1
    search.candidate(src, 3, "split", soft=True)  # other starts
    search.candidate(_model(-10.0), 3, "split")  # another fit
    problem.base["tol"] = 1e-9  # other settings of the short runs
    search.candidate(src, 3, "split")
    assert len(searched) == 4
    # another selection problem searches afresh
    _neighbours_large._Search(_Problem(), "VEV").candidate(src, 3, "split")
    assert len(searched) == 5


def test_a_cell_below_its_neighbour_is_screened_once(searched):
    problem = _Problem()
    cells = {1: Cell(_model(-12.0)), 2: Cell(_model(-10.0)), 3: Cell(_model(-11.0))}
    _neighbours_large.repair_along_k(problem, cells, "VEV")
    assert [c[1:] for c in searched] == [(3, "split", False), (3, "split", True),
                                         (3, "heaviest", True)]
    problem.base["tol"] = 1e-9  # polish continues at the estimator's tol, then repairs again
    _neighbours_large.repair_along_k(problem, cells, "VEV")
    assert len(searched) == 3  # the same two fits: not screened (nor run on all rows) again
    cells[3] = Cell(_model(-10.5))  # polish changed the cell: screened again
    _neighbours_large.repair_along_k(problem, cells, "VEV")
    assert len(searched) == 6
