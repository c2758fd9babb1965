"""Checks of a dask array's shape and dtype before fitting or scoring.

The values are checked later, block by block on the workers, by the family
(:meth:`~emkit.families.Family.prepare` and
:meth:`~emkit.families.Family.check_data`), as for in-memory data.
"""

from __future__ import annotations

import numpy as np


def check_dask_array(estimator, X, reset: bool):
    """What ``validate_data`` checks of an in-memory ``X``, for a dask array.

    Parameters
    ----------
    estimator : BaseMixture
        Sets ``n_features_in_`` when ``reset``, else supplies it.
    X : dask.array.Array
    reset : bool
        True when fitting.

    Returns
    -------
    X : dask.array.Array
        Cast to the family's first dtype when its dtype is not one it fits in.
    """
    if X.ndim != 2:
        raise ValueError(
            f"Expected 2D array, got a {X.ndim}-D dask array; reshape it to (n_samples, n_features)"
        )
    n, d = X.shape
    if not np.isfinite(n):
        raise ValueError("the dask array has unknown row-block sizes; call X.compute_chunk_sizes() first")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric, but the dask array has dtype {X.dtype}")
    dtypes = estimator._dtypes
    if X.dtype not in dtypes:
        X = X.astype(dtypes[0])
    if reset:
        if n < 2:
            raise ValueError(f"Found array with {n} sample(s) while a minimum of 2 is required.")
        estimator.n_features_in_ = d
    elif d != estimator.n_features_in_:
        raise ValueError(
            f"X has {d} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return X
