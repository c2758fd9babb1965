"""Data passes and CPU time of one default ``select_model`` run, by phase.

A data pass is one fused E-step over every row of the run's data (counted by
:class:`emkit.engine.monitor.ConvergenceMonitor`), plus the scoring passes
of the neighbour search and the table; "all-row eq." weights each pass by
the rows it visits over all rows (the short runs and the neighbour search
work on subsamples of large data).  Set-up passes and the split starts'
principal axes are not counted.  Phases:

- ``emEM short runs``: the short EM runs of ``init_params="auto"``
  (:func:`emkit.engine.starts.auto_starts`), the starts' construction included;
- ``settle``: the finalists run to convergence on the subsample (data over
  2,000 rows);
- ``default continue``: the finalists continued to convergence on all rows;
- ``neighbour search``: building and scoring split / merge starts;
- ``neighbour short`` / ``neighbour continue``: their short runs (on the
  search subsample of large data) and the continuation of the best on all
  rows;
- ``neighbour settle``: above the search subsample's size, the best
  neighbour start and the cell's own fit run to convergence on the
  subsample (:mod:`emkit._neighbours_large`);
- ``table``: the criteria of every kept fit.

With ``--check`` every cell is compared with mclust's log-likelihood
(``tests/fixtures/mclust/mclust_cells.csv``, data sets that ship with
mclust), as ``tests/test_select_mclust.py`` does.

Usage::

    python benchmarks/bench_passes.py [--data faithful,iris,...|aniso] [--n 50000]
                                      [--seed 0] [--check] [--threads 1] [--types all]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "fixtures" / "mclust"
MODELS = {"EEE": "tied", "VVV": "full", "VVI": "diag", "VII": "spherical"}
PHASES = ("emEM short runs", "settle", "default continue", "neighbour search",
          "neighbour short", "neighbour settle", "neighbour continue", "table", "other")


class Recorder:
    """A stack of phases: passes, EM runs and exclusive CPU seconds per phase."""

    def __init__(self):
        self.stack = ["other"]
        self.passes = defaultdict(int)
        self.runs = defaultdict(int)
        self.cpu = defaultdict(float)
        self.rows = defaultdict(float)  # passes weighted by the rows they visit / all rows
        self.n_rows = []  # rows of the EM runs in progress
        self.n_total = 1
        self.t = time.process_time()

    def _switch(self):
        now = time.process_time()
        self.cpu[self.stack[-1]] += now - self.t
        self.t = now

    def push(self, phase):
        self._switch()
        self.stack.append(phase)

    def pop(self):
        self._switch()
        self.stack.pop()

    def wrap(self, fn, phase):
        rec = self

        def wrapped(*args, **kwargs):
            p = phase(*args, **kwargs) if callable(phase) else phase
            rec.push(p)
            try:
                return fn(*args, **kwargs)
            finally:
                rec.pop()

        return wrapped


def install(rec: Recorder) -> None:
    import emkit.selection as sel
    from emkit import _neighbours as nb
    from emkit import _neighbours_large as nbl
    from emkit.engine import monitor, starts
    from emkit.mixture import _base

    orig_count = monitor.ConvergenceMonitor.count_pass
    orig_init = monitor.ConvergenceMonitor.__init__

    def count_pass(self, n=1):
        rec.passes[rec.stack[-1]] += n
        rec.rows[rec.stack[-1]] += n * (rec.n_rows[-1] if rec.n_rows else rec.n_total) / rec.n_total
        return orig_count(self, n)

    from emkit.engine import em

    def sized(orig):
        """``orig`` (run_em or run_em_batch) recording the rows of its data while it runs."""

        def wrapped(family, params, data, backend, **kw):
            rec.n_rows.append(data.n_samples)
            try:
                return orig(family, params, data, backend, **kw)
            finally:
                rec.n_rows.pop()

        return wrapped

    run_em = sized(em.run_em)
    for module in (em, starts, _base):
        module.run_em = run_em
    orig_batch = getattr(starts, "run_em_batch", None)  # batched short runs (after 548c49b)
    if orig_batch is not None:
        starts.run_em_batch = sized(orig_batch)

    def init(self, *a, **k):
        rec.runs[rec.stack[-1]] += 1
        return orig_init(self, *a, **k)

    monitor.ConvergenceMonitor.count_pass = count_pass
    monitor.ConvergenceMonitor.__init__ = init
    _base.auto_starts = rec.wrap(starts.auto_starts, "emEM short runs")
    starts._settle = rec.wrap(starts._settle, "settle")

    def run_phase(*a, **k):
        top = rec.stack[-1]
        if top in ("neighbour short", "neighbour settle"):
            return top
        return "neighbour continue" if top.startswith("neighbour") else "default continue"

    _base.BaseMixture._run_start = rec.wrap(_base.BaseMixture._run_start, run_phase)
    if hasattr(_base.BaseMixture, "_run_starts"):  # the runs of one start together (2026-11-29)
        from emkit.mixture import _together

        _together.run_together = rec.wrap(_together.run_together, run_phase)
        _base.run_together = _together.run_together
        if hasattr(nb, "fit_together"):  # several fits together (2026-11-29)
            # the default fits of all K (their starts are still "emEM short runs":
            # auto_starts is wrapped inside), or the neighbour short runs (below)
            nb.fit_together = rec.wrap(
                _together.fit_together,
                lambda *a, **k: rec.stack[-1] if rec.stack[-1].startswith("neighbour")
                else "default continue")
    nb._search_and_fit = rec.wrap(nb._search_and_fit, "neighbour search")
    # large data (emkit._neighbours_large): the search and both sides of the comparison
    # converge on the subsample; the winners continue on all rows
    nbl._search_and_fit = nb._search_and_fit
    nbl._Search.improve = rec.wrap(nbl._Search.improve, "neighbour continue")
    nbl._Search.candidate = rec.wrap(nbl._Search.candidate, "neighbour search")
    nbl._settle = rec.wrap(nbl._settle, "neighbour settle")

    def fit_phase(self, model):
        if rec.stack[-1] == "neighbour search" and model.max_iter == nb.SHORT_ITER:
            return "neighbour short"
        return rec.stack[-1]

    nb.Problem.fit = rec.wrap(nb.Problem.fit, fit_phase)
    if hasattr(nb.Problem, "fit_many"):  # the neighbour short runs together (2026-11-29)
        def many_phase(self, models):
            if rec.stack[-1] == "neighbour search" and all(
                    m.max_iter == nb.SHORT_ITER for m in models):
                return "neighbour short"
            return rec.stack[-1]

        nb.Problem.fit_many = rec.wrap(nb.Problem.fit_many, many_phase)
    def scoring(orig):
        def scored(self, model):
            rec.passes[rec.stack[-1]] += 1
            rec.rows[rec.stack[-1]] += self.Xv.shape[0] / rec.n_total
            return orig(self, model)

        return scored

    # the starts' log-likelihoods (start_total after 2026-11-29, score_total before)
    for name in ("score_total", "start_total"):
        if hasattr(nb.Problem, name):
            setattr(nb.Problem, name, scoring(getattr(nb.Problem, name)))
    if hasattr(nb.Problem, "start_scorer"):  # the split / merge starts, without estimators
        orig_scorer = nb.Problem.start_scorer

        def start_scorer(self, k, ct):
            return (lambda total: lambda params: scoring(lambda s, p: total(p))(self, params))(
                orig_scorer(self, k, ct))

        nb.Problem.start_scorer = start_scorer
    orig_criteria = sel._criteria

    def criteria(*a, **k):
        rec.passes["table"] += 1
        rec.rows["table"] += 1
        return orig_criteria(*a, **k)

    sel._criteria = rec.wrap(criteria, "table")


def mclust_cells(name):
    out = {}
    with open(FIXTURES / "mclust_cells.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r["dataset"] == name and r["loglik"] != "NA":
                out[(MODELS[r["model"]], int(r["G"]))] = float(r["loglik"])
    return out


def load(name, n):
    import numpy as np

    if name == "aniso":
        sys.path.insert(0, str(HERE.parent / "tests"))
        from _anisotropic import anisotropic_data

        return anisotropic_data(n)[0]
    return np.loadtxt(FIXTURES / f"{name}.csv", delimiter=",", skiprows=1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="faithful")
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--types", default="full,tied,diag,spherical",
                    help="covariance types (comma-separated), or 'all' for the 14 mclust models")
    args = ap.parse_args(argv)
    if args.threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "EMKIT_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import emkit

    rec = Recorder()
    install(rec)
    status = 0
    totals = defaultdict(float)
    for name in args.data.split(","):
        X = load(name, args.n)
        for d in (rec.passes, rec.runs, rec.cpu, rec.rows):
            d.clear()
        rec.n_total = X.shape[0]
        rec.t = time.process_time()
        c0 = time.process_time()
        best, table = emkit.select_model(X, covariance_types=args.types.split(","),
                                         random_state=args.seed)
        rec._switch()
        cpu = time.process_time() - c0
        chosen = next(r for r in table if r["best"])
        print(f"\n{name} {X.shape}: {cpu:.2f} s CPU, pick {chosen['covariance_type']}-"
              f"{chosen['n_components']} (BIC {chosen['value']:.2f}), load {os.getloadavg()[0]:.1f}")
        print(f"{'phase':<20} {'passes':>8} {'all-row eq.':>11} {'runs':>6} {'CPU s':>7}")
        for p in PHASES:
            if rec.passes[p] or rec.runs[p] or rec.cpu[p] > 0.005:
                print(f"{p:<20} {rec.passes[p]:>8} {rec.rows[p]:>11.1f} {rec.runs[p]:>6} "
                      f"{rec.cpu[p]:>7.2f}")
        print(f"{'total':<20} {sum(rec.passes.values()):>8} {sum(rec.rows.values()):>11.1f} "
              f"{sum(rec.runs.values()):>6} {sum(rec.cpu.values()):>7.2f}")
        totals["cpu"] += cpu
        totals["passes"] += sum(rec.passes.values())
        if args.check and name != "aniso":
            ref = mclust_cells(name)
            below, above = [], []
            for r in table:
                key = (r["covariance_type"], r["n_components"])
                if key not in ref or r["log_likelihood"] is None:
                    continue
                gap = r["log_likelihood"] - ref[key]
                if gap < -1e-6 * abs(ref[key]):
                    below.append((f"{key[0]}-{key[1]}", round(gap, 4)))
                elif gap > 1e-3:
                    above.append((f"{key[0]}-{key[1]}", round(gap, 3)))
            nonmono = [f"{r['covariance_type']}-{r['n_components']}" for r in table
                       if r["monotone"] is False]
            print(f"below mclust: {below or 'none'}; non-monotone: {nonmono or 'none'}")
            print(f"above mclust by > 1e-3: {above}")
            status |= bool(below or nonmono)
    if len(args.data.split(",")) > 1:
        print(f"\nall: {totals['cpu']:.2f} s CPU, {int(totals['passes'])} passes")
    return status


if __name__ == "__main__":
    sys.exit(main())
