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

Result (Intel(R) Xeon(R) Processor, 2 cores shared with other helpers' jobs, load average
4-8; CPU milliseconds from time.process_time, best of 2 x 15 interleaved repeats), after the
conditioning path sorts the rows by missingness pattern once per call and conditions each
pattern on a contiguous slice (pattern_groups; 16 patterns here):

    covariance  dropped ms conditioned ms complete ms dropped/complete conditioned/complete
    full                 -           6.46        0.87                -                  7.5
    tied                 -           6.44        0.84                -                  7.7
    diag              1.52           4.29        0.30              5.1                 14.4
    spherical         1.87           4.65        0.35              5.3                 13.3

Before (the same rows found by ``inverse == p`` for every pattern, written into the
(K, n, d) cache with fancy indexing, ``np.linalg.solve`` on every row block, ``np.add.at``
for the per-pattern weights; the earlier record of 127-133x was wall time at load 12) the
conditioned pass took, in the same process as the new one (CPU ms, best of 10): full 11.4
(new 4.4), tied 19.2 (6.1), diag 13.7 (4.8), spherical 13.2 (5.2); complete 0.4-1.1.
What is left per pattern is a batched Cholesky factor and inverse of S_oo and a dozen
numpy calls, so a table with hundreds of patterns per chunk still pays per pattern.

Dropping the factors makes a diagonal or spherical pass over incomplete rows about 3 times
cheaper than conditioning, and EM needs fewer passes
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
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
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
