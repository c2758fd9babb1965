"""Model selection over K = 1..9 x four covariance types: emkit vs R's mclust vs scikit-learn.

For each data set (the issue's 50,000 x 4 anisotropic five-cluster data, and
Old Faithful) three programs choose a Gaussian mixture by BIC over the same
grid, each in its own fresh process:

- emkit: ``emkit.select_model(X, random_state=0)`` at its defaults (what
  ``emkit select`` runs);
- mclust: ``Mclust(X, G = 1:9, modelNames = c("VVV", "EEE", "VVI", "VII"))``
  through ``Rscript``, timed inside R with ``system.time`` (R start-up and
  data loading excluded; likewise emkit's imports);
- with ``--models all``: every one of mclust's 14 models on both sides
  (``select_model(X, covariance_types=MODEL_NAMES)`` against
  ``Mclust(X, G = 1:9)``, mclust's default of all 14); scikit-learn is left
  out (it has only the four);
- scikit-learn: a loop of ``GaussianMixture(k, covariance_type=ct,
  random_state=0).fit(X)`` over the grid, at scikit-learn's defaults.

With ``--repeats N`` the programs alternate (emkit, mclust, scikit-learn, emkit, ...),
so a change of load on a shared machine hits each alike, and the medians are
reported.  Printed per data set: wall and CPU seconds (medians, and the CPU
seconds of every repeat), the CPU ratios to emkit, peak resident
memory of each process (``wait4``), the chosen model and its BIC, and a
per-cell comparison of log-likelihoods with mclust (cells where emkit is below
mclust by more than 1e-6 relative, and the largest gains).  mclust's BIC is
``2 log L - p log n``; it is shown here in emkit's sign (lower is better).

Usage::

    python benchmarks/bench_select.py [--data aniso,faithful] [--n 50000]
                                      [--repeats 1] [--threads N] [--json results.json]
                                      [--models sklearn|all]

``--threads N`` sets the BLAS / OpenMP thread count of every child process
and the threads over which emkit maps row chunks (``EMKIT_NUM_THREADS``;
without it emkit maps them over every core): mclust's EM is single-threaded
Fortran, and on a shared machine one thread each is the fairer comparison.

Needs R with mclust (Debian: ``apt-get install r-base-core r-cran-mclust``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

TYPES = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}
KS = list(range(1, 10))

R_SCRIPT = r"""
suppressPackageStartupMessages(library(mclust))
args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1], header = FALSE))
models <- if (args[2] == "all") mclust.options("emModelNames") else c("VVV", "EEE", "VVI", "VII")
t0 <- proc.time()
fit <- Mclust(X, G = 1:9, modelNames = models, verbose = FALSE)
t <- proc.time() - t0
n <- nrow(X); d <- ncol(X)
cat(sprintf("TIME %.17g %.17g\n", t[["elapsed"]], t[["user.self"]] + t[["sys.self"]]))
cat(sprintf("PICK %s %d\n", fit$modelName, fit$G))
for (m in models) for (g in 1:9) {
  b <- fit$BIC[as.character(g), m]
  p <- nMclustParams(m, d, g)
  ll <- if (is.na(b)) NA else (b + p * log(n)) / 2
  cat(sprintf("CELL %s %d %.17g %.17g\n", m, g, b, ll))
}
"""


def load(name: str, n: int) -> np.ndarray:
    if name == "aniso":
        from _anisotropic import anisotropic_data

        return anisotropic_data(n)[0]
    from emkit.datasets import load_faithful

    return load_faithful()


class _Same(dict):
    """mclust's model names are emkit's: the identity mapping."""

    def __missing__(self, key):
        return key


# ------------------------------------------------------------ child processes
def child_emkit(X: np.ndarray, models: str = "sklearn") -> dict:
    import emkit
    import emkit.selection  # noqa: F401  (its imports, scikit-learn's among them, are
    # not timed, as R's start-up and library(mclust) are not)
    from emkit.families._mclust_models import MODEL_NAMES

    kw = {"covariance_types": MODEL_NAMES} if models == "all" else {}
    t0, c0 = time.perf_counter(), time.process_time()
    best, table = emkit.select_model(X, random_state=0, **kw)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "wall": wall, "cpu": cpu, "pick": [best.covariance_type, best.n_components],
        "cells": {f"{r['covariance_type']}-{r['n_components']}": {
            "bic": r["value"], "loglik": r["log_likelihood"], "degenerate": r["degenerate"],
            "monotone": r["monotone"], "start": r["start"]} for r in table},
    }


def child_sklearn(X: np.ndarray) -> dict:
    import warnings

    from sklearn.mixture import GaussianMixture

    cells = {}
    t0, c0 = time.perf_counter(), time.process_time()
    for ct in TYPES:
        for k in KS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gm = GaussianMixture(k, covariance_type=ct, random_state=0).fit(X)
            cells[f"{ct}-{k}"] = {"bic": float(gm.bic(X)), "loglik": float(gm.score(X) * len(X))}
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    pick = min(cells, key=lambda c: cells[c]["bic"])
    ct, k = pick.split("-")
    return {"wall": wall, "cpu": cpu, "pick": [ct, int(k)], "cells": cells}


def run_child(tool: str, data: str, n: int, env: dict | None = None,
              models: str = "sklearn") -> dict:
    """Run one tool in a fresh process; add its peak resident memory (MiB)."""
    if tool == "mclust":
        X = load(data, n)
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "X.csv"
            np.savetxt(csv, X, delimiter=",", fmt="%.17g")
            script = Path(tmp) / "select.R"
            script.write_text(R_SCRIPT)
            proc = subprocess.Popen(["Rscript", str(script), str(csv), models],
                                    stdout=subprocess.PIPE, text=True, env=env)
            out = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise RuntimeError(f"Rscript failed ({proc.returncode})")
        res = {"cells": {}}
        inv = {v: k for k, v in TYPES.items()} if models != "all" else _Same()
        for line in out.splitlines():
            parts = line.split()
            if parts and parts[0] == "TIME":
                res["wall"], res["cpu"] = float(parts[1]), float(parts[2])
            elif parts and parts[0] == "PICK":
                res["pick"] = [inv[parts[1]], int(parts[2])]
            elif parts and parts[0] == "CELL":
                b = None if parts[3] == "NA" else -float(parts[3])  # emkit's sign
                ll = None if parts[4] == "NA" else float(parts[4])
                res["cells"][f"{inv[parts[1]]}-{parts[2]}"] = {"bic": b, "loglik": ll}
    else:
        cmd = [sys.executable, __file__, "--child", tool, "--data", data, "--n", str(n),
               "--models", models]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status):
            raise RuntimeError(f"{tool} child failed")
        res = json.loads(out.strip().splitlines()[-1])
    res["peak_mib"] = usage.ru_maxrss / 1024.0  # Linux: KiB
    return res


# ------------------------------------------------------------------ report
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def compare(name: str, runs: dict) -> dict:
    em, mc = runs["emkit"], runs["mclust"]
    sk = runs.get("sklearn", {"cells": {}})
    below, gains, both = [], [], 0
    for cell, r in em["cells"].items():
        m = mc["cells"].get(cell, {}).get("loglik")
        if m is None or r["loglik"] is None:
            continue
        both += 1
        gap = r["loglik"] - m
        if gap < -1e-6 * abs(m):
            below.append((cell, gap))
        gains.append((gap, cell))
    sk_below = sum(
        1 for cell, r in sk["cells"].items()
        if mc["cells"].get(cell, {}).get("loglik") is not None
        and r["loglik"] < mc["cells"][cell]["loglik"] * (1 + 1e-6)
    )
    nonmono = [c for c, r in em["cells"].items() if r.get("monotone") is False]
    n_types = len({c.rsplit("-", 1)[0] for c in em["cells"]})
    print(f"\n== {name}: emkit vs mclust{'' if 'sklearn' not in runs else ' vs scikit-learn'} "
          f"(K = 1..9 x {n_types} covariance types)")
    print(f"{'':10s}{'wall s':>9s}{'cpu s':>9s}{'cpu/emkit':>11s}{'peak MiB':>10s}  pick (BIC)"
          "   [cpu s of every repeat]")
    for tool in runs:
        r = runs[tool]
        ct, k = r["pick"]
        bic = r["cells"][f"{ct}-{k}"]["bic"]
        each = ", ".join(f"{c:.2f}" for c in r.get("all_cpu", [r["cpu"]]))
        print(f"{tool:10s}{r['wall']:9.2f}{r['cpu']:9.2f}{r['cpu'] / em['cpu']:11.3f}"
              f"{r['peak_mib']:10.0f}  {ct}-{k} ({bic:.2f})   [{each}]")
    print(f"cells fitted by both emkit and mclust: {both}; emkit below mclust (>1e-6 rel): "
          f"{len(below)} {below}; scikit-learn below mclust: {sk_below}")
    gains.sort(reverse=True)
    print("largest emkit gains over mclust (log-lik units): "
          + ", ".join(f"{c} {g:+.3f}" for g, c in gains[:4]))
    print(f"emkit cells marked non-monotone in K: {nonmono}")
    return {"both": both, "below": below, "sklearn_below": sk_below, "nonmonotone": nonmono}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="aniso,faithful")
    ap.add_argument("--n", type=int, default=50_000, help="rows of the anisotropic data")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS/OpenMP and emkit chunk threads of every child "
                         "(default: the libraries' own)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--models", choices=("sklearn", "all"), default="sklearn",
                    help="the four scikit-learn covariance types (also fitted by scikit-learn), "
                         "or all 14 mclust models (emkit and mclust only)")
    ap.add_argument("--child", choices=("emkit", "sklearn"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        X = load(args.data, args.n)
        out = child_emkit(X, args.models) if args.child == "emkit" else child_sklearn(X)
        print(json.dumps(out))
        return
    env = dict(os.environ)
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "EMKIT_NUM_THREADS"):
            env[var] = str(args.threads)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs; load average "
          f"{os.getloadavg()[0]:.2f} at start; Python {platform.python_version()}; "
          f"threads per process: {args.threads or 'library default'}")
    results = {}
    for name in args.data.split(","):
        tools = ("emkit", "mclust") + (("sklearn",) if args.models == "sklearn" else ())
        reps = {tool: [] for tool in tools}
        for _ in range(args.repeats):  # the tools alternate, so load changes hit each alike
            for tool in tools:
                reps[tool].append(run_child(tool, name, args.n, env, args.models))
        runs = {}
        for tool in tools:
            # the run with the median CPU time (its cells and pick are reported)
            order = sorted(reps[tool], key=lambda r: r["cpu"])
            med = dict(order[(len(order) - 1) // 2])
            med["all_wall"] = [r["wall"] for r in reps[tool]]
            med["all_cpu"] = [r["cpu"] for r in reps[tool]]
            med["cpu"] = statistics.median(med["all_cpu"])
            med["wall"] = statistics.median(med["all_wall"])
            runs[tool] = med
        summary = compare(f"{name} ({'%d x 4' % args.n if name == 'aniso' else '272 x 2'})", runs)
        results[name] = {"runs": runs, "summary": summary}
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
