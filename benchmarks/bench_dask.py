"""One EM pass on a dask.distributed LocalCluster of 1 and 2 worker processes.

Never part of the test run.  For each cluster size it measures, on the same
persisted data (made on the workers) and the same parameters:

- ``pass_s``: wall time of one EM pass (E-step on every block, statistics
  tree-summed on the workers, the sum on the client), median of ``--repeats``;
- ``empty_s``: the same pass with a function that does nothing: the
  scheduling overhead per pass (graph build, dispatch, reduction tasks,
  result to the client);
- ``numpy_s``: the same pass in memory in this process (NumpyBackend, one core);
- bytes per pass: ``fn_B`` the pickled pass function (it carries the
  parameters; sent to the scheduler once and fetched once per worker),
  ``stats_B`` one block's pickled statistics (what each reduction task
  moves), ``w2w_B`` bytes moved between workers in one pass (the workers'
  ``transfer_outgoing_bytes_total`` counter), ``result_B`` what reaches the
  client;
- the client's tracemalloc peak during a pass and the workers' peak RSS;
- ``ll``: the mean log-likelihood of the pass, equal across cluster sizes
  and to the in-memory pass;
- ``task_s``: the scheduling cost of one more block, from empty passes over
  ``--blocks`` and ``4 * --blocks`` blocks of the same data.

With ``--memory-limit MIB`` it runs the memory scenario instead: a
``GaussianMixture`` fit (default initialisation) on two worker processes
whose memory limit is ``MIB`` each, of data four times that size made on the
workers and not persisted (``persist=False``: every pass recomputes its
blocks), and reports the wall time, the passes, the workers' peak RSS and
whether any worker was restarted or paused.

Usage::

    python benchmarks/bench_dask.py                   # 2,000,000 x 8, K=4, full, 16 blocks
    python benchmarks/bench_dask.py --rows 400000 --repeats 3
    python benchmarks/bench_dask.py --memory-limit 320   # 1280 MiB of data, 2 workers of 320 MiB
"""

from __future__ import annotations

import argparse
import logging
import pickle
import platform
import statistics
import time
import tracemalloc

import numpy as np


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _data(n, d, K, blocks):
    import dask.array as da

    rows = -(-n // blocks)
    rs = da.random.RandomState(0)
    z = rs.randint(0, K, n, chunks=rows)
    X = rs.normal(size=(n, d), chunks=(rows, d)) + 4.0 * z[:, None].astype(float)
    return X


def _worker_stats(dask_worker):
    import resource

    return {"out": dask_worker.transfer_outgoing_bytes_total,
            "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def _worker_events(dask_worker):
    """Peak RSS and whether the worker ever paused for memory."""
    import resource

    return {"maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "status": str(dask_worker.status), "pid": __import__("os").getpid()}


def memory_scenario(limit_mib: int, features: int, components: int, block_mib: int,
                    max_iter: int) -> None:
    """Fit data 4x a worker's memory limit on two limited workers, without persisting it."""
    import warnings

    import dask.array as da
    from dask import distributed

    import emkit
    from emkit.backends import dask_backend

    d = features
    n = 4 * limit_mib * 2**20 // (8 * d)
    rows = max(1, block_mib * 2**20 // (8 * d))
    rs = da.random.RandomState(0)
    z = rs.randint(0, components, n, chunks=rows)
    X = rs.normal(size=(n, d), chunks=(rows, d)) + 4.0 * z[:, None].astype(float)
    passes = []
    real = dask_backend.DaskBackend.map_reduce

    def counted(self, fn, data, n_components=1):
        passes.append(1)
        return real(self, fn, data, n_components)

    dask_backend.DaskBackend.map_reduce = counted
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  memory_limit=f"{limit_mib}MiB", dashboard_address=":0",
                                  silence_logs=logging.ERROR) as cl, distributed.Client(cl) as client:
        client.run(lambda: __import__("emkit"))  # the import is part of every worker's baseline
        base = client.run(_worker_events)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emkit.ConvergenceWarning)
            gm = emkit.GaussianMixture(components, random_state=0, max_iter=max_iter).fit(X, persist=False)
        wall = time.perf_counter() - t0
        after = client.run(_worker_events)
    restarted = {v["pid"] for v in base.values()} != {v["pid"] for v in after.values()}
    print(f"CPU: {_cpu()}; memory limit {limit_mib} MiB per worker, 2 workers; data "
          f"{n:,} x {d} float64 = {n * d * 8 / 2**20:.0f} MiB in {-(-n // rows)} blocks of "
          f"{rows * d * 8 / 2**20:.1f} MiB, made on the workers, persist=False")
    print(f"fit (max_iter={max_iter}): {wall:.1f} s, {gm.n_iter_} EM iterations, {len(passes)} passes "
          f"(map_reduce calls), mean log-likelihood {gm.lower_bound_:.10f}")
    print("worker baseline RSS after importing emkit (MiB):",
          [round(v["maxrss"] / 2**20) for v in base.values()])
    print("worker peak RSS over the fit (MiB):", [round(v["maxrss"] / 2**20) for v in after.values()],
          "| restarted:", restarted, "| status:", [v["status"] for v in after.values()])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--features", type=int, default=8)
    p.add_argument("--components", type=int, default=4)
    p.add_argument("--blocks", type=int, default=16)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--workers", default="1,2")
    p.add_argument("--memory-limit", type=int, default=None, metavar="MIB")
    p.add_argument("--block-mib", type=int, default=8)
    p.add_argument("--max-iter", type=int, default=5, help="EM iterations of the memory scenario")
    a = p.parse_args()
    if a.memory_limit is not None:
        memory_scenario(a.memory_limit, a.features, a.components, a.block_mib, a.max_iter)
        return

    import dask
    import dask.array as da
    from dask import distributed

    import emkit
    from emkit.backends.dask_backend import DaskBackend
    from emkit.backends.numpy_backend import Data, NumpyBackend
    from emkit.engine.em import expectation

    n, d, K = a.rows, a.features, a.components
    Xd = _data(n, d, K, a.blocks)
    with dask.config.set(scheduler="threads"):
        X = Xd.compute()
    # parameters: a short fit on a sample (the timing does not depend on their values)
    gm = emkit.GaussianMixture(K, random_state=0, max_iter=5).fit(X[:50_000])
    family, params = gm._fitted_family(), gm._fitted_params()
    numpy_data = Data(X, np.ones(n))
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        _, ll_np = expectation(family, params, numpy_data, NumpyBackend())
        times.append(time.perf_counter() - t0)
    numpy_s = statistics.median(times)
    print(f"CPU: {_cpu()}; {n:,} x {d}, K={K} full, {a.blocks} blocks; "
          f"X {X.nbytes / 2**20:.0f} MiB; numpy pass {numpy_s:.3f} s, ll {ll_np:.12f}")
    del X, numpy_data
    rows = []
    for w in [int(v) for v in a.workers.split(",")]:
        with distributed.LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                                      dashboard_address=":0", silence_logs=logging.ERROR) as cl, \
                distributed.Client(cl) as client:
            X = Xd.persist()
            distributed.wait(X)
            data = Data(X, da.ones(n, chunks=(X.chunks[0],)))
            backend = DaskBackend()
            expectation(family, params, data, backend)  # warm-up: workers import emkit
            pass_t, empty_t, peaks, w2w = [], [], [], []
            for _ in range(a.repeats):
                before = sum(s["out"] for s in client.run(_worker_stats).values())
                tracemalloc.start()
                t0 = time.perf_counter()
                stats, ll = expectation(family, params, data, backend)
                pass_t.append(time.perf_counter() - t0)
                peaks.append(tracemalloc.get_traced_memory()[1])
                tracemalloc.stop()
                after = client.run(_worker_stats)
                w2w.append(sum(s["out"] for s in after.values()) - before)
                t0 = time.perf_counter()
                backend.map_reduce(lambda ch: (np.zeros(1),), data)
                empty_t.append(time.perf_counter() - t0)
            maxrss = max(s["maxrss"] for s in after.values())
            fine = X.rechunk((-(-n // (4 * a.blocks)), d)).persist()
            distributed.wait(fine)
            fine_data = Data(fine, da.ones(n, chunks=(fine.chunks[0],)))
            backend.map_reduce(lambda ch: (np.zeros(1),), fine_data)  # warm-up
            fine_t = []
            for _ in range(a.repeats):
                t0 = time.perf_counter()
                backend.map_reduce(lambda ch: (np.zeros(1),), fine_data)
                fine_t.append(time.perf_counter() - t0)
            del fine, fine_data

            def fn(chunk, params=params):  # what a pass ships: the family and the parameters
                return chunk, family, params

            one_block = expectation(family, params, Data(Xd[: -(-n // a.blocks)].compute(),
                                                         np.ones(-(-n // a.blocks))), NumpyBackend())
            row = {
                "workers": w,
                "pass_s": statistics.median(pass_t),
                "empty_s": statistics.median(empty_t),
                "task_s": (statistics.median(fine_t) - statistics.median(empty_t)) / (3 * a.blocks),
                "fn_B": len(pickle.dumps(fn.__defaults__)) + len(pickle.dumps(family)),
                "stats_B": len(pickle.dumps(one_block)),
                "w2w_B": int(statistics.median(w2w)),
                "result_B": len(pickle.dumps((stats, ll))),
                "client_peak_MB": max(peaks) / 2**20,
                "worker_maxrss_MB": maxrss / 2**20,
                "ll": ll,
            }
            rows.append(row)
            print(row, flush=True)
    base = rows[0]["pass_s"]
    print("\n| workers | pass s | speed-up | vs numpy | empty pass s | s per extra block | fn B | "
          "stats B/block | worker-to-worker B | to client B | client peak MiB | worker max RSS MiB | ll |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workers']} | {r['pass_s']:.3f} | {base / r['pass_s']:.2f}x | "
              f"{numpy_s / r['pass_s']:.2f}x | {r['empty_s']:.3f} | {r['task_s']:.4f} | {r['fn_B']} | "
              f"{r['stats_B']} | "
              f"{r['w2w_B']} | {r['result_B']} | {r['client_peak_MB']:.2f} | "
              f"{r['worker_maxrss_MB']:.0f} | {r['ll']:.12f} |")


if __name__ == "__main__":
    main()
