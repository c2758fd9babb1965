"""Peak memory of fit and predict at N = 2e6 rows, d = 2, K = 64 (issue 10, item 10).

Each phase runs in a fresh subprocess, so its peak resident set size
(``ru_maxrss``) is its own; the baseline is the same process after building
X.  ``tracemalloc`` also reports the peak of Python/numpy allocations above
X.  Never part of the test run.

    python benchmarks/bench_memory.py                # N=2e6, K=64, d=2
    python benchmarks/bench_memory.py --n 200000     # a smoke run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

PHASE = r"""
import json, resource, sys, time, tracemalloc, warnings
import numpy as np
import emkit
n, K, d, phase, init = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
rng = np.random.default_rng(0)
X = rng.normal(size=(n, d)) + rng.integers(0, 8, size=(n, 1)) * 4.0
gm = emkit.GaussianMixture(K, covariance_type="full", max_iter=2, tol=0.0, random_state=0,
                           init_params=init)
if phase == "predict":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X[:20000])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    if phase == "fit":
        gm.fit(X)
        out = float(gm.lower_bound_)
    else:
        out = int(np.bincount(gm.predict(X), minlength=K).max())
seconds = time.perf_counter() - t0
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"phase": phase, "init": init, "x_mb": X.nbytes / 1e6,
                  "rss_before_mb": base / 1e3, "rss_peak_mb": peak / 1e3,
                  "rss_growth_mb": (peak - base) / 1e3, "traced_peak_mb": traced / 1e6,
                  "seconds": seconds, "result": out}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=2_000_000)
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--d", type=int, default=2)
    ap.add_argument("--inits", default="auto,kmeans")
    args = ap.parse_args()
    rows = []
    for init in args.inits.split(","):
        for phase in ("fit", "predict"):
            if phase == "predict" and init != args.inits.split(",")[0]:
                continue
            t0 = time.perf_counter()
            res = subprocess.run([sys.executable, "-c", PHASE, str(args.n), str(args.k), str(args.d),
                                  phase, init], capture_output=True, text=True, check=True)
            row = json.loads(res.stdout.strip().splitlines()[-1])
            row["wall_s"] = time.perf_counter() - t0
            rows.append(row)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
