"""Out of core from the command line: ``emkit fit`` on a Parquet dataset in memory bounded by its blocks."""

import json
import time
import tracemalloc

import numpy as np
import pytest

from _cli_helpers import ok, run

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

#: rows per row group (one dask block): 16,384 x 2 float64 = 256 KiB
GROUP = 16_384


def _dataset(folder, n_groups, seed):
    """Two Gaussian clusters in ``n_groups`` row groups over files of 16 groups each."""
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for f in range(0, n_groups, 16):
        n = GROUP * min(16, n_groups - f)
        z = rng.random(n) < 0.4
        X = np.where(z[:, None], rng.normal(0, 1, (n, 2)), rng.normal(5, 1.5, (n, 2)))
        pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1]}), folder / f"p{f:03d}.parquet",
                       row_group_size=GROUP)
    return folder


def _traced_fit(folder):
    """Peak traced bytes of ``emkit fit`` on ``folder`` above what was held before it, and its JSON."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        r = run("fit", folder, "-k", 2, "--seed", 0, "--max-iter", 1, "--json")
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, json.loads(ok(r).stdout)


def test_fit_on_a_dataset_peaks_at_the_same_memory_for_four_times_the_rows(tmp_path):
    """8 and 32 row groups (131,072 and 524,288 rows, 2 and 8 MiB), both above the 100,000
    rows at which the default start draws a weighted subsample in counting passes.  The start
    and the EM passes hold a few blocks and O(K d^2) sums, so the peak must not grow with the
    rows: the bound is 3 MiB, what one more float64 vector of the large data's rows would take
    (the graph costs about 30 KiB per block, 0.7 MiB for the 24 more blocks).  Holding every
    block's counting result on the client (up to 1 MiB each, the bug this test was written
    for) added tens of MiB."""
    small = _dataset(tmp_path / "small", 8, 0)
    large = _dataset(tmp_path / "large", 32, 1)
    # first, on other rows: the modules a fit imports on first use (the start's agglomeration
    # tree is cached by the rows, so each measured run gets rows of its own)
    _traced_fit(_dataset(tmp_path / "warm", 1, 2))
    peak_small, fit_small = _traced_fit(small)
    peak_large, fit_large = _traced_fit(large)
    assert fit_small["n_samples"] == 8 * GROUP and fit_large["n_samples"] == 32 * GROUP
    assert np.isfinite(fit_large["mean_log_likelihood"])
    print(f"traced peaks: {peak_small / 2**20:.2f} MiB, {peak_large / 2**20:.2f} MiB")
    assert peak_large - peak_small < 3 * 2**20, (peak_small, peak_large)
