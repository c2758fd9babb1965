"""Stopping rule, tolerance and acceleration: measurements behind the defaults.

For each reference case, from one fixed start (the one a user's default fit
got before issue 9: k-means, random_state=0; reference case 1 from its
documented far start), run EM to convergence under

- the classic rule (last gain of the mean log-likelihood below tol) and
  Aitken's rule (estimated remaining gain below tol),
- plain EM and SQUAREM,
- tol from 1e-3 to 1e-10,

and report data passes, wall time and the final total log-likelihood against
the optimum (SQUAREM, Aitken, tol 1e-13).  Run: python benchmarks/bench_stopping.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.datasets import load_faithful
from emkit.engine.em import run_em
from emkit.engine.init import make_start, params_from_start
from emkit.families.gaussian import GaussianFamily, precisions_to_params


def case1():
    rs = np.random.RandomState(0)
    X = np.r_[rs.normal(0, 1, 50), rs.normal(2, 1, 50)][:, None]
    fam = GaussianFamily("full", 1e-6, X.mean(axis=0))
    cov, chol = precisions_to_params(np.full((2, 1, 1), 0.25), "full", 1e-6)
    p0 = {"weights": np.array([0.5, 0.5]), "means": np.array([[0.0], [1.0]]), "covariances": cov,
          "precisions_cholesky": chol}
    return "case 1 (100 x 1, K=2, far start)", X, fam, p0


def _kmeans_start(X, K, ct):
    data = Data(X, np.ones(len(X)))
    fam = GaussianFamily(ct, 1e-6, X.mean(axis=0))
    be = NumpyBackend()
    start = make_start("kmeans", data, K, np.random.RandomState(0), be)
    return fam, params_from_start(fam, data, start, be)


def case2():
    rng = np.random.default_rng(2)
    X = np.r_[rng.normal(-0.5, 0.2, 2000), rng.normal(-0.1, 0.07, 5000), rng.normal(0.2, 0.13, 10000)][:, None]
    fam, p0 = _kmeans_start(X, 3, "full")
    return "case 2 (17,000 x 1, K=3, k-means start)", X, fam, p0


def faithful():
    X = load_faithful()
    fam, p0 = _kmeans_start(X, 3, "tied")
    return "Old Faithful (272 x 2, tied, K=3, k-means start)", X, fam, p0


def aniso(n=50_000):
    rng = np.random.default_rng(5)
    K, d = 5, 4
    means = rng.normal(0, 6, size=(K, d))
    A = rng.normal(size=(K, d, d)) * rng.uniform(0.3, 2.0, size=(K, 1, d))
    lab = rng.integers(0, K, size=n)
    X = means[lab] + np.einsum("nij,nj->ni", A[lab], rng.normal(size=(n, d)))
    fam, p0 = _kmeans_start(X, 5, "full")
    return "anisotropic (50,000 x 4, full, K=5, k-means start)", X, fam, p0


def run(X, fam, p0, **kw):
    data = Data(X, np.ones(len(X)))
    t = time.perf_counter()
    res = run_em(fam, p0, data, NumpyBackend(), **kw)
    return res, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tols", default="1e-3,1e-5,1e-6,1e-7,1e-8,1e-9,1e-10")
    args = ap.parse_args()
    tols = [float(t) for t in args.tols.split(",")]
    for make in (case1, case2, faithful, aniso):
        name, X, fam, p0 = make()
        n = len(X)
        ref, _ = run(X, fam, p0, tol=1e-13, max_iter=100_000, acceleration="squarem")
        opt = ref.lower_bound * n
        print(f"\n{name}: optimum from this start {opt:.5f}")
        print(f"{'rule':7s} {'accel':8s} {'tol':>6s} {'passes':>7s} {'time s':>8s} {'total loglik':>14s} "
              f"{'gap':>9s} conv extra")
        for rule in ("change", "aitken"):
            for acc in (None, "squarem"):
                for tol in tols:
                    res, dt = run(X, fam, p0, tol=tol, max_iter=20_000, acceleration=acc, rule=rule)
                    extra = ""
                    if make is case1:
                        extra = "means " + " ".join(f"{m:.4f}" for m in np.sort(res.params["means"].ravel()))
                    print(f"{rule:7s} {str(acc):8s} {tol:6.0e} {res.n_iter:7d} {dt:8.3f} "
                          f"{res.lower_bound * n:14.5f} {opt - res.lower_bound * n:9.2e} "
                          f"{'yes' if res.converged else 'no ':3s}  {extra}")


if __name__ == "__main__":
    main()
