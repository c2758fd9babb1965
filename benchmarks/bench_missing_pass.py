"""Cost of one E-step and statistics pass over incomplete rows, per covariance type.

Issue 16's recovery data (4-D, n = 20,000, K = 3, 30% of cells missing completely at
random; see bench_missing.py), under the parameters of a fitted model.  For every
covariance type it times, in one process and interleaved (the best of --repeats):

- "dropped": the missing cells' factors dropped (diag and spherical;
  families/_gaussian_missing.cells_log_prob and cells_stats, a few matrix products),
- "conditioned": conditioning on the observed cells per missingness pattern
  (conditional_log_prob and conditional_stats; what full and tied use, and what
  diag and spherical used before),
- "complete": the complete-data pass (log_prob_cached and suff_stats) on the data
  before cells were removed, the baseline.

Run: python benchmarks/bench_missing_pass.py [--n N] [--repeats R]

Result (Intel Xeon Processor, 2 cores shared with other helpers' test runs, load average
about 12, so only the ratios mean much; best of 2 x 15 interleaved repeats):

    covariance  dropped ms conditioned ms complete ms dropped/complete conditioned/complete
    full                 -          84.98        0.67                -                127.0
    tied                 -          72.31        0.54                -                132.9
    diag              2.06          13.56        0.29              7.1                 47.0
    spherical         1.99          12.44        0.34              5.8                 36.5

Dropping the factors makes a diagonal or spherical pass over incomplete rows 6 times
cheaper than conditioning (16 missingness patterns here), and EM needs fewer passes
(bench_missing.py: diag 17 instead of 20, spherical 23 instead of 27, to the same
log-likelihood, -5.112120 and -5.157582 per row).
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np

import emkit
from bench_missing import simulate  # the recovery benchmark's data
from emkit.families._gaussian_missing import (
    cells_log_prob,
    cells_stats,
    conditional_log_prob,
    conditional_stats,
)


def best_of(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    X_full, X, _ = simulate(args.n, 0.3)
    print(f"{platform.machine()}; n={args.n}, 30% cells missing")
    print(f"{'covariance':11s} {'dropped ms':>10s} {'conditioned ms':>14s} {'complete ms':>11s} "
          f"{'dropped/complete':>16s} {'conditioned/complete':>20s}")
    for ct in ("full", "tied", "diag", "spherical"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = emkit.GaussianMixture(3, covariance_type=ct, random_state=0, max_iter=20).fit(X_full)
        fam, params = m._fitted_family(), m._fitted_params()
        resp = m.predict_proba(X_full)

        def dropped():
            lp, cache = cells_log_prob(fam, X, params)
            cells_stats(resp, cache)

        def conditioned():
            lp, cache = conditional_log_prob(fam, X, params)
            conditional_stats(fam, resp, cache)

        def complete():
            lp, cache = fam.log_prob_cached(X_full, params, {})
            fam.suff_stats(X_full, resp, {}, cache)

        times = {}
        for _ in range(2):  # interleaved, so a busy spell hits all three
            for name, fn in (("dropped", dropped), ("conditioned", conditioned),
                             ("complete", complete)):
                if name == "dropped" and ct not in ("diag", "spherical"):
                    continue
                t = best_of(fn, args.repeats)
                times[name] = min(times.get(name, np.inf), t)
        d = times.get("dropped")
        c, b = times["conditioned"], times["complete"]
        print(f"{ct:11s} {'-' if d is None else f'{1e3 * d:.2f}':>10s} {1e3 * c:14.2f} "
              f"{1e3 * b:11.2f} {'-' if d is None else f'{d / b:.1f}':>16s} {c / b:20.1f}")


if __name__ == "__main__":
    main()
