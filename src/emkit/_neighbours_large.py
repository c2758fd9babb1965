"""Warm starts along K on large data: decided on the subsample, continued on all rows only to win.

Above :data:`~emkit._neighbours.SEARCH_ROWS` rows a run over every row is
the cost that matters (at 50,000 x 4 one pass costs as much as mclust's;
mclust runs one EM per cell).  :func:`emkit._neighbours.refine` continues
every promising split / merge start on all rows; here the whole comparison
is made on the fixed search subsample instead, and fairly:

1. the cell's current fit is run to convergence on the subsample (it was
   fitted to all rows; on the subsample it sits next to, not at, a fixed
   point), once per kept fit;
2. the split / merge starts are built, scored and run briefly on the
   subsample as in :mod:`emkit._neighbours`, and the best short run is run
   to convergence on the subsample as well;
3. only when the neighbour's subsample optimum is above the current fit's
   subsample optimum by more than :data:`MARGIN` (mean per row) is it
   continued on all rows, from its subsample optimum, and kept if it is
   better there.

A neighbour's fixed point lower on the subsample, but within the
subsample's sampling noise, is judged by one E-step on all rows instead
(:mod:`emkit._neighbours_undecided`).

Both sides of the comparison then reach a fixed point of the same data, so
the start that merely adapted to the subsample in its short run no longer
wins by that alone (the earlier rule sent two of three neighbour starts to
all rows, most of them back to the cell's own fit).  A subsample can
misjudge two fixed points whose log-likelihoods differ by less than its
sampling noise, so after the neighbour passes the log-likelihood is checked
along K on all rows: a cell below its ``K - 1`` neighbour gets the split
starts of that neighbour continued on all rows
(:func:`emkit._neighbours._search_and_fit` with ``must``), which start at
the neighbour's log-likelihood and cannot end below it.

Likewise, unless the user sets ``tol``, the runs on all rows stop when the
estimated gain still to come is below :data:`SELECT_TOL` per row (on
50,000 rows, 0.005 log-likelihood units, far below the 1e-6 relative within
which two fits count as the same optimum); the cells within
:data:`POLISH_REACH` of the best are then continued at the estimator's own
``tol`` (:func:`polish`), so the chosen cell is converged as tightly as a
single fit.

A cell with more components than the data hold (a true cluster split in
two) can climb for thousands of passes while one of its components slowly
empties: at 50,000 x 4, full covariance, K = 6 gains 6 log-likelihood units
between passes 200 and 1000 (measured; mclust stops there about 20 units
lower).  Unless the user sets ``max_iter``, a selection on large data
therefore gives every run on all rows :data:`SELECT_PASSES` passes
(:func:`pass_budget`); a run that stops there is marked not converged in the
table, and those whose criterion is within :data:`POLISH_REACH` of the best
cell's are continued for the rest of the estimator's ``max_iter``
(:func:`polish`), so the chosen cell is never one cut short.

This is the third stage of the emEM strategy (Biernacki, Celeux & Govaert,
CSDA 41:561-575, 2003) applied to the split and merge moves of Ueda,
Nakano, Ghahramani & Hinton (SMEM, Neural Computation 12:2109-2128, 2000).
"""

from __future__ import annotations

import itertools
import math
import weakref

from ._neighbours import (
    MERGE_PAIRS,
    SHORT_RUNS,
    Cell,
    _search_and_fit,
    merge_starts,
    short_batch,
    scored_starts,
    split_starts,
)
from ._neighbours_undecided import heaviest_soft_split, undecided

#: stopping rule of the runs to convergence on the search subsample
SETTLE_TOL = 1e-7
SETTLE_ITER = 50
#: mean per-row log-likelihood on the subsample by which a neighbour's fixed
#: point must beat the cell's to be continued on all rows (two settled runs
#: of the same fixed point agree far closer, about ``SETTLE_TOL``)
MARGIN = 1e-6
#: relative slack below which a lower log-likelihood at K than at K - 1 counts as rounding
_MONOTONE_RTOL = 1e-7
#: data passes of each run on all rows in a selection on large data, unless the user
#: sets ``max_iter`` (see :func:`pass_budget`)
SELECT_PASSES = 50
#: criterion units (twice the log-likelihood for BIC and AIC) within which of the best
#: cell a capped run is continued to the estimator's ``max_iter`` (:func:`polish`)
POLISH_REACH = 100.0
#: stopping threshold (Aitken's estimate of the mean per-row log-likelihood still to
#: come) of each run on all rows in a selection on large data, unless the user sets
#: ``tol`` (see :func:`select_tol`); the cells :func:`polish` reaches are then
#: continued at the estimator's own ``tol``
SELECT_TOL = 1e-7


def _settle(S, params, k, ct):
    """``params`` run to convergence on the subsample problem ``S``; a Cell, or None on failure."""
    model = S.warm(params, k, ct)
    model.tol, model.max_iter = SETTLE_TOL, SETTLE_ITER
    fitted, _, _ = S.fit(model)
    return None if fitted is None else Cell(fitted)


def _mean_key(cell, S) -> tuple:
    """Non-degenerate first, then the mean log-likelihood per row on ``S``."""
    if cell is None or cell.model is None:
        return (False, -math.inf)
    return (not cell.model.degenerate_components_, float(cell.model.lower_bound_))


def _viable(cell) -> bool:
    """A fit (on the subsample) without degenerate components."""
    return cell is not None and cell.model is not None and not cell.model.degenerate_components_


def _beats(a: tuple, b: tuple) -> bool:
    """``a`` ranks above ``b`` by more than :data:`MARGIN` (or is non-degenerate and ``b`` not)."""
    if a[0] != b[0]:
        return a[0]
    return a[1] > b[1] + MARGIN


#: per selection problem: the split / merge candidates already found on its subsample
#: (:meth:`_Search.candidate`) and the cells already screened by :func:`repair_along_k`
_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Search:
    """The neighbour search of one covariance type on the subsample."""

    def __init__(self, problem, ct):
        self.problem, self.S, self.ct = problem, problem.search, ct
        self._settled = {}  # id(cell) -> (cell, its fit settled on S)
        self.memo = _MEMO.setdefault(problem, {})

    def settled(self, cell, k):
        hit = self._settled.get(id(cell))
        if hit is None or hit[0] is not cell:
            hit = (cell, _settle(self.S, cell.model._fitted_params(), k, self.ct))
            self._settled[id(cell)] = hit
        return hit[1]

    def candidate(self, source, k, how, soft=False):
        """The best split / merge start of ``source`` run to convergence on S (a Cell or None);
        ``soft``: the soft splits of :func:`emkit._neighbours.split_starts`.

        Found once per source fit and settings: the split that :meth:`improve`
        tried is the first one :func:`repair_along_k` screens."""
        S, ct = self.S, self.ct
        key = ("candidate", id(source), k, ct, how, soft, S.base.get("max_iter"), S.base.get("tol"))
        hit = self.memo.get(key)
        if hit is not None and hit[0] is source:
            return hit[1]
        best = self._candidate(source, k, how, soft)
        self.memo[key] = (source, best)
        return best

    def _candidate(self, source, k, how, soft):
        S, ct = self.S, self.ct
        resp = S.responsibilities(source)
        data = S.data_of(source)
        family = source._fitted_family()
        if how == "split":
            starts = split_starts(family, data, S.backend, resp, soft=soft)
        else:
            starts = merge_starts(family, data, S.backend, resp, MERGE_PAIRS)
        scored = scored_starts(S, starts, k, ct)
        best = None
        # batches of SHORT_RUNS starts, best first; the next batch only while every
        # settled run so far is degenerate
        for first in range(0, len(scored), SHORT_RUNS):
            runs = short_batch(S, scored, first, k, ct)
            if not runs:
                continue
            top = max(runs, key=lambda c: _mean_key(c, S))
            if first == 0:  # the other short runs, settled only if improve needs them
                key = ("runners-up", id(source), k, ct, how, soft, S.base.get("max_iter"),
                       S.base.get("tol"))
                self.memo[key] = (source, [c for c in runs if c is not top])
            cand = _settle(S, top.model._fitted_params(), k, ct)
            if cand is not None and (best is None or _mean_key(cand, S) > _mean_key(best, S)):
                best = cand
            if best is not None and not best.model.degenerate_components_:
                break
        return best

    def improve(self, cells, k, how) -> bool:
        source = cells.get(k - 1 if how == "split" else k + 1)
        if source is None or source.model is None:
            return False
        current = cells[k]
        cand = self.candidate(source.model, k, how)
        if cand is None:
            return False
        problem = self.problem
        if current.model is not None:
            mine = self.settled(current, k)
            if mine is not None and not _beats(_mean_key(cand, self.S), _mean_key(mine, self.S)):
                cand = self._within_noise(cand, mine, source.model, current, k, how)
                if cand is None:
                    return False
        model, _, recorded = problem.fit(problem.warm(cand.model._fitted_params(), k, self.ct))
        if model is None:
            return False
        model.warm_start = False
        new = Cell(model, None, recorded, how)
        if new.key(problem) > current.key(problem):
            cells[k] = new
            return True
        return False

    def _within_noise(self, cand, mine, source, current, k, how):
        """A settled neighbour fit below the cell's on the subsample, but within its noise,
        whose one E-step on all rows is above the cell's log-likelihood; or None.

        The search's best candidate is judged first; when it is the cell's own
        fixed point, the other short runs of its first batch that are already
        above the cell's fit or within the noise are settled and judged: a
        short run's rank does not tell where it ends (EII, K = 8, in
        :mod:`emkit._neighbours_undecided`)."""
        S, problem = self.S, self.problem
        others = []
        if _mean_key(mine, S)[1] - _mean_key(cand, S)[1] <= MARGIN:
            hit = self.memo.get(("runners-up", id(source), k, self.ct, how, False,
                                 S.base.get("max_iter"), S.base.get("tol")))
            runs = hit[1] if hit is not None and hit[0] is source else []
            others = (_settle(S, c.model._fitted_params(), k, self.ct) for c in runs
                      if _beats(_mean_key(c, S), _mean_key(mine, S))
                      or undecided(S, c, mine, MARGIN))
        target = problem.loglik(current.model)
        for c in itertools.chain((cand,), others):
            if c is None or not _viable(c):
                continue
            if _beats(_mean_key(c, S), _mean_key(mine, S)):
                return c
            if undecided(S, c, mine, MARGIN) and problem.start_total(c.model) > target:
                return c
        return None


def refine_large(problem, cells: dict, ct) -> None:
    """Improve a covariance type's cells from their neighbours along K, in place (large data).

    Two passes of :func:`emkit._neighbours.refine`'s three, split upwards and
    merge downwards, each decided on the search subsample; then every cell
    whose log-likelihood on all rows is below its ``K - 1`` neighbour's (or
    that is degenerate where the neighbour is not) gets that neighbour's split
    starts continued on all rows.

    The third pass of the small-data search (split again above every cell the
    merges changed) is left out: merges go downwards, so a ``K - 1`` cell
    they changed is the merge of the ``K`` cell's own fit, and its splits
    start near that fit again.  On the 50,000 x 4 anisotropic data every
    such re-split (full K = 7, 8, 9 and tied K = 4) kept the cell as it was,
    at about a tenth of the selection's CPU time (mostly full-covariance
    settles that reach the pass cap); every cell is unchanged without them.
    """
    search = _Search(problem, ct)
    ks = sorted(cells)
    for k in ks:
        search.improve(cells, k, "split")
    for k in reversed(ks):
        search.improve(cells, k, "merge")
    repair_along_k(problem, cells, ct)


def repair_along_k(problem, cells: dict, ct) -> None:
    """Every cell below its ``K - 1`` neighbour on all rows (or degenerate where the
    neighbour is not) gets the neighbour's split starts continued on all rows, in place.

    A cell that is below its neighbour but not degenerate can only be replaced
    by a non-degenerate fit, so the split starts first run to convergence on
    the search subsample (hard splits, then soft ones); when every one of them
    ends degenerate there, none is continued on all rows (on the 50,000-row
    anisotropic data, VEV at K = 9 continued sixteen split starts on all rows,
    about 75 s CPU, all of them degenerate).  A pair of fits (the neighbour's
    and the cell's) screened without result is not screened again when
    :func:`polish` repairs the covariance type again, and the hard splits that
    :meth:`_Search.improve` already settled are not settled twice.  After such
    a screen, the soft split of the neighbour's heaviest component is continued
    on all rows (:func:`emkit._neighbours_undecided.heaviest_soft_split`).
    """
    search = _Search(problem, ct)
    for k in sorted(cells):
        source = cells.get(k - 1)
        if source is None or source.model is None or source.model.degenerate_components_:
            continue
        current = cells[k]
        if current.model is not None and not current.model.degenerate_components_:
            ll, prev = problem.loglik(current.model), problem.loglik(source.model)
            if ll >= prev - _MONOTONE_RTOL * max(1.0, abs(prev)):
                continue
            # the same two fits screened before (a later pass of polish): not again
            key = ("screened", id(source.model), id(current.model), k, ct)
            seen = search.memo.get(key)
            if seen is not None and seen[0] is source.model and seen[1] is current.model:
                continue
            if not any(_viable(search.candidate(source.model, k, "split", soft))
                       for soft in (False, True)):
                search.memo[key] = (source.model, current.model)
                cand = heaviest_soft_split(problem, source.model, k, ct)
                if cand is not None and cand.key(problem) > current.key(problem):
                    cells[k] = cand
                continue
        cand = _search_and_fit(problem, source.model, k, ct, "split", current, True)
        if cand is not None and cand.key(problem) > current.key(problem):
            cells[k] = cand


# ------------------------------------------------- the pass budget of a selection
def pass_budget(problem, max_iter) -> int | None:
    """The pass budget of each run on all rows of a large-data selection, or None.

    :data:`SELECT_PASSES` when the data have more than ``SEARCH_ROWS`` rows,
    neither ``max_iter`` nor ``estimator_params`` set ``max_iter`` and the
    estimator's own default is larger; None (keep the estimator's
    ``max_iter``) otherwise.
    """
    from ._neighbours import SEARCH_ROWS

    if max_iter is not None or "max_iter" in problem.base or problem.Xv.shape[0] <= SEARCH_ROWS:
        return None
    return SELECT_PASSES if problem.make(1, None).max_iter > SELECT_PASSES else None


def select_tol(problem, tol) -> float | None:
    """The stopping threshold of each run on all rows of a large-data selection, or None.

    :data:`SELECT_TOL` when the data have more than ``SEARCH_ROWS`` rows,
    neither ``tol`` nor ``estimator_params`` set ``tol`` and the estimator's
    own default is tighter; None (keep the estimator's ``tol``) otherwise.
    """
    from ._neighbours import SEARCH_ROWS

    if tol is not None or "tol" in problem.base or problem.Xv.shape[0] <= SEARCH_ROWS:
        return None
    return SELECT_TOL if problem.make(1, None).tol < SELECT_TOL else None


def polish(problem, table_cells: dict, value_of, budget: int | None, loose: bool = False) -> None:
    """Continue the capped (or loosely stopped) runs that could still be chosen, in place.

    Parameters
    ----------
    problem : Problem
    table_cells : dict
        ``{covariance type: {K: Cell}}`` after the neighbour refinement.
    value_of : callable
        The criterion value of a fitted model (lower is better).
    budget : int or None
        The pass budget the cells were fitted with (:func:`pass_budget`),
        None for the estimator's own ``max_iter``.
    loose : bool
        The cells were fitted with :data:`SELECT_TOL` (:func:`select_tol`):
        the converged ones within reach are continued too, at the
        estimator's own ``tol``.

    Every cell that stopped unconverged at ``budget`` passes (or, with
    ``loose``, at all) and whose criterion value is within
    :data:`POLISH_REACH` of the best cell's continues from where it stopped
    for the rest of the estimator's own ``max_iter``, and each changed
    covariance type is checked along K again (:func:`repair_along_k`);
    repeated until no such cell is left.
    """
    full = problem.make(1, None).max_iter
    budget = 0 if budget is None else budget
    values, done = {}, set()

    def value(cell):
        hit = values.get(id(cell))
        if hit is None or hit[0] is not cell:
            hit = (cell, value_of(cell.model))
            values[id(cell)] = hit
        return hit[1]

    while True:
        touched = set()
        ok = [(ct, k, c) for ct, cells in table_cells.items() for k, c in cells.items()
              if c.model is not None and not c.model.degenerate_components_]
        if not ok:
            return
        best = min(value(c) for _, _, c in ok)
        todo = [(ct, k, c) for ct, k, c in ok if (loose or not c.model.converged_)
                and id(c) not in done and value(c) <= best + POLISH_REACH]
        if not todo:
            break
        for ct, k, cell in todo:
            done.add(id(cell))
            model = problem.warm(cell.model._fitted_params(), k, ct)
            model.max_iter = max(full - budget, 1)
            fitted, _, recorded = problem.fit(model)
            if fitted is None:
                continue
            fitted.warm_start = False
            new = Cell(fitted, None, recorded, cell.start)
            if new.key(problem) >= cell.key(problem):
                done.add(id(new))
                table_cells[ct][k] = new
                touched.add(ct)
        for ct in touched:
            repair_along_k(problem, table_cells[ct], ct)
