"""emkit.bootstrap at mclust's size: 999 replicates on Old Faithful, against MclustBootstrap.

The fit is issue 12's case and the test fixtures' (tests/fixtures/mclust_bootstrap,
made by make_fixtures.R there with mclust 6.0.0): EEE with G = 3 on Old Faithful,
no covariance floor (``reg_covar=0``, as mclust).  For each kind (nonparametric,
parametric, weighted likelihood; mclust's "bs", "pb", "wlbs") this runs
``emkit.bootstrap(model, X, n_boot=999, kind=..., random_state=0, n_jobs=1)`` and
prints:

- wall and CPU seconds (``time.process_time``; one process, one BLAS thread),
  replicates failed and unconverged;
- for every weight, mean and covariance entry: emkit's standard error, mclust's
  (999 replicates each refitted to 1e-10, "converged", and as shipped, each refitted
  to me()'s default 1e-5), their log-ratio in units of its Monte Carlo error
  ``sqrt((kurtosis - 1) / 4 * (1/998 + 1/998))`` (the kurtosis of R's replicates,
  se_kurtosis.csv), and the largest |z| per kind;
- with ``--r``: MclustBootstrap's own time for the same 999 replicates (as
  shipped), through Rscript.

Usage::

    python benchmarks/bench_bootstrap.py [--n-boot 999] [--kinds nonparametric,parametric,weighted]
                                         [--r] [--n-jobs 1]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import emkit  # noqa: E402

FIX = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mclust_bootstrap"
RTYPE = {"nonparametric": "bs", "parametric": "pb", "weighted": "wlbs"}

R_TIMING = r"""
suppressPackageStartupMessages(library(mclust))
X <- as.matrix(faithful)
mod <- Mclust(X, G = 3, modelNames = "EEE", verbose = FALSE)
for (type in c("bs", "pb", "wlbs")) {
  set.seed(12)
  t <- system.time(b <- MclustBootstrap(mod, nboot = 999, type = type, verbose = FALSE))
  cat(sprintf("RTIME %s %.3f %.3f %d\n", type, t[["elapsed"]], t[["user.self"]] + t[["sys.self"]],
              b$nonfit))
}
"""


def rows(name):
    with open(FIX / name, newline="") as fh:
        return list(csv.DictReader(fh))


def r_fit_means():
    v = {r["name"]: float(r["value"]) for r in rows("fit.csv")}
    return np.array([[v[f"mean{k}_{j}"] for j in (1, 2)] for k in (1, 2, 3)])


def flat(se, order):
    out = {f"pro{k + 1}": se["weights"][order[k]] for k in range(3)}
    out.update({f"mean{k + 1}_{j + 1}": se["means"][order[k], j] for k in range(3) for j in range(2)})
    out.update({f"var{k + 1}_{i + 1}_{j + 1}": se["covariances"][order[k], i, j]
                for k in range(3) for i in range(2) for j in range(2)})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-boot", type=int, default=999)
    ap.add_argument("--kinds", default="nonparametric,parametric,weighted")
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--r", action="store_true", help="also time MclustBootstrap in R")
    args = ap.parse_args()
    X = np.loadtxt(FIX / "faithful.csv", delimiter=",", skiprows=1)
    gm = emkit.GaussianMixture(3, covariance_type="EEE", reg_covar=0.0, random_state=0).fit(X)
    means = r_fit_means()
    order = np.argmin(np.linalg.norm(means[:, None] - gm.means_[None], axis=2), axis=1)
    print(f"{platform.processor() or platform.machine()}; load average {os.getloadavg()[0]:.2f}; "
          f"emkit {emkit.__version__}; EEE-3 log-likelihood {gm.score(X) * len(X):.6f}")
    for kind in args.kinds.split(","):
        rtype = RTYPE[kind]
        t0, c0 = time.perf_counter(), time.process_time()
        res = emkit.bootstrap(gm, X, args.n_boot, kind=kind, random_state=0, n_jobs=args.n_jobs)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        ours = flat(res.std_errors, order)
        ref = {r["name"]: r for r in rows(f"se_{rtype}.csv")}
        kurt = {r["name"]: float(r[rtype]) for r in rows("se_kurtosis.csv")}
        print(f"\n== {kind} ({rtype}): {args.n_boot} replicates, wall {wall:.1f} s, CPU {cpu:.1f} s "
              f"({1e3 * cpu / args.n_boot:.1f} ms CPU per replicate), failed {res.n_failed}, "
              f"unconverged {res.n_unconverged}")
        print(f"{'parameter':12s} {'emkit SE':>11s} {'mclust 1e-10':>12s} {'ratio':>6s} {'z':>6s}"
              f" {'mclust 1e-5':>11s} {'ratio':>6s}")
        zs = []
        for name, se in ours.items():
            conv, shipped = float(ref[name]["se_converged"]), float(ref[name]["se_mclust"])
            mc = np.sqrt((kurt[name] - 1) / 4 * (1 / (args.n_boot - 1) + 1 / 998))
            z = np.log(se / conv) / mc
            zs.append(z)
            print(f"{name:12s} {se:11.5g} {conv:12.5g} {se / conv:6.3f} {z:6.2f} {shipped:11.5g} "
                  f"{se / shipped:6.3f}")
        zs = np.array(zs)
        print(f"largest |z| {np.abs(zs).max():.2f}; mean z of weights and means {zs[:9].mean():.2f}; "
              f"|z| > 2 in {(np.abs(zs) > 2).sum()} of {zs.size}")
    if args.r:
        with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
            fh.write(R_TIMING)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        out = subprocess.run(["Rscript", fh.name], capture_output=True, text=True, env=env, check=True)
        os.unlink(fh.name)
        print()
        for line in out.stdout.splitlines():
            if line.startswith("RTIME"):
                _, t, wall, cpu, nonfit = line.split()
                print(f"MclustBootstrap {t}: 999 replicates, wall {float(wall):.1f} s, "
                      f"CPU {float(cpu):.1f} s, nonfit {nonfit}")


if __name__ == "__main__":
    main()
