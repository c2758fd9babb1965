"""Chunk-size sweep: ms per EM iteration of emkit's numpy backend for several chunk sizes.

For each configuration the data and the start are ``bench_vs_sklearn.py``'s.  The chunk
sizes run in turn (round robin, ``--repeats`` rounds, each a block of ``--block`` EM
iterations from the same start), so every size sees the same load; printed per size are the
median wall and process-CPU ms per iteration, the median per-round ratio to the default
chunk size (``ratio`` < 1: faster than the default), and the load average before and after.

    python benchmarks/bench_chunks.py --configs 1,2,3,6,0,4 --sizes 4096,8192,16384,32768
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_vs_sklearn import CONFIGS, em_iterations, em_params, initial_params, make_data  # noqa: E402

from emkit.backends.numpy_backend import Data, NumpyBackend, default_chunk_size  # noqa: E402
from emkit.families.gaussian import GaussianFamily  # noqa: E402


def sweep(n, d, K, ct, dtype, sizes, args):
    X = make_data(n, d, K, dtype)
    start = initial_params(X, K, ct)
    data = Data(X, np.ones(n))
    family = GaussianFamily(ct, 1e-6, X.mean(axis=0, dtype=np.float64))
    p0 = em_params(K, ct, start)
    default = default_chunk_size(K, d)
    sizes = sorted(set(sizes) | {default})
    backends = {s: NumpyBackend(s, n_jobs=args.threads) for s in sizes}
    for b in backends.values():  # warm up (caches of the small paths, the pool)
        em_iterations(family, p0, data, b, 1)
    wall = {s: [] for s in sizes}
    cpu = {s: [] for s in sizes}
    load0 = os.getloadavg()[0]
    for r in range(args.repeats):
        order = sizes if r % 2 == 0 else sizes[::-1]
        for s in order:
            t, c = time.perf_counter(), time.process_time()
            em_iterations(family, p0, data, backends[s], args.block)
            wall[s].append((time.perf_counter() - t) / args.block)
            cpu[s].append((time.process_time() - c) / args.block)
    load1 = os.getloadavg()[0]
    base = np.array(wall[default])
    rows = []
    for s in sizes:
        w = np.array(wall[s])
        rows.append((s, 1e3 * np.median(w), 1e3 * np.median(cpu[s]), float(np.median(w / base))))
    return default, rows, load0, load1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="1,2,3,6,0,4", help="indices into bench_vs_sklearn.CONFIGS")
    parser.add_argument("--dtypes", default="float64")
    parser.add_argument("--sizes", default="4096,8192,16384,32768")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--block", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None,
                        help="pool threads (default: every core); 1 also limits BLAS to one thread, "
                             "so the sweep sees one core's cache without BLAS's own threads")
    args = parser.parse_args(argv)
    if args.threads == 1:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
    sizes = [int(s) for s in args.sizes.split(",")]
    print("| config | dtype | chunk rows | wall ms | CPU ms | vs default | load |")
    print("|---|---|---|---|---|---|---|")
    for i in (int(c) for c in args.configs.split(",")):
        n, d, K, ct = CONFIGS[i]
        for dtype in args.dtypes.split(","):
            default, rows, l0, l1 = sweep(n, d, K, ct, dtype, sizes, args)
            for s, w, c, ratio in rows:
                mark = " (default)" if s == default else ""
                print(f"| ({n:,}, {d}, {K}, {ct}) | {dtype} | {s:,}{mark} | {w:.1f} | {c:.1f} "
                      f"| {ratio:.2f} | {l0:.1f}-{l1:.1f} |", flush=True)


if __name__ == "__main__":
    main()
