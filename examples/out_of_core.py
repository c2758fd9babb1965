"""Out of core: fit a mixture to a memory-mapped .npy file, chunk by chunk.

The rows are written to disk once; np.load(..., mmap_mode="r") maps them without
reading, and emkit reads chunk_size rows at a time, so memory beyond the data is
bounded by the chunk.  The fit equals the in-memory fit to rounding, because EM's
statistics add over chunks.

    python examples/out_of_core.py [--small]
"""

import tempfile
from pathlib import Path

import numpy as np

import emkit
from _common import options

args = options(__doc__.splitlines()[0])
n = 20_000 if args.small else 400_000
rng = np.random.default_rng(0)
centres = rng.normal(0, 5, size=(4, 3))
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "big.npy"
    rows = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, 3))
    step = 50_000
    for start in range(0, n, step):                 # written in blocks, never all in memory
        z = rng.integers(0, 4, size=min(step, n - start))
        rows[start:start + z.size] = centres[z] + rng.normal(size=(z.size, 3))
    rows.flush()
    del rows

    X = np.load(path, mmap_mode="r")               # nothing read yet
    start = dict(means_init=centres + 0.5, random_state=0)
    mapped = emkit.GaussianMixture(4, chunk_size=5_000, **start).fit(X)
    print(f"memory-mapped: {n} rows in chunks of 5,000; {mapped.n_iter_} data passes; "
          f"mean log-likelihood {mapped.lower_bound_:.10f}")
    in_memory = emkit.GaussianMixture(4, **start).fit(np.array(X))
    print(f"in memory:     mean log-likelihood {in_memory.lower_bound_:.10f}")
    print(f"largest difference of the means: {np.abs(mapped.means_ - in_memory.means_).max():.2e}")
    print("weights", np.round(mapped.weights_, 4))
    del X
