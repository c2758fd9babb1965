"""EM steps to convergence with and without SQUAREM.

Reference case 1 (1-D, started far from the answer, tol 1e-10) and the Old
Faithful data (2 components, every covariance type) from several starts:
k-means (the default, which leaves EM little to do), random
responsibilities, and a poor start in the style of case 1 (both means near
the overall mean, the overall covariance).  Iterations are data passes (one
fused E-step and M-step each), the same unit for plain EM and SQUAREM.

Run ``python benchmarks/bench_acceleration.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

import emkit
from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.datasets import load_faithful
from emkit.engine.em import run_em
from emkit.families.gaussian import GaussianFamily


def case1():
    rs = np.random.RandomState(0)
    x = np.r_[rs.normal(0, 1, 50), rs.normal(2, 1, 50)][:, None]
    family = GaussianFamily("full", 0.0, x.mean(axis=0))
    start = {"weights": np.array([0.5, 0.5]), "means": np.array([[0.0], [1.0]]),
             "covariances": np.full((2, 1, 1), 4.0), "precisions_cholesky": np.full((2, 1, 1), 0.5)}
    out = []
    for acc in (None, "squarem"):
        res = run_em(family, start, Data(x, np.ones(100)), NumpyBackend(), tol=1e-10,
                     max_iter=100_000, acceleration=acc)
        out.append(res)
    return out


def poor_start(X, ct):
    mean = X.mean(axis=0)
    cov = np.cov(X, rowvar=False)
    sd = np.sqrt(np.diag(cov))
    means = np.array([mean - 0.1 * sd, mean + 0.1 * sd])
    prec = np.linalg.inv(cov)
    precisions = {"full": np.stack([prec, prec]), "tied": prec,
                  "diag": np.stack([1 / np.diag(cov)] * 2), "spherical": np.full(2, 1 / np.diag(cov).mean())}[ct]
    return {"weights_init": [0.5, 0.5], "means_init": means, "precisions_init": precisions}


def main():
    warnings.simplefilter("ignore", ConvergenceWarning)
    plain, fast = case1()
    print("## Reference case 1 (tol 1e-10)\n")
    print("| run | EM steps | total log-likelihood |\n|---|---|---|")
    print(f"| plain EM | {plain.n_iter} | {100 * plain.lower_bound:.8f} |")
    print(f"| SQUAREM | {fast.n_iter} ({fast.extra['n_cycles']} cycles) | {100 * fast.lower_bound:.8f} |")
    print(f"\nratio {plain.n_iter / fast.n_iter:.1f}x\n")

    X = np.asarray(load_faithful(), dtype=np.float64)
    print("## Old Faithful, 2 components, tol 1e-10\n")
    print("| covariance | start | plain EM steps | SQUAREM steps | ratio | mean ll plain | mean ll SQUAREM |")
    print("|---|---|---|---|---|---|---|")
    for ct in ("full", "tied", "diag", "spherical"):
        starts = [("poor (case-1 style)", poor_start(X, ct))]
        starts += [(f"{init}, seed {s}", {"init_params": init, "random_state": s})
                   for init in ("kmeans", "random") for s in (0, 1, 2)]
        for name, kw in starts:
            fits = [emkit.GaussianMixture(2, covariance_type=ct, tol=1e-10, max_iter=100_000,
                                          acceleration=acc, **kw).fit(X) for acc in (None, "squarem")]
            p, f = fits
            print(f"| {ct} | {name} | {p.n_iter_} | {f.n_iter_} | {p.n_iter_ / f.n_iter_:.1f}x "
                  f"| {p.lower_bound_:.10f} | {f.lower_bound_:.10f} |")

    # three components (the models BIC prefers on these data) overlap, so EM crawls
    print("\n## Old Faithful, 3 components, k-means starts, tol 1e-10\n")
    print("| covariance | seed | plain EM steps | SQUAREM steps | ratio | mean ll plain | mean ll SQUAREM |")
    print("|---|---|---|---|---|---|---|")
    total = [0, 0]
    for ct in ("full", "tied", "diag", "spherical"):
        for s in (0, 1, 2):
            p, f = [emkit.GaussianMixture(3, covariance_type=ct, tol=1e-10, max_iter=100_000,
                                          random_state=s, acceleration=acc).fit(X)
                    for acc in (None, "squarem")]
            total[0] += p.n_iter_
            total[1] += f.n_iter_
            print(f"| {ct} | {s} | {p.n_iter_} | {f.n_iter_} | {p.n_iter_ / f.n_iter_:.1f}x "
                  f"| {p.lower_bound_:.10f} | {f.lower_bound_:.10f} |")
    print(f"\nall 3-component fits: {total[0]} plain EM steps, {total[1]} with SQUAREM "
          f"({total[0] / total[1]:.1f}x)")


if __name__ == "__main__":
    main()
