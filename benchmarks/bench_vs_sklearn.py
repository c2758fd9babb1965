"""emkit's GaussianMixture EM against scikit-learn's, side by side in one process.

For each configuration (n_samples, n_features, n_components, covariance_type)
and dtype the data are generated once; both libraries start from the same
initial parameters and run alternately.  Printed per configuration:

- ms per EM iteration (E-step + M-step) for both, median of ``--repeats``
  blocks of ``--block`` iterations, and their ratio (scikit-learn / emkit);
- both mean log-likelihoods after ``--iters`` iterations from that start (EM
  is deterministic, so these agree to rounding) and their relative gap; for
  float32 also each one's gap to float64 EM on the same values;
- EM steps to convergence at ``--tol`` for emkit without and with SQUAREM
  (data passes, the same unit for both) and their final log-likelihoods;
- peak memory of an emkit fit beyond ``X`` (tracemalloc sees every numpy
  allocation) and of scikit-learn's iterations for comparison;
- the time emkit's k-means initialisation takes, in iterations' worth.

Run ``python benchmarks/bench_vs_sklearn.py --help`` for the flags; the
acceleration benchmark (reference case 1 and Old Faithful) is
``benchmarks/bench_acceleration.py``.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import emkit
from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.engine.em import expectation, maximization, run_em
from emkit.engine.init import initial_resp
from emkit.families.gaussian import GaussianFamily

CONFIGS = [
    (1_000_000, 2, 5, "full"),
    (200_000, 16, 16, "full"),
    (200_000, 16, 16, "tied"),
    (200_000, 16, 16, "diag"),
    (200_000, 64, 16, "full"),
    (1_000_000, 16, 16, "full"),
    (200_000, 16, 16, "spherical"),
]


def make_data(n, d, K, dtype, seed=0):
    """Blobs with random centres, scales and correlations."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2.5, size=(K, d))
    labels = rng.integers(0, K, size=n)
    mixing = rng.normal(size=(K, d, d)) / np.sqrt(d) + np.eye(d)
    X = np.empty((n, d), dtype=dtype)
    step = 100_000
    for start in range(0, n, step):  # generate in slices to keep memory flat
        lab = labels[start:start + step]
        z = rng.normal(size=(lab.shape[0], d))
        X[start:start + step] = centres[lab] + np.einsum("nd,nde->ne", z, mixing[lab])
    return X


def initial_params(X, K, ct, seed=0):
    """Means at random rows, covariances of the whole data: one start for both."""
    rng = np.random.default_rng(seed)
    X64 = X[rng.choice(X.shape[0], size=min(X.shape[0], 20_000), replace=False)].astype(np.float64)
    means = X[rng.choice(X.shape[0], size=K, replace=False)].astype(np.float64)
    cov = np.cov(X64, rowvar=False).reshape(X.shape[1], X.shape[1])
    d = X.shape[1]
    if ct == "full":
        covs = np.broadcast_to(cov, (K, d, d)).copy()
        prec = np.linalg.inv(covs)
    elif ct == "tied":
        covs = cov
        prec = np.linalg.inv(cov)
    elif ct == "diag":
        covs = np.broadcast_to(np.diag(cov), (K, d)).copy()
        prec = 1.0 / covs
    else:
        covs = np.full(K, np.diag(cov).mean())
        prec = 1.0 / covs
    return np.full(K, 1.0 / K), means, prec


def sk_model(K, ct, start, max_iter=1, tol=0.0):
    w, m, p = start
    return SkGaussianMixture(K, covariance_type=ct, weights_init=w, means_init=m,
                             precisions_init=p, max_iter=max_iter, tol=tol,
                             init_params="random_from_data", random_state=0)


def sk_initialised(X, K, ct, start):
    """A scikit-learn model holding the initial parameters (no EM step)."""
    sk = sk_model(K, ct, start)
    sk._initialize_parameters(X, np.random.RandomState(0))
    return sk


def em_params(K, ct, start, reg=1e-6):
    w, m, p = start
    gm = emkit.GaussianMixture(K, covariance_type=ct, weights_init=w, means_init=m,
                               precisions_init=p, reg_covar=reg)
    fam = gm._configured_family()
    init = fam.check_init(gm._init_values(), K, m.shape[1])
    return init | {"weights": np.asarray(w, dtype=np.float64)}


def sk_iterations(sk, X, n):
    for _ in range(n):
        _, log_resp = sk._e_step(X)
        sk._m_step(X, log_resp)


def em_iterations(family, params, data, backend, n):
    for _ in range(n):
        stats, _ = expectation(family, params, data, backend)
        params = maximization(family, stats, params, frozenset())
    return params


def peak_mb(fn):
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def run_config(n, d, K, ct, dtype, args):
    X = make_data(n, d, K, dtype)
    start = initial_params(X, K, ct)
    data = Data(X, np.ones(n))
    backend = NumpyBackend()
    family = GaussianFamily(ct, 1e-6, X.mean(axis=0, dtype=np.float64))
    p0 = em_params(K, ct, start)
    row = {"config": f"({n:,}, {d}, {K}, {ct})", "dtype": np.dtype(dtype).name,
           "X_MB": X.nbytes / 2**20}

    # --- ms per iteration, alternating, from the same start
    sk_times, em_times = [], []
    em_iterations(family, p0, data, backend, 1)  # warm up
    for _ in range(args.repeats):
        sk = sk_initialised(X, K, ct, start)
        t = time.perf_counter()
        sk_iterations(sk, X, args.block)
        sk_times.append((time.perf_counter() - t) / args.block)
        t = time.perf_counter()
        em_iterations(family, p0, data, backend, args.block)
        em_times.append((time.perf_counter() - t) / args.block)
    row["sk_ms"] = 1e3 * float(np.median(sk_times))
    row["em_ms"] = 1e3 * float(np.median(em_times))
    row["ratio"] = row["sk_ms"] / row["em_ms"]

    # --- same number of iterations from the same start: same log-likelihood
    sk = sk_initialised(X, K, ct, start)
    sk_iterations(sk, X, args.iters)
    ll_sk = float(sk.score(X))
    res = run_em(family, p0, data, backend, tol=0.0, max_iter=args.iters)
    ll_em = res.lower_bound
    row["ll_sk"], row["ll_em"] = ll_sk, ll_em
    row["ll_rel"] = abs(ll_em - ll_sk) / abs(ll_sk)
    if X.dtype == np.float32:  # both against float64 EM on the same values
        ref = run_em(family, p0, Data(X.astype(np.float64), data.sample_weight), backend,
                     tol=0.0, max_iter=args.iters).lower_bound
        row["sk_vs_f64"] = abs(ll_sk - ref) / abs(ref)
        row["em_vs_f64"] = abs(ll_em - ref) / abs(ref)

    # --- EM steps to convergence, without and with SQUAREM
    if not args.no_convergence:
        for acc, key in ((None, "plain"), ("squarem", "sq")):
            res = run_em(family, p0, data, backend, tol=args.tol, max_iter=args.max_iter,
                         acceleration=acc)
            row[f"it_{key}"] = f"{res.n_iter}{'' if res.converged else '+'}"
            row[f"ll_{key}"] = res.lower_bound

    # --- peak memory beyond X: an emkit fit (3 iterations) and sklearn's
    row["em_peak_MB"] = peak_mb(lambda: run_em(family, p0, data, backend, tol=0.0, max_iter=3))
    if not args.no_sk_memory:
        row["sk_peak_MB"] = peak_mb(lambda: sk_iterations(sk_initialised(X, K, ct, start), X, 1))

    # --- initialisation cost (k-means++ seeding and Lloyd), in iterations
    t = time.perf_counter()
    initial_resp("kmeans", data, K, np.random.RandomState(0), backend)
    row["init_iters"] = (time.perf_counter() - t) / (row["em_ms"] / 1e3)
    return row


COLUMNS = [
    ("config", "{}"), ("dtype", "{}"), ("sk_ms", "{:.1f}"), ("em_ms", "{:.1f}"), ("ratio", "{:.1f}x"),
    ("ll_sk", "{:.10f}"), ("ll_em", "{:.10f}"), ("ll_rel", "{:.1e}"), ("sk_vs_f64", "{:.1e}"), ("em_vs_f64", "{:.1e}"), ("it_plain", "{}"),
    ("it_sq", "{}"), ("ll_plain", "{:.8f}"), ("ll_sq", "{:.8f}"), ("X_MB", "{:.0f}"),
    ("em_peak_MB", "{:.0f}"), ("sk_peak_MB", "{:.0f}"), ("init_iters", "{:.1f}"),
]


def markdown(rows):
    cols = [c for c in COLUMNS if any(c[0] in r for r in rows)]
    out = ["| " + " | ".join(c for c, _ in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join(f.format(r[c]) if c in r else "" for c, f in cols) + " |")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="n divided by 10, 2 repeats: a smoke run in a minute or two")
    parser.add_argument("--configs", default=None,
                        help="comma-separated indices into the configuration list (0-6)")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--repeats", type=int, default=5, help="timed blocks per library")
    parser.add_argument("--block", type=int, default=2, help="EM iterations per timed block")
    parser.add_argument("--iters", type=int, default=10,
                        help="iterations for the log-likelihood comparison")
    parser.add_argument("--tol", type=float, default=1e-3, help="tol for iterations to convergence")
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--no-convergence", action="store_true",
                        help="skip the iterations-to-convergence runs")
    parser.add_argument("--no-sk-memory", action="store_true")
    args = parser.parse_args(argv)
    configs = CONFIGS if args.configs is None else [CONFIGS[int(i)] for i in args.configs.split(",")]
    if args.quick:
        configs = [(max(n // 10, 1000), d, K, ct) for n, d, K, ct in configs]
        args.repeats = min(args.repeats, 2)
    warnings.simplefilter("ignore", ConvergenceWarning)
    rows = []
    for n, d, K, ct in configs:
        for dt in args.dtypes.split(","):
            row = run_config(n, d, K, ct, np.dtype(dt).type, args)
            rows.append(row)
            print(markdown([row]).splitlines()[-1], flush=True)
    print()
    print(markdown(rows))


if __name__ == "__main__":
    main()
